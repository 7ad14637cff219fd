"""Win-probability models: a calibrated logistic regression and two baselines. Pure scikit-learn.

Every model answers the same two questions for a feature frame (see :mod:`scoring.features`):
``predict_proba`` (win probability per deal) and ``decompose`` (the log-odds of the tenant's
average deal plus each feature's contribution relative to it). ``decompose`` is exact:
``sigmoid(base_logit + contributions.sum(axis=1))`` is the probability, so drivers shown to a user
always add up to the score. Both are vectorised over all rows (no per-deal Python).

Models:

* :class:`WinModel` — ``ColumnTransformer`` (one-hot segments and stage, one-hot rep scaled
  down so the L2 penalty shrinks rep effects harder, log1p + standardised numbers) →
  ``LogisticRegression`` (L2, C chosen by cross-validated log loss) → Platt scaling fitted on
  out-of-fold scores (what ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` does;
  done by hand because a single linear calibration keeps the drivers exact).
* :class:`BaseRateModel` — the tenant's win rate for every deal.
* :class:`SegmentPriorModel` — frequency scoring as in Odoo's predictive lead scoring: naive
  Bayes over the segment fields with Laplace smoothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from scoring.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, REP_FEATURE, SEGMENT_FEATURES

MODEL = "model"
BASE_RATE = "base_rate"
SEGMENT_PRIOR = "segment_prior"

# Rep one-hot columns are multiplied by this before the regression: the L2 penalty on a column
# scaled by s acts like a penalty 1/s² times stronger, so rep effects shrink towards zero
# (a ridge stand-in for a random effect) unless a rep has many deals.
REP_SHRINK = 0.5
C_GRID = tuple(float(c) for c in np.logspace(-3, 1, 9))
CV_FOLDS = 5
PROBABILITY_FLOOR = 1e-4


def sigmoid(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def logit_of(probability: float) -> float:
    clipped = min(max(probability, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR)
    return float(np.log(clipped / (1 - clipped)))


@dataclass(frozen=True)
class Decomposition:
    """Per-deal log-odds split into the average deal's log-odds and feature contributions."""

    base_logit: float
    groups: tuple[str, ...]
    contributions: np.ndarray  # shape (n_deals, len(groups)), log-odds

    def logit(self) -> np.ndarray:
        return self.base_logit + self.contributions.sum(axis=1)

    def probability(self) -> np.ndarray:
        return sigmoid(self.logit())


class ServingModel(Protocol):
    name: str

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...

    def decompose(self, features: pd.DataFrame) -> Decomposition: ...

    def describe(self) -> dict[str, object]: ...


def _category_codes(values: pd.Series, categories: Sequence[object]) -> np.ndarray:
    """Index of each value in ``categories``; -1 for values unseen in training."""
    return pd.Index(list(categories)).get_indexer(values.astype(str)).astype("int64")


def _scale(matrix: sparse.spmatrix | np.ndarray, factor: float) -> sparse.spmatrix | np.ndarray:
    return matrix * factor


@dataclass
class _CategoricalTerm:
    column: str
    categories: np.ndarray
    weights: np.ndarray  # logistic weight per category (rep shrink already folded in)
    mean_effect: float  # weights · training frequencies: the average deal's share

    def contribution(self, features: pd.DataFrame) -> np.ndarray:
        codes = _category_codes(features[self.column], self.categories)
        effect = np.where(codes >= 0, self.weights[np.clip(codes, 0, None)], 0.0)
        return effect - self.mean_effect


@dataclass
class _NumericTerm:
    column: str
    center: float
    scale: float
    weight: float
    mean_effect: float

    def contribution(self, features: pd.DataFrame) -> np.ndarray:
        standardised = (np.log1p(features[self.column].to_numpy(dtype="float64")) - self.center) / self.scale
        return self.weight * standardised - self.mean_effect


@dataclass
class WinModel:
    """A fitted, calibrated logistic regression; build with :func:`win_model_fit`."""

    pipeline: Pipeline
    include_rep: bool
    regularisation_c: float
    calibration_slope: float
    calibration_intercept: float
    terms: list[_CategoricalTerm | _NumericTerm] = field(default_factory=list)
    raw_base_logit: float = 0.0
    name: str = MODEL

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(term.column for term in self.terms)

    def columns(self) -> list[str]:
        return [*CATEGORICAL_FEATURES, *([REP_FEATURE] if self.include_rep else []), *NUMERIC_FEATURES]

    def decompose(self, features: pd.DataFrame) -> Decomposition:
        raw = np.column_stack([term.contribution(features) for term in self.terms])
        return Decomposition(
            base_logit=self.calibration_slope * self.raw_base_logit + self.calibration_intercept,
            groups=self.groups,
            contributions=self.calibration_slope * raw,
        )

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.decompose(features).probability()

    def pipeline_proba(self, features: pd.DataFrame) -> np.ndarray:
        """The same probabilities through scikit-learn's own transform (used to check the fast path)."""
        raw = self.pipeline.decision_function(features[self.columns()])
        return sigmoid(self.calibration_slope * raw + self.calibration_intercept)

    def coefficients(self) -> dict[str, float]:
        """Logistic weight per one-hot level or standardised number, calibrated log-odds units."""
        weights: dict[str, float] = {}
        for term in self.terms:
            if isinstance(term, _CategoricalTerm):
                for category, weight in zip(term.categories, term.weights, strict=True):
                    weights[f"{term.column}={category}"] = round(float(weight * self.calibration_slope), 4)
            else:
                weights[f"log1p({term.column}) per SD"] = round(
                    float(term.weight * self.calibration_slope), 4
                )
        return weights

    def describe(self) -> dict[str, object]:
        return {
            "kind": MODEL,
            "features": self.columns(),
            "include_rep": self.include_rep,
            "regularisation_c": self.regularisation_c,
            "calibration": {"slope": self.calibration_slope, "intercept": self.calibration_intercept},
            "coefficients": self.coefficients(),
        }


def _transformer(*, include_rep: bool) -> ColumnTransformer:
    blocks: list[tuple[str, object, list[str]]] = [
        (
            "categories",
            OneHotEncoder(handle_unknown="ignore", dtype=np.float64),
            list(CATEGORICAL_FEATURES),
        ),
    ]
    if include_rep:
        rep_block = Pipeline(
            [
                ("onehot", OneHotEncoder(handle_unknown="ignore", dtype=np.float64)),
                ("shrink", FunctionTransformer(_scale, kw_args={"factor": REP_SHRINK}, accept_sparse=True)),
            ]
        )
        blocks.append(("rep", rep_block, [REP_FEATURE]))
    numbers = Pipeline(
        [("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")), ("scale", StandardScaler())]
    )
    blocks.append(("numbers", numbers, list(NUMERIC_FEATURES)))
    return ColumnTransformer(blocks)


def win_model_fit(
    features: pd.DataFrame, won: np.ndarray, *, include_rep: bool, random_state: int = 0
) -> WinModel:
    """Fit the calibrated logistic regression on ``features`` (feature frame) and ``won`` (0/1).

    C is the value of :data:`C_GRID` with the lowest 5-fold out-of-fold log loss; the Platt
    step is fitted on that C's out-of-fold decision values, so calibration never sees a deal's
    own fit. The encoder and scaler are fitted once on all rows (they learn no outcome). Raises
    ValueError when ``won`` has a single class.
    """
    y = np.asarray(won, dtype=int)
    if len(np.unique(y)) < 2:
        raise ValueError("Training needs both won and lost deals.")
    columns = [*CATEGORICAL_FEATURES, *([REP_FEATURE] if include_rep else []), *NUMERIC_FEATURES]
    x = features[columns]
    transformer = _transformer(include_rep=include_rep).fit(x)
    matrix = transformer.transform(x)
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=random_state)
    best: tuple[float, float, np.ndarray] | None = None
    for c in C_GRID:
        out_of_fold = cross_val_predict(
            LogisticRegression(C=c, max_iter=2000), matrix, y, cv=folds, method="decision_function"
        )
        loss = log_loss(y, sigmoid(out_of_fold), labels=[0, 1])
        if best is None or loss < best[0]:
            best = (loss, c, out_of_fold)
    assert best is not None
    _, chosen_c, out_of_fold = best
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(out_of_fold.reshape(-1, 1), y)
    classifier = LogisticRegression(C=chosen_c, max_iter=2000).fit(matrix, y)
    model = WinModel(
        pipeline=Pipeline([("features", transformer), ("classifier", classifier)]),
        include_rep=include_rep,
        regularisation_c=chosen_c,
        calibration_slope=float(platt.coef_[0, 0]),
        calibration_intercept=float(platt.intercept_[0]),
    )
    _attach_terms(model, x)
    return model


def _attach_terms(model: WinModel, x: pd.DataFrame) -> None:
    """Read the fitted pipeline into per-feature terms centred on the average training deal."""
    transformer: ColumnTransformer = model.pipeline.named_steps["features"]
    classifier: LogisticRegression = model.pipeline.named_steps["classifier"]
    weights = classifier.coef_[0]
    transformed = transformer.transform(x)
    column_means = np.asarray(transformed.mean(axis=0)).ravel()
    terms: list[_CategoricalTerm | _NumericTerm] = []
    for block, indices in transformer.output_indices_.items():
        if block == "remainder" or indices.stop == indices.start:
            continue
        block_weights = weights[indices]
        block_means = column_means[indices]
        if block == "numbers":
            scaler: StandardScaler = transformer.named_transformers_["numbers"].named_steps["scale"]
            for position, column in enumerate(NUMERIC_FEATURES):
                terms.append(
                    _NumericTerm(
                        column=column,
                        center=float(scaler.mean_[position]),
                        scale=float(scaler.scale_[position]),
                        weight=float(block_weights[position]),
                        mean_effect=float(block_weights[position] * block_means[position]),
                    )
                )
            continue
        fitted = transformer.named_transformers_[block]
        encoder: OneHotEncoder = fitted if block == "categories" else fitted.named_steps["onehot"]
        factor = 1.0 if block == "categories" else REP_SHRINK
        start = 0
        for column, categories in zip(encoder.feature_names_in_, encoder.categories_, strict=True):
            stop = start + len(categories)
            level_weights = block_weights[start:stop] * factor
            level_frequencies = block_means[start:stop] / factor
            terms.append(
                _CategoricalTerm(
                    column=str(column),
                    categories=np.asarray(categories),
                    weights=level_weights,
                    mean_effect=float(level_weights @ level_frequencies),
                )
            )
            start = stop
    model.terms = terms
    model.raw_base_logit = float(classifier.intercept_[0] + weights @ column_means)


@dataclass
class BaseRateModel:
    """Every deal gets the training win rate. Explains nothing, so it has no drivers."""

    rate: float
    name: str = BASE_RATE

    def decompose(self, features: pd.DataFrame) -> Decomposition:
        return Decomposition(
            base_logit=logit_of(self.rate), groups=(), contributions=np.zeros((len(features), 0))
        )

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), min(max(self.rate, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR))

    def describe(self) -> dict[str, object]:
        return {"kind": BASE_RATE, "rate": round(self.rate, 6)}


def base_rate_fit(won: np.ndarray) -> BaseRateModel:
    """Raises ValueError on an empty sample."""
    if len(won) == 0:
        raise ValueError("No closed deals.")
    return BaseRateModel(rate=float(np.mean(np.asarray(won, dtype=float))))


@dataclass
class SegmentPriorModel:
    """Naive Bayes over segment fields: log P(won) − log P(lost) plus one term per field value."""

    prior_logit: float
    fields: tuple[str, ...]
    # Per field: value → log P(value | won) − log P(value | lost); unseen values add nothing.
    evidence: dict[str, dict[str, float]]
    mean_evidence: dict[str, float]
    name: str = SEGMENT_PRIOR

    def decompose(self, features: pd.DataFrame) -> Decomposition:
        columns = []
        for column in self.fields:
            table = self.evidence[column]
            values = np.array(list(table.values()), dtype="float64")
            codes = _category_codes(features[column], list(table.keys()))
            effect = np.where(codes >= 0, values[np.clip(codes, 0, None)] if len(values) else 0.0, 0.0)
            columns.append(effect - self.mean_evidence[column])
        return Decomposition(
            base_logit=self.prior_logit + sum(self.mean_evidence.values()),
            groups=self.fields,
            contributions=np.column_stack(columns) if columns else np.zeros((len(features), 0)),
        )

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.decompose(features).probability()

    def describe(self) -> dict[str, object]:
        return {
            "kind": SEGMENT_PRIOR,
            "prior_logit": round(self.prior_logit, 6),
            "evidence": {
                column: {value: round(weight, 4) for value, weight in table.items()}
                for column, table in self.evidence.items()
            },
        }


def segment_prior_fit(
    features: pd.DataFrame,
    won: np.ndarray,
    *,
    fields: Sequence[str] = SEGMENT_FEATURES,
    smoothing: float = 1.0,
) -> SegmentPriorModel:
    """Frequency scoring: per field, Laplace-smoothed value frequencies among won and lost deals.

    Raises ValueError when ``won`` has a single class.
    """
    y = np.asarray(won, dtype=bool)
    n_won, n_lost = int(y.sum()), int((~y).sum())
    if n_won == 0 or n_lost == 0:
        raise ValueError("Segment priors need both won and lost deals.")
    evidence: dict[str, dict[str, float]] = {}
    mean_evidence: dict[str, float] = {}
    for column in fields:
        counts = pd.crosstab(features[column].astype(str).to_numpy(), y).reindex(
            columns=[True, False], fill_value=0
        )
        levels = len(counts)
        p_value_won = (counts[True] + smoothing) / (n_won + smoothing * levels)
        p_value_lost = (counts[False] + smoothing) / (n_lost + smoothing * levels)
        table = np.log(p_value_won) - np.log(p_value_lost)
        evidence[column] = {str(value): float(weight) for value, weight in table.items()}
        frequencies = (counts[True] + counts[False]) / len(y)
        mean_evidence[column] = float((frequencies * table).sum())
    return SegmentPriorModel(
        prior_logit=float(np.log(n_won / n_lost)),
        fields=tuple(fields),
        evidence=evidence,
        mean_evidence=mean_evidence,
    )
