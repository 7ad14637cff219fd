"""Deal features as a deal knows them at scoring time. Pure pandas/numpy: no Django import.

Input is a *deal frame*, one row per deal, as :mod:`scoring.selectors` reads it in one SQL query:

=====================  ==================================================================
column                 meaning
=====================  ==================================================================
deal_id                int
created_date           datetime64 (day precision)
closed_date            datetime64, NaT while open
stage                  current stage (open) or last stage reached (closed)
stage_entered_date     datetime64, NaT when the CRM did not say
amount                 float, deal currency
rep                    str, "" when no owner
industry, region,      str, "" when unknown
product_type,
lead_source
stage_moves            int, stage changes recorded so far (history rows with a from_stage)
won                    bool, closed deals only
=====================  ==================================================================

Output is a *feature frame* with the raw, human-readable values the model transforms itself
(amount in currency, days as integers) so the same numbers can be put in driver labels.

Leakage rule: every feature is computed as of a date at which the deal was still open. For open
deals that date is today. For training, closed deals are replayed as they looked while open (see
:func:`training_snapshots`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SEGMENT_FEATURES: tuple[str, ...] = ("industry", "region", "product_type", "lead_source")
CATEGORICAL_FEATURES: tuple[str, ...] = (*SEGMENT_FEATURES, "stage")
REP_FEATURE = "rep"
NUMERIC_FEATURES: tuple[str, ...] = ("amount", "age_days", "days_in_stage", "stage_moves")
FEATURE_COLUMNS: tuple[str, ...] = (*CATEGORICAL_FEATURES, REP_FEATURE, *NUMERIC_FEATURES)

# A closed deal with stage history is replayed at a point between these fractions of its life:
# late enough to have some history, early enough that the outcome is not yet visible.
SNAPSHOT_FRACTION_LOW = 0.0
SNAPSHOT_FRACTION_HIGH = 1.0

_DAY = np.timedelta64(1, "D")


def _days_between(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((later - earlier) / _DAY).to_numpy(dtype="float64")


def _dates(values: pd.Series) -> pd.Series:
    """As datetime64[ns]: pandas refuses to compare or merge on mixed resolutions."""
    return pd.to_datetime(values).astype("datetime64[ns]")


def _with_dates(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return frame.assign(**{column: _dates(frame[column]) for column in columns if column in frame})


def _stage_position(stages: pd.Series, pipeline: Sequence[str]) -> np.ndarray:
    """Index of each stage in the tenant's ordered pipeline; unknown stages count as the first."""
    codes = pd.Index(list(dict.fromkeys(pipeline))).get_indexer(stages)
    return np.where(codes < 0, 0, codes).astype("float64")


def features_as_of(
    deals: pd.DataFrame, *, as_of: pd.Timestamp | pd.Series, pipeline: Sequence[str]
) -> pd.DataFrame:
    """Features of ``deals`` as they stand on ``as_of`` (a date, or one date per row).

    ``age_days`` is days since creation; ``days_in_stage`` is days since ``stage_entered_date``,
    or the deal's age when the CRM never said when the stage was entered (the deal may have
    been in it since creation: an upper bound, documented in docs/scoring.md). ``stage_moves``
    is the recorded count when the deal has history, else the stage's position in the
    ``pipeline`` (a deal in its third stage has moved at least twice). Negative day counts
    (dates in the future, bad data) are clipped to zero. Index and order follow ``deals``.
    """
    deals = _with_dates(deals, ("created_date", "stage_entered_date"))
    as_of_series = _dates(as_of if isinstance(as_of, pd.Series) else pd.Series(as_of, index=deals.index))
    age = np.clip(_days_between(as_of_series, deals["created_date"]), 0, None)
    in_stage = _days_between(as_of_series, deals["stage_entered_date"])
    in_stage = np.where(np.isnan(in_stage), age, np.clip(in_stage, 0, None))
    recorded_moves = deals["stage_moves"].to_numpy(dtype="float64")
    moves = np.where(recorded_moves > 0, recorded_moves, _stage_position(deals["stage"], pipeline))
    features = pd.DataFrame(
        {column: deals[column].fillna("").astype(str).to_numpy() for column in CATEGORICAL_FEATURES},
        index=deals.index,
    )
    features[REP_FEATURE] = deals[REP_FEATURE].fillna("").astype(str).to_numpy()
    features["amount"] = deals["amount"].to_numpy(dtype="float64")
    features["age_days"] = np.floor(age)
    features["days_in_stage"] = np.floor(in_stage)
    features["stage_moves"] = moves
    return features


def snapshot_fraction(deal_ids: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """A fixed pseudo-random fraction in [LOW, HIGH) per deal id.

    Derived from the id by multiplicative hashing so a deal is replayed at the same point of
    its life on every retraining (stable models) without storing anything.
    """
    mixed = (deal_ids.astype("uint64") + np.uint64(seed)) * np.uint64(2654435761) % np.uint64(2**32)
    unit = mixed.astype("float64") / 2**32
    return SNAPSHOT_FRACTION_LOW + unit * (SNAPSHOT_FRACTION_HIGH - SNAPSHOT_FRACTION_LOW)


def training_snapshots(
    closed: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    pipeline: Sequence[str],
    seed: int = 0,
) -> pd.DataFrame:
    """Feature rows for closed deals as they looked while still open, plus ``won``.

    ``changes`` has columns deal_id, from_stage, to_stage, changed_on (datetime64), one row per
    recorded stage move. A deal with history is replayed at ``created + f × cycle`` with ``f``
    from :func:`snapshot_fraction`: its stage is the one it was in on that day, ``days_in_stage``
    counts from the move into it, ``stage_moves`` counts the moves up to that day. A deal without
    history is taken as it was at close (stage = last stage reached, age = its whole cycle): the
    best that can be done without history, and the only case the reference CSV allows.

    Returns the feature frame with extra columns deal_id, won, closed_date and snapshot_date,
    in the order of ``closed``; the index is reset.
    """
    closed = _with_dates(closed.reset_index(drop=True), ("created_date", "closed_date", "stage_entered_date"))
    changes = _with_dates(changes, ("changed_on",))
    cycle_days = np.clip(_days_between(closed["closed_date"], closed["created_date"]), 0, None)
    with_history = closed["deal_id"].isin(changes["deal_id"]).to_numpy()
    fraction = snapshot_fraction(closed["deal_id"].to_numpy(), seed=seed)
    offset_days = np.where(with_history, np.floor(fraction * cycle_days), cycle_days)
    snapshot = closed["created_date"] + pd.to_timedelta(offset_days, unit="D")

    replay = closed.loc[with_history, ["deal_id", "created_date"]].assign(
        snapshot_date=snapshot[with_history]
    )
    if len(replay):
        stage, entered, moves = _replay_stage(replay, changes, pipeline=pipeline)
        closed.loc[with_history, "stage"] = stage
        closed.loc[with_history, "stage_entered_date"] = entered
        closed.loc[with_history, "stage_moves"] = moves
    features = features_as_of(closed, as_of=snapshot, pipeline=pipeline)
    features["deal_id"] = closed["deal_id"].to_numpy()
    features["won"] = closed["won"].to_numpy(dtype=bool)
    features["closed_date"] = closed["closed_date"].to_numpy()
    features["snapshot_date"] = snapshot.to_numpy()
    return features


def open_on(
    deals: pd.DataFrame, changes: pd.DataFrame, *, day: pd.Timestamp, pipeline: Sequence[str]
) -> pd.DataFrame:
    """Feature rows of the deals open on ``day``, as they looked that day.

    A deal was open on ``day`` when it was created before it and closed (if at all) after it. Its
    stage, stage-entered date and move count are replayed from its recorded stage moves (as in
    :func:`training_snapshots`); a deal without recorded moves is left out, because its stage
    that day is unknown. Returns the features with ``deal_id``, in ``deals``' order.
    """
    deals = _with_dates(deals.reset_index(drop=True), ("created_date", "closed_date", "stage_entered_date"))
    changes = _with_dates(changes, ("changed_on",))
    day = pd.Timestamp(day).as_unit("ns")
    open_then = (
        (deals["created_date"] < day)
        & (deals["closed_date"].isna() | (deals["closed_date"] > day))
        & deals["deal_id"].isin(changes["deal_id"])
    )
    deals = deals.loc[open_then].reset_index(drop=True)
    if deals.empty:
        return features_as_of(deals, as_of=day, pipeline=pipeline).assign(deal_id=pd.Series(dtype="int64"))
    replay = deals[["deal_id", "created_date"]].assign(snapshot_date=day)
    stage, entered, moves = _replay_stage(replay, changes, pipeline=pipeline)
    deals = deals.assign(stage=stage, stage_entered_date=entered, stage_moves=moves)
    features = features_as_of(deals, as_of=day, pipeline=pipeline)
    features["deal_id"] = deals["deal_id"].to_numpy()
    return features


def _replay_stage(
    replay: pd.DataFrame, changes: pd.DataFrame, *, pipeline: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stage, stage-entered date and move count of each replayed deal on its snapshot date."""
    history = changes.sort_values(["changed_on", "deal_id"], kind="stable").copy()
    history["is_move"] = history["from_stage"].fillna("").astype(str) != ""
    history["moves_so_far"] = history.groupby("deal_id")["is_move"].cumsum()
    first_stage = history.drop_duplicates("deal_id").set_index("deal_id")["from_stage"].fillna("").astype(str)
    ordered = replay.reset_index().sort_values("snapshot_date", kind="stable")
    matched = pd.merge_asof(
        ordered,
        history[["deal_id", "changed_on", "to_stage", "moves_so_far"]],
        left_on="snapshot_date",
        right_on="changed_on",
        by="deal_id",
        direction="backward",
    ).set_index("index")
    matched = matched.loc[replay.index]
    # Before its first recorded move a deal sat in that move's from-stage (or the first stage).
    initial = matched["deal_id"].map(first_stage).fillna("")
    initial = initial.where(initial != "", pipeline[0] if pipeline else "")
    no_move_yet = matched["changed_on"].isna()
    stage = np.where(no_move_yet, initial, matched["to_stage"].astype(object))
    entered = matched["changed_on"].where(~no_move_yet, matched["created_date"])
    moves = matched["moves_so_far"].fillna(0).to_numpy(dtype="float64")
    return stage, entered.to_numpy(), moves
