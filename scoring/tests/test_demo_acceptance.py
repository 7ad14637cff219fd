"""Acceptance on the demo generator's data (planted signal), through the pure training path.

The oracle is the generator's own win probability of each test deal *as replayed* (the same
snapshot the model saw: stage and time in stage on that day), from
deals.demo.snapshot_win_probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deals.demo import PLANTED
from scoring.backtest import TrainingOutcome, classification_metrics, training_run
from scoring.drivers import driver_table, typical_values
from scoring.features import features_as_of
from scoring.model import MODEL, WinModel
from scoring.tests.demo_frames import DEMO_ANCHOR, PIPELINE, DemoFrames, demo_frames, snapshot_oracle

# The planted weak rep (rep_13) as scoring names reps: by their name.
WEAK_REP_NAME = "Hannah Wright"


@pytest.fixture(scope="module")
def frames() -> DemoFrames:
    return demo_frames()


@pytest.fixture(scope="module")
def outcome(frames: DemoFrames) -> TrainingOutcome:
    return training_run(frame=frames.training, min_won=100, min_lost=100)


@pytest.fixture(scope="module")
def open_drivers(frames: DemoFrames, outcome: TrainingOutcome) -> pd.DataFrame:
    """One row per (open deal, driver) of the promoted model's scores."""
    assert isinstance(outcome.served_model, WinModel)
    features = features_as_of(frames.open_deals, as_of=pd.Timestamp(DEMO_ANCHOR), pipeline=PIPELINE)
    parts = outcome.served_model.decompose(features)
    table = driver_table(
        groups=parts.groups,
        contributions=parts.contributions,
        features=features,
        typical=typical_values(frames.training),
    )
    rows = [{"deal": index, **entry} for index, entries in enumerate(table.rows()) for entry in entries]
    return pd.DataFrame(rows)


def test_the_weak_rep_is_who_the_generator_says(frames: DemoFrames) -> None:
    generated = frames.generated
    names = generated.loc[generated["sales_rep_id"] == PLANTED["weak_rep"]["value"], "rep_name"]

    assert set(names) == {WEAK_REP_NAME}


def test_the_model_is_promoted_on_the_demo_data(outcome: TrainingOutcome) -> None:
    assert outcome.promoted is True
    assert outcome.serving == MODEL


def test_the_backtest_auc_is_within_003_of_the_oracle_on_the_same_deals(
    frames: DemoFrames, outcome: TrainingOutcome
) -> None:
    assert outcome.result is not None
    predictions = outcome.result.predictions
    oracle = snapshot_oracle(frames, predictions["deal_id"].to_numpy())

    oracle_auc = classification_metrics(won=predictions["won"].to_numpy(), probability=oracle)["roc_auc"]

    assert abs(outcome.backtest["roc_auc"] - oracle_auc) <= 0.03


def test_the_weak_rep_is_kept_as_a_shrunk_negative_effect(outcome: TrainingOutcome) -> None:
    assert isinstance(outcome.served_model, WinModel)

    weights = outcome.served_model.coefficients()

    assert outcome.include_rep is True
    assert weights[f"rep={WEAK_REP_NAME}"] < -0.3
    assert weights[f"rep={WEAK_REP_NAME}"] > PLANTED["weak_rep"]["log_odds"]  # shrunk towards zero


@pytest.mark.parametrize(
    ("label", "sign"),
    [("Partner lead source", -1), ("Referral lead source", +1), (f"Rep {WEAK_REP_NAME}", -1)],
)
def test_drivers_name_the_planted_segment_effects_with_the_right_sign(
    open_drivers: pd.DataFrame, label: str, sign: int
) -> None:
    named = open_drivers[open_drivers["label"] == label]

    assert len(named) > 0
    assert (np.sign(named["value"]) == sign).all()


@pytest.mark.parametrize("feature", ["days_in_stage", "amount"])
def test_more_time_in_stage_and_bigger_amounts_lower_the_score(
    frames: DemoFrames, outcome: TrainingOutcome, feature: str
) -> None:
    assert isinstance(outcome.served_model, WinModel)
    features = features_as_of(frames.open_deals, as_of=pd.Timestamp(DEMO_ANCHOR), pipeline=PIPELINE)
    parts = outcome.served_model.decompose(features)

    contribution = parts.contributions[:, parts.groups.index(feature)]

    assert np.corrcoef(np.log1p(features[feature]), contribution)[0, 1] < -0.99


def test_stalled_open_deals_show_time_in_stage_as_a_negative_driver(
    frames: DemoFrames, open_drivers: pd.DataFrame
) -> None:
    stalled = np.flatnonzero(
        frames.generated.loc[frames.generated["outcome"] == "", "planted_stall"].to_numpy()
    )
    stall_drivers = open_drivers[(open_drivers["feature"] == "days_in_stage") & (open_drivers["value"] < 0)]

    flagged = np.isin(stalled, stall_drivers["deal"].to_numpy()).mean()

    assert flagged > 0.9
