"""scoring.backtest: time folds, metrics, the promotion rule and the training run (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.backtest import (
    NO_DATA,
    classification_metrics,
    reliability_table,
    time_folds,
    training_run,
)
from scoring.model import BASE_RATE, MODEL, WinModel
from scoring.tests.synthetic import synthetic_training_frame


@pytest.fixture(scope="module")
def with_signal():
    frame = synthetic_training_frame(n=3000, seed=2, signal=True)
    return frame, training_run(frame=frame, min_won=100, min_lost=100)


@pytest.fixture(scope="module")
def without_signal():
    frame = synthetic_training_frame(n=3000, seed=3, signal=False)
    return frame, training_run(frame=frame, min_won=100, min_lost=100)


def test_every_fold_trains_only_on_deals_closed_before_its_test_deals() -> None:
    dates = pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(400) % 200, unit="D"))

    folds = time_folds(closed_dates=dates, n_folds=4)

    assert len(folds) == 4
    for fold in folds:
        assert dates[fold.train].max() < fold.cut_date <= dates[fold.test].min()
        assert not (fold.train & fold.test).any()


def test_test_windows_follow_each_other_without_overlap() -> None:
    dates = pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(1000), unit="D"))

    folds = time_folds(closed_dates=dates, n_folds=4)

    tested = np.vstack([fold.test for fold in folds]).sum(axis=0)
    assert tested.max() == 1
    assert tested.sum() == (dates >= folds[0].cut_date).sum()


def test_the_reliability_table_has_ten_bins_with_counts_and_rates() -> None:
    table = reliability_table(won=np.array([0, 1, 1, 0]), probability=np.array([0.05, 0.95, 0.91, 1.0]))

    assert len(table) == 10
    assert table[0] == {"bin": "0.0–0.1", "n": 1, "mean_predicted": 0.05, "observed_rate": 0.0}
    assert table[9]["n"] == 3 and table[9]["observed_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert table[5]["mean_predicted"] is None


def test_metrics_report_auc_brier_log_loss_and_counts() -> None:
    metrics = classification_metrics(won=np.array([0, 0, 1, 1]), probability=np.array([0.1, 0.4, 0.35, 0.8]))

    assert metrics["roc_auc"] == 0.75
    assert metrics["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4, abs=1e-5)
    assert metrics["n"] == 4 and metrics["n_won"] == 2


def test_a_model_with_real_signal_is_promoted_and_serves(with_signal) -> None:
    _, outcome = with_signal

    assert outcome.promoted is True
    assert outcome.serving == MODEL
    assert isinstance(outcome.served_model, WinModel)
    assert outcome.backtest["brier"] < outcome.baselines[BASE_RATE]["brier"]
    assert outcome.backtest["roc_auc"] > 0.65


def test_the_promoted_models_backtest_auc_is_close_to_the_true_probabilities(with_signal) -> None:
    frame, outcome = with_signal
    predictions = outcome.result.predictions
    truth = predictions["deal_id"].map(frame.set_index("deal_id")["true_probability"])

    oracle = classification_metrics(won=predictions["won"].to_numpy(), probability=truth.to_numpy())

    assert abs(outcome.backtest["roc_auc"] - oracle["roc_auc"]) <= 0.03


def test_a_model_on_noise_is_not_promoted_and_the_base_rate_serves(without_signal) -> None:
    _, outcome = without_signal

    assert outcome.promoted is False
    assert outcome.serving == BASE_RATE
    assert outcome.details["model_vs_base_rate"]["beats"] is False
    assert "does not reliably beat the base rate" in outcome.reason


def test_backtest_and_baselines_report_the_same_test_deals(with_signal) -> None:
    _, outcome = with_signal

    counts = {outcome.backtest["n"], *(metrics["n"] for metrics in outcome.baselines.values())}

    assert len(counts) == 1 and counts.pop() > 1000


def test_below_the_minimum_nothing_is_trained_and_the_reason_says_why() -> None:
    frame = synthetic_training_frame(n=150, seed=4)

    outcome = training_run(frame=frame, min_won=100, min_lost=100)

    assert outcome.trained is False
    assert outcome.serving == NO_DATA
    assert outcome.served_model is None
    assert "at least 100 won and 100 lost" in outcome.reason
