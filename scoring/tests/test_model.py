"""scoring.model: the calibrated logistic regression and the two baselines (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.model import base_rate_fit, segment_prior_fit, win_model_fit
from scoring.tests.synthetic import PARTNER_LOG_ODDS, synthetic_training_frame


@pytest.fixture(scope="module")
def frame():
    return synthetic_training_frame(n=3000, seed=1)


@pytest.fixture(scope="module")
def fitted(frame):
    return win_model_fit(frame, frame["won"].to_numpy(), include_rep=True)


def test_the_vectorised_decomposition_gives_scikit_learns_probabilities(frame, fitted) -> None:
    fast = fitted.predict_proba(frame)

    assert np.allclose(fast, fitted.pipeline_proba(frame), atol=1e-12)


def test_contributions_add_up_to_the_score(frame, fitted) -> None:
    parts = fitted.decompose(frame)

    logit = np.log(fast := parts.probability()) - np.log1p(-fast)
    assert np.allclose(parts.base_logit + parts.contributions.sum(axis=1), logit)
    assert parts.groups[: len(parts.groups)] == fitted.groups


def test_the_average_deal_has_no_contribution_on_average(frame, fitted) -> None:
    parts = fitted.decompose(frame)

    assert np.abs(parts.contributions.mean(axis=0)).max() < 1e-9


def test_it_recovers_the_planted_lead_source_effect_with_its_sign(frame, fitted) -> None:
    weights = fitted.coefficients()

    partner_gap = weights["lead_source=Partner"] - np.mean(
        [weights["lead_source=Inbound"], weights["lead_source=Referral"]]
    )
    assert partner_gap == pytest.approx(PARTNER_LOG_ODDS, abs=0.35)
    assert weights["log1p(days_in_stage) per SD"] < 0


def test_unseen_categories_get_no_weight_of_their_own(frame, fitted) -> None:
    odd = frame.head(1).assign(industry="Mining")

    parts = fitted.decompose(odd)

    industry = parts.groups.index("industry")
    # The one-hot encoder ignores the unknown level: only the centring on the average deal is left.
    expected = -fitted.calibration_slope * fitted.terms[industry].mean_effect
    assert parts.contributions[0, industry] == pytest.approx(expected)


def test_the_model_is_calibrated_on_its_own_training_deals(frame, fitted) -> None:
    probability = fitted.predict_proba(frame)

    assert probability.mean() == pytest.approx(frame["won"].mean(), abs=0.01)


def test_training_refuses_a_single_outcome(frame) -> None:
    with pytest.raises(ValueError, match="both won and lost"):
        win_model_fit(frame, np.ones(len(frame)), include_rep=False)


def test_the_base_rate_scores_every_deal_alike_and_explains_nothing(frame) -> None:
    model = base_rate_fit(frame["won"].to_numpy())

    parts = model.decompose(frame)

    assert np.allclose(model.predict_proba(frame), frame["won"].mean())
    assert parts.contributions.shape == (len(frame), 0)


def test_segment_priors_favour_the_segments_that_won_more(frame) -> None:
    model = segment_prior_fit(frame, frame["won"].to_numpy())

    partner = model.predict_proba(frame[frame["lead_source"] == "Partner"]).mean()
    others = model.predict_proba(frame[frame["lead_source"] != "Partner"]).mean()
    assert partner < others
    assert model.evidence["lead_source"]["Partner"] < 0


def test_segment_prior_contributions_add_up_to_the_score(frame) -> None:
    model = segment_prior_fit(frame, frame["won"].to_numpy())

    parts = model.decompose(frame)

    assert np.allclose(parts.probability(), model.predict_proba(frame))
    assert parts.groups == ("industry", "region", "product_type", "lead_source")
