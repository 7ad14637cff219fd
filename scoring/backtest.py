"""Time-based backtest, metrics, the promotion rule and the training run. Pure: no Django import.

The backtest answers "would this model have helped on deals that closed *after* it was trained?".
Folds are cut by close date: fold k trains on every deal closed before cut k and tests on the
deals closed from cut k up to cut k+1 (the last fold up to the newest deal), like scikit-learn's
``TimeSeriesSplit`` but cut on dates so deals closed on one day never straddle a cut. The
predictions of all folds are pooled; metrics are computed on the pool.

Promotion rule: the model serves only if it beats the tenant's base rate on Brier score in the
backtest, and beats it reliably: the per-deal Brier improvement, averaged over the pooled test
deals, must stay above zero at its one-sided 95% lower bound. Otherwise the best baseline serves:
segment priors under the same rule, else the base rate. Below a minimum number of won and lost
deals nothing is trained at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from scoring.model import (
    BASE_RATE,
    MODEL,
    SEGMENT_PRIOR,
    ServingModel,
    base_rate_fit,
    segment_prior_fit,
    win_model_fit,
)

RELIABILITY_BINS = 10
DEFAULT_FOLDS = 4
# The first cut leaves at least this share of the history for training.
FIRST_CUT_QUANTILE = 0.5
# A fold whose training deals have fewer of either outcome is skipped.
MIN_TRAIN_PER_CLASS = 20
ONE_SIDED_95_Z = 1.645
NO_DATA = "none"

ModelFactory = Callable[[pd.DataFrame, np.ndarray], ServingModel]


def reliability_table(
    *, won: np.ndarray, probability: np.ndarray, bins: int = RELIABILITY_BINS
) -> list[dict]:
    """Equal-width probability bins: range, n, mean predicted and observed win rate (None if empty)."""
    y = np.asarray(won, dtype=float)
    p = np.asarray(probability, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y, minlength=bins)
    return [
        {
            "bin": f"{b / bins:.1f}–{(b + 1) / bins:.1f}",
            "n": int(counts[b]),
            "mean_predicted": round(float(predicted[b] / counts[b]), 4) if counts[b] else None,
            "observed_rate": round(float(observed[b] / counts[b]), 4) if counts[b] else None,
        }
        for b in range(bins)
    ]


def classification_metrics(*, won: np.ndarray, probability: np.ndarray) -> dict:
    """ROC-AUC (None with a single class), Brier score, log loss, n, n_won and the reliability table."""
    y = np.asarray(won, dtype=int)
    p = np.clip(np.asarray(probability, dtype=float), 1e-6, 1 - 1e-6)
    if len(y) == 0:
        return {"roc_auc": None, "brier": None, "log_loss": None, "n": 0, "n_won": 0, "reliability": []}
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if 0 < y.sum() < len(y) else None,
        "brier": round(float(brier_score_loss(y, p)), 5),
        "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 5),
        "n": len(y),
        "n_won": int(y.sum()),
        "reliability": reliability_table(won=y, probability=p),
    }


def brier_improvement(*, won: np.ndarray, probability: np.ndarray, reference: np.ndarray) -> dict:
    """Mean per-deal Brier improvement over ``reference`` and its one-sided 95% lower bound."""
    y = np.asarray(won, dtype=float)
    gains = (np.asarray(reference) - y) ** 2 - (np.asarray(probability) - y) ** 2
    mean = float(gains.mean()) if len(gains) else 0.0
    error = float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else float("inf")
    lower = mean - ONE_SIDED_95_Z * error
    return {
        "mean": round(mean, 6),
        "lower_bound": round(lower, 6) if np.isfinite(lower) else None,
        "beats": bool(np.isfinite(lower) and lower > 0),
    }


@dataclass(frozen=True)
class Fold:
    number: int
    cut_date: pd.Timestamp
    end_date: pd.Timestamp
    train: np.ndarray  # boolean masks over the frame
    test: np.ndarray


def time_folds(*, closed_dates: pd.Series, n_folds: int = DEFAULT_FOLDS) -> list[Fold]:
    """Expanding-window folds cut at close-date quantiles between FIRST_CUT_QUANTILE and 1."""
    dates = pd.to_datetime(closed_dates).reset_index(drop=True)
    quantiles = np.linspace(FIRST_CUT_QUANTILE, 1.0, n_folds + 1)[:-1]
    cuts = sorted({dates.quantile(q, interpolation="nearest").normalize() for q in quantiles})
    newest = dates.max()
    folds = []
    for number, cut in enumerate(cuts):
        end = cuts[number + 1] if number + 1 < len(cuts) else newest + pd.Timedelta(days=1)
        train = (dates < cut).to_numpy()
        test = ((dates >= cut) & (dates < end)).to_numpy()
        if train.any() and test.any():
            folds.append(Fold(number=len(folds) + 1, cut_date=cut, end_date=end, train=train, test=test))
    return folds


@dataclass
class BacktestResult:
    """Pooled out-of-time predictions (one column per candidate) and per-candidate metrics."""

    predictions: pd.DataFrame  # deal_id, fold, won, closed_date, then one probability column per candidate
    folds: list[dict]
    metrics: dict[str, dict] = field(default_factory=dict)


def backtest_run(
    *,
    frame: pd.DataFrame,
    candidates: Mapping[str, ModelFactory],
    n_folds: int = DEFAULT_FOLDS,
) -> BacktestResult:
    """Fit every candidate on each fold's training deals and predict its test deals.

    ``frame`` is a training frame (features plus deal_id, won, closed_date). Folds with fewer
    than MIN_TRAIN_PER_CLASS won or lost training deals, or a single outcome in the test deals'
    training, are skipped and listed with the reason.
    """
    frame = frame.reset_index(drop=True)
    won = frame["won"].to_numpy(dtype=int)
    pieces: list[pd.DataFrame] = []
    fold_notes: list[dict] = []
    for fold in time_folds(closed_dates=frame["closed_date"], n_folds=n_folds):
        train_won = int(won[fold.train].sum())
        train_lost = int(fold.train.sum() - train_won)
        note = {
            "fold": fold.number,
            "train_before": fold.cut_date.date().isoformat(),
            "test_until": fold.end_date.date().isoformat(),
            "n_train": int(fold.train.sum()),
            "n_test": int(fold.test.sum()),
        }
        if min(train_won, train_lost) < MIN_TRAIN_PER_CLASS:
            fold_notes.append(
                {**note, "skipped": f"fewer than {MIN_TRAIN_PER_CLASS} won or lost to train on"}
            )
            continue
        train, test = frame[fold.train], frame[fold.test]
        piece = test[["deal_id", "won", "closed_date"]].copy()
        piece.insert(1, "fold", fold.number)
        for name, factory in candidates.items():
            piece[name] = factory(train, won[fold.train]).predict_proba(test)
        pieces.append(piece)
        fold_notes.append(note)
    columns = ["deal_id", "fold", "won", "closed_date", *candidates]
    predictions = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=columns)
    result = BacktestResult(predictions=predictions, folds=fold_notes)
    for name in candidates:
        result.metrics[name] = classification_metrics(
            won=predictions["won"].to_numpy(dtype=int), probability=predictions[name].to_numpy(dtype=float)
        )
    return result


@dataclass(frozen=True)
class PromotionDecision:
    promoted: bool
    serving: str  # MODEL, BASE_RATE or SEGMENT_PRIOR
    reason: str
    model_vs_base_rate: dict
    segment_prior_vs_base_rate: dict


def promotion_decide(*, result: BacktestResult, model_column: str = MODEL) -> PromotionDecision:
    """Apply the promotion rule (module docstring) to a backtest with base-rate and prior columns."""
    pooled = result.predictions
    if pooled.empty:
        empty = {"mean": None, "lower_bound": None, "beats": False}
        return PromotionDecision(
            promoted=False,
            serving=BASE_RATE,
            reason="Not enough closed history to backtest on later deals; serving the base rate.",
            model_vs_base_rate=empty,
            segment_prior_vs_base_rate=empty,
        )
    won = pooled["won"].to_numpy(dtype=int)
    base = pooled[BASE_RATE].to_numpy(dtype=float)
    model_gain = brier_improvement(
        won=won, probability=pooled[model_column].to_numpy(dtype=float), reference=base
    )
    prior_gain = brier_improvement(
        won=won, probability=pooled[SEGMENT_PRIOR].to_numpy(dtype=float), reference=base
    )
    brier = {name: metrics["brier"] for name, metrics in result.metrics.items()}
    if model_gain["beats"]:
        return PromotionDecision(
            promoted=True,
            serving=MODEL,
            reason=(
                f"Model Brier {brier[model_column]:.4f} beats the base rate's {brier[BASE_RATE]:.4f} "
                f"on {len(won)} later deals (improvement {model_gain['mean']:.4f}, "
                f"95% lower bound {model_gain['lower_bound']:.4f})."
            ),
            model_vs_base_rate=model_gain,
            segment_prior_vs_base_rate=prior_gain,
        )
    serving = SEGMENT_PRIOR if prior_gain["beats"] else BASE_RATE
    return PromotionDecision(
        promoted=False,
        serving=serving,
        reason=(
            f"Model Brier {brier[model_column]:.4f} does not reliably beat the base rate's "
            f"{brier[BASE_RATE]:.4f} on {len(won)} later deals (improvement {model_gain['mean']:.4f}, "
            f"95% lower bound {model_gain['lower_bound']}); serving "
            f"{'segment priors' if serving == SEGMENT_PRIOR else 'the base rate'}."
        ),
        model_vs_base_rate=model_gain,
        segment_prior_vs_base_rate=prior_gain,
    )


@dataclass
class TrainingOutcome:
    """Everything a training run produced, ready to be stored as a model version."""

    n_won: int
    n_lost: int
    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    trained: bool
    promoted: bool
    serving: str  # MODEL, BASE_RATE, SEGMENT_PRIOR or NO_DATA
    reason: str
    include_rep: bool = False
    served_model: ServingModel | None = None
    candidate_model: ServingModel | None = None
    backtest: dict = field(default_factory=dict)
    baselines: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    result: BacktestResult | None = None


def _model_factory(*, include_rep: bool) -> ModelFactory:
    def fit(features: pd.DataFrame, won: np.ndarray) -> ServingModel:
        return win_model_fit(features, won, include_rep=include_rep)

    return fit


def training_run(
    *,
    frame: pd.DataFrame,
    min_won: int,
    min_lost: int,
    n_folds: int = DEFAULT_FOLDS,
    consider_rep: bool = True,
) -> TrainingOutcome:
    """Check the minimum, backtest model and baselines, decide promotion, fit what will serve.

    ``frame`` is a training frame from :func:`scoring.features.training_snapshots`. The rep
    feature (already shrunk, see scoring.model.REP_SHRINK) is dropped only when the backtest
    says it reliably hurts: the model without it beats the model with it on Brier score at the
    one-sided 95% bound. The serving
    artefact is refitted on all of ``frame``. Below ``min_won``/``min_lost`` nothing is fitted
    and ``serving`` is NO_DATA, with the reason.
    """
    # One BLAS thread: the fits are tiny, and OpenBLAS threads busy-waiting on a shared
    # 2-core machine made training five times slower.
    with threadpool_limits(limits=1):
        return _training_run(
            frame=frame, min_won=min_won, min_lost=min_lost, n_folds=n_folds, consider_rep=consider_rep
        )


def _training_run(
    *, frame: pd.DataFrame, min_won: int, min_lost: int, n_folds: int, consider_rep: bool
) -> TrainingOutcome:
    won = frame["won"].to_numpy(dtype=int)
    n_won, n_lost = int(won.sum()), int(len(won) - won.sum())
    window_start = pd.Timestamp(frame["closed_date"].min()) if len(frame) else None
    window_end = pd.Timestamp(frame["closed_date"].max()) if len(frame) else None
    if n_won < min_won or n_lost < min_lost:
        return TrainingOutcome(
            n_won=n_won,
            n_lost=n_lost,
            window_start=window_start,
            window_end=window_end,
            trained=False,
            promoted=False,
            serving=NO_DATA,
            reason=(
                f"Not enough closed deals to train: {n_won} won and {n_lost} lost; "
                f"scoring needs at least {min_won} won and {min_lost} lost."
            ),
        )
    candidates: dict[str, ModelFactory] = {
        "model_without_rep": _model_factory(include_rep=False),
        BASE_RATE: lambda features, outcome: base_rate_fit(outcome),
        SEGMENT_PRIOR: lambda features, outcome: segment_prior_fit(features, outcome),
    }
    if consider_rep:
        candidates["model_with_rep"] = _model_factory(include_rep=True)
    result = backtest_run(frame=frame, candidates=candidates, n_folds=n_folds)
    include_rep = False
    rep_hurts: dict = {}
    if consider_rep and not result.predictions.empty:
        # Rep stays in (as a shrunk effect) unless dropping it reliably improves the Brier score.
        rep_hurts = brier_improvement(
            won=result.predictions["won"].to_numpy(dtype=int),
            probability=result.predictions["model_without_rep"].to_numpy(dtype=float),
            reference=result.predictions["model_with_rep"].to_numpy(dtype=float),
        )
        include_rep = not rep_hurts["beats"]
    chosen = "model_with_rep" if include_rep else "model_without_rep"
    result.predictions[MODEL] = result.predictions[chosen]
    result.metrics[MODEL] = result.metrics[chosen]
    decision = promotion_decide(result=result)

    candidate_model = win_model_fit(frame, won, include_rep=include_rep)
    served: ServingModel
    if decision.serving == MODEL:
        served = candidate_model
    elif decision.serving == SEGMENT_PRIOR:
        served = segment_prior_fit(frame, won)
    else:
        served = base_rate_fit(won)
    return TrainingOutcome(
        n_won=n_won,
        n_lost=n_lost,
        window_start=window_start,
        window_end=window_end,
        trained=True,
        promoted=decision.promoted,
        serving=decision.serving,
        reason=decision.reason,
        include_rep=include_rep,
        served_model=served,
        candidate_model=candidate_model,
        backtest=_summary(result.metrics[MODEL]),
        baselines={name: _summary(result.metrics[name]) for name in (BASE_RATE, SEGMENT_PRIOR)},
        details={
            "folds": result.folds,
            "rep_feature": {
                "considered": consider_rep,
                "kept": include_rep,
                "brier_with_rep": result.metrics.get("model_with_rep", {}).get("brier"),
                "brier_without_rep": result.metrics["model_without_rep"]["brier"],
                "gain_without_rep": rep_hurts,
            },
            "model_vs_base_rate": decision.model_vs_base_rate,
            "segment_prior_vs_base_rate": decision.segment_prior_vs_base_rate,
        },
        result=result,
    )


def _summary(metrics: dict) -> dict:
    return {key: metrics[key] for key in ("roc_auc", "brier", "log_loss", "n", "n_won", "reliability")}
