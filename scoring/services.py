"""Writes for scoring: train and promote, score deals in batch, edit next-action rules.

Every function runs inside the active tenant's context (``tenants.context.tenant_context``).

Batch scoring is vectorised end to end: one SQL read of the deals, one ``decompose`` over all
of them, drivers labelled per unique combination and stored once each (``DriverEntry``), then
one ``COPY`` into a temporary table and set-based statements into the score history (six entry
ids per score) and the current scores. PostgreSQL refuses
``COPY FROM`` into tables under row-level security, hence the temporary table (which has none).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import threading
import time
import zoneinfo
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from insights.selectors import TYPICAL_LOOKBACK_DAYS, typical_stage_days, winning_cycle_days
from scoring import selectors
from scoring.backtest import NO_DATA, TrainingOutcome, training_run
from scoring.drivers import BAND_CUTOFFS, FEATURE_NAMES, DriverTable, band_of, driver_table, typical_values
from scoring.features import features_as_of, open_on, training_snapshots
from scoring.model import ServingModel, WinModel
from scoring.models import (
    REPLAY_TRIGGER,
    CurrentScore,
    DealScore,
    DriverDirection,
    DriverEntry,
    ModelVersion,
    NextActionRule,
    Serving,
)
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# Batches up to this size are written with ordinary multi-row INSERTs (no temporary table).
SMALL_BATCH = 500
# After a full pass, this many of a tenant's riskiest deals carry CurrentScore.risk_rank, and as
# many of its safest CurrentScore.safe_rank: the risk board's first 400 pages of 25 either way
# walk a small index; later pages sort the rest.
RISK_RANKED = 10_000
# What a deal's current score is ranked as (_ScoreRows.ranked; a smallint in SQL).
_UNRANKED, _RISKIEST, _SAFEST = 0, 1, 2
# Lock key (with the tenant id) serialising score writes of one tenant.
_SCORE_LOCK = 74_100_401


def _tenant() -> Tenant:
    return Tenant.objects.get(pk=require_tenant_id())


def training_frame(*, tenant: Tenant, closed_before: dt.date | None = None) -> pd.DataFrame:
    """Closed deals as they looked while open (scoring.features.training_snapshots)."""
    closed = selectors.closed_deal_frame(closed_before=closed_before)
    changes = selectors.deal_stage_changes(closed_only=True)
    return training_snapshots(closed, changes, pipeline=list(tenant.stages))


def _label_typicals(frame: pd.DataFrame, *, last_close: pd.Timestamp | None) -> dict[str, Any]:
    """The values a driver's label quotes as "typical" (ModelVersion.typical).

    Time in each stage and the deal's age are compared with what won deals did in the year up
    to the training data's last close: their median days in the stage (stage history) and
    their median winning cycle, the same references as the deal page's stage timeline and the
    alerts. Amount, stage moves, and stages or ages without won deals to go by, use the
    medians of the training snapshots (scoring.drivers.typical_values).
    """
    if not len(frame):
        return {}
    typical = typical_values(frame)
    if last_close is None or pd.isna(last_close):
        return typical
    end = pd.Timestamp(last_close).date() + dt.timedelta(days=1)
    won_stage_days = typical_stage_days(before=end)
    typical["days_in_stage_by_stage"] = {**typical["days_in_stage_by_stage"], **won_stage_days}
    start = end - dt.timedelta(days=TYPICAL_LOOKBACK_DAYS)
    cycle = winning_cycle_days(closed_from=start, closed_before=end).get(())
    if cycle is not None and cycle.n_won:
        typical["age_days"] = float(cycle.median_days)
    return typical


def _artefact_bytes(model: ServingModel | None) -> bytes | None:
    if model is None:
        return None
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return buffer.getvalue()


def _outcome_payload(outcome: TrainingOutcome) -> dict[str, Any]:
    features: list[str] = []
    coefficients: dict[str, Any] = {}
    candidate = outcome.candidate_model
    if isinstance(candidate, WinModel):
        features = candidate.columns()
        coefficients = candidate.coefficients()
    served = outcome.served_model.describe() if outcome.served_model is not None else {}
    return {
        "features": features,
        "coefficients": coefficients,
        "details": {**outcome.details, "served": served},
    }


@transaction.atomic
def model_train(
    *, min_won: int | None = None, min_lost: int | None = None, rescore: bool = True
) -> ModelVersion:
    """Train, backtest and decide promotion for the active tenant; store and activate the version.

    Every run creates a ModelVersion and makes it the active one: it serves the model when the
    model passed the promotion rule, else the best baseline, else (below the minimum of won and
    lost deals, default settings.SCORING_MIN_WON / SCORING_MIN_LOST) nothing. With ``rescore``
    every open deal is then scored by the new version (:func:`deal_scores_refresh`).
    """
    tenant = _tenant()
    frame = training_frame(tenant=tenant)
    outcome = _training_outcome(frame, min_won=min_won, min_lost=min_lost)
    version = _version_of(outcome, frame, trained_at=timezone.now())
    ModelVersion.objects.filter(is_active=True).update(is_active=False)
    version.is_active = True
    version.save()
    logger.info(
        "tenant %s: model version %s serving %s (promoted=%s): %s",
        tenant.slug,
        version.pk,
        version.serving,
        version.promoted,
        version.reason,
    )
    if rescore:
        deal_scores_refresh(trigger="promotion")
    return version


def _training_outcome(frame: pd.DataFrame, *, min_won: int | None, min_lost: int | None) -> TrainingOutcome:
    return training_run(
        frame=frame,
        min_won=settings.SCORING_MIN_WON if min_won is None else min_won,
        min_lost=settings.SCORING_MIN_LOST if min_lost is None else min_lost,
    )


def _version_of(outcome: TrainingOutcome, frame: pd.DataFrame, *, trained_at: dt.datetime) -> ModelVersion:
    """An unsaved, inactive ModelVersion recording ``outcome`` (trained on ``frame``)."""
    payload = _outcome_payload(outcome)
    return ModelVersion(
        trained_at=trained_at,
        window_start=outcome.window_start.date() if outcome.window_start is not None else None,
        window_end=outcome.window_end.date() if outcome.window_end is not None else None,
        n_won=outcome.n_won,
        n_lost=outcome.n_lost,
        features=payload["features"],
        coefficients=payload["coefficients"],
        metrics=outcome.backtest,
        baseline_metrics=dict(outcome.baselines),
        details=payload["details"],
        typical=_label_typicals(frame, last_close=outcome.window_end),
        promoted=outcome.promoted,
        serving=outcome.serving if outcome.serving != NO_DATA else Serving.NONE,
        reason=outcome.reason,
        artefact=_artefact_bytes(outcome.served_model),
    )


# The demo replays half a year of weekly scores (manage.py replay_scores, web.screenshots).
REPLAY_DAYS = 180
REPLAY_EVERY_DAYS = 7


@dataclass(frozen=True)
class ScoreReplay:
    """What :func:`scores_replay` stored: the version, the days it scored, the scores written."""

    version: ModelVersion
    days: list[dt.date]
    written: int


def scores_replay(
    *,
    trained_before: dt.date,
    until: dt.date,
    every_days: int = REPLAY_EVERY_DAYS,
    min_won: int | None = None,
    min_lost: int | None = None,
) -> ScoreReplay:
    """Replay the scores a model trained on ``trained_before`` would have given since.

    Trains and backtests a version on the deals closed before ``trained_before`` only (stored
    inactive, ``trained_at`` that day, ``details["replay"]`` saying it was replayed and when).
    Then, every ``every_days`` days from ``trained_before`` up to ``until`` (exclusive), it
    scores the deals open that day as they looked that day (:func:`scoring.features.open_on`:
    stage replayed from the recorded moves, age and time in stage counted to that day) and
    appends the scores to the history with trigger "replay" and ``scored_at`` that day at
    noon in the tenant's time zone. Current scores, alerts and the serving version are not
    touched. Nothing the version saw closed on or after ``trained_before``, so the score audit
    of the deals that closed later is an honest out-of-time test. The demo uses it so that
    "Were the scores right?" has deals to show; for a live tenant the audit is of its real scores.
    """
    if every_days < 1:
        raise ValueError("every_days must be at least 1.")
    if until <= trained_before:
        raise ValueError("until must be after trained_before.")
    with transaction.atomic():
        return _scores_replay(
            trained_before=trained_before,
            until=until,
            every_days=every_days,
            min_won=min_won,
            min_lost=min_lost,
        )


def _scores_replay(
    *, trained_before: dt.date, until: dt.date, every_days: int, min_won: int | None, min_lost: int | None
) -> ScoreReplay:
    tenant = _tenant()
    frame = training_frame(tenant=tenant, closed_before=trained_before)
    outcome = _training_outcome(frame, min_won=min_won, min_lost=min_lost)
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    version = _version_of(
        outcome, frame, trained_at=dt.datetime.combine(trained_before, dt.time(), tzinfo=zone)
    )
    version.details = {
        **version.details,
        "replay": {
            "replayed_at": timezone.now().isoformat(),
            "until": until.isoformat(),
            "every_days": every_days,
        },
    }
    version.save()
    days = [
        trained_before + dt.timedelta(days=offset)
        for offset in range(0, (until - trained_before).days, every_days)
    ]
    model = outcome.served_model
    if model is None:
        return ScoreReplay(version=version, days=[], written=0)
    deals = selectors.open_between_deal_frame(start=trained_before, end=until)
    changes = selectors.deal_stage_changes()
    pipeline = list(tenant.stages)
    written = 0
    with connection.cursor() as cursor:
        for day in days:
            features = open_on(deals, changes, day=pd.Timestamp(day), pipeline=pipeline)
            if features.empty:
                continue
            decomposition = model.decompose(features.drop(columns="deal_id"))
            probability = decomposition.probability()
            drivers = driver_table(
                groups=decomposition.groups,
                contributions=decomposition.contributions,
                features=features,
                typical=version.typical,
            )
            driver_ids = _driver_id_matrix(cursor, tenant_id=tenant.pk, drivers=drivers)
            scored_at = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
            DealScore.objects.bulk_create(
                [
                    DealScore(
                        tenant_id=tenant.pk,
                        deal_id=int(deal_id),
                        model_version=version,
                        probability=float(p),
                        band=str(band),
                        driver_ids=[int(entry) for entry in entries if entry >= 0],
                        trigger=REPLAY_TRIGGER,
                        scored_at=scored_at,
                    )
                    for deal_id, p, band, entries in zip(
                        features["deal_id"], probability, band_of(probability), driver_ids, strict=True
                    )
                ],
                batch_size=2_000,
            )
            written += len(features)
    logger.info(
        "tenant %s: replayed version %s (%s) over %d days, %d scores",
        tenant.slug,
        version.pk,
        version.serving,
        len(days),
        written,
    )
    return ScoreReplay(version=version, days=days, written=written)


def model_train_and_promote(*, tenant: Tenant) -> dict[str, Any]:
    """Monthly retraining entry point (alerts' schedule): train, promote or not, rescore.

    Returns the summary ``train_models --json`` prints.
    """
    from tenants.context import tenant_context

    with tenant_context(tenant):
        version = model_train()
        return training_summary(version=version)


def training_summary(*, version: ModelVersion) -> dict[str, Any]:
    """The JSON document of ``train_models --json`` for one version."""

    def brief(metrics: dict[str, Any]) -> dict[str, Any]:
        return {key: metrics.get(key) for key in ("roc_auc", "brier", "log_loss", "n", "n_won")} | {
            "reliability": metrics.get("reliability", [])
        }

    return {
        "tenant": version.tenant.slug,
        "model_version": version.number,
        "trained": bool(version.metrics),
        "promoted": version.promoted,
        "serving": version.serving,
        "serving_label": version.serving_label,
        "reason": version.reason,
        "n_won": version.n_won,
        "n_lost": version.n_lost,
        "window": [
            version.window_start.isoformat() if version.window_start else None,
            version.window_end.isoformat() if version.window_end else None,
        ],
        "backtest": brief(version.metrics) if version.metrics else {},
        "baselines": {name: brief(metrics) for name, metrics in version.baseline_metrics.items()},
        "model_vs_base_rate": version.details.get("model_vs_base_rate"),
        "rep_feature": version.details.get("rep_feature"),
        "folds": version.details.get("folds", []),
    }


class Stopwatch:
    """Seconds spent per step of a scoring pass (reported by bench/scoring_bench.py)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(self.laps.get(step, 0.0) + now - self._last, 4)
        self._last = now


@dataclass
class ScoringBatch:
    """What one scoring pass did. ``frame`` (deal_id, crm_id, probability, band) and
    ``drivers`` are kept for exports (score_deals --output)."""

    version: ModelVersion | None
    scored: int
    # History rows appended: every scored deal when deals were named by id, else the changed ones.
    written: int
    removed: int
    trigger: str
    scored_at: dt.datetime
    frame: pd.DataFrame
    drivers: DriverTable | None
    timings_s: dict[str, float] = field(default_factory=dict)


def _lock_tenant_scores(cursor: Any, tenant_id: int) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SCORE_LOCK, tenant_id])


# No savepoint of its own when called inside a transaction (two round trips fewer per single-deal
# rescoring): a failure then rolls back the caller's whole transaction, which is what every
# caller (tasks, model_train, commands) wants anyway.
@transaction.atomic(savepoint=False)
def deal_scores_refresh(
    *,
    deal_ids: Sequence[int] | None = None,
    trigger: str = "batch",
    as_of: dt.date | None = None,
) -> ScoringBatch:
    """Score open deals with the active version and store the scores.

    ``deal_ids`` None scores every open deal; otherwise the open ones among ``deal_ids`` (closed
    or deleted ones lose their current score). ``as_of`` (default: today in the tenant's time
    zone) is the date ages and times in stage are counted to. Appends DealScore rows, upserts
    CurrentScore (keeping the previous probability and band), all in one transaction under a
    per-tenant lock. With no active version, or one that serves nothing, no score is written
    and current scores are removed.
    """
    watch = Stopwatch()
    tenant = _tenant()
    tenant_id = tenant.pk
    scored_at = timezone.now()
    version, model = selectors.serving_version_active()
    watch.lap("load_model")
    with connection.cursor() as cursor:
        # Locked before the deals are read: a pass that read a deal earlier also writes its
        # score earlier, so the last committed score is of the deal's last committed state.
        _lock_tenant_scores(cursor, tenant_id)
        deals = selectors.open_deal_frame(deal_ids=deal_ids)
        watch.lap("read_deals")
        if model is None or version is None:
            removed = _current_remove_all(cursor, tenant_id=tenant_id, deal_ids=deal_ids)
            return ScoringBatch(
                version=version,
                scored=0,
                written=0,
                removed=removed,
                trigger=trigger,
                scored_at=scored_at,
                frame=deals[["deal_id", "crm_id"]].assign(probability=np.nan, band=""),
                drivers=None,
            )
        today = as_of or tenant.today()
        probability, bands, drivers = _deals_score(
            deals, model=model, version=version, tenant=tenant, today=today, watch=watch
        )
        rows = _ScoreRows.of(
            deals,
            probability=probability,
            bands=bands,
            drivers=drivers,
            driver_ids=_driver_id_matrix(cursor, tenant_id=tenant_id, drivers=drivers),
            ranked=_rank_kinds(cursor, tenant_id=tenant_id, probability=probability, full=deal_ids is None),
        )
        watch.lap("driver_entries")
        write = _scores_write_small if len(rows.ids) <= SMALL_BATCH else _scores_write_copy
        written, removed, _ = write(
            cursor,
            rows=rows,
            tenant_id=tenant_id,
            version_id=version.pk,
            deal_ids=deal_ids,
            trigger=trigger,
            scored_at=scored_at,
            watch=watch,
        )
    return ScoringBatch(
        version=version,
        scored=len(rows.ids),
        written=written,
        removed=removed,
        trigger=trigger,
        scored_at=scored_at,
        frame=rows.frame(deals),
        drivers=drivers,
        timings_s=watch.laps,
    )


# A full pass over at least this many open deals runs in chunks (deal_scores_refresh_chunked).
CHUNKED_MIN_DEALS = 100_000


def scoring_workers() -> int:
    """Connections a chunked pass uses at once: settings.SCORING_WORKERS, else one per core (≤ 8)."""
    configured = settings.SCORING_WORKERS
    return max(1, configured) if configured > 0 else max(1, min(8, os.cpu_count() or 1))


def deal_scores_refresh_chunked(
    *,
    trigger: str = "batch",
    as_of: dt.date | None = None,
    workers: int | None = None,
    min_deals: int = CHUNKED_MIN_DEALS,
) -> ScoringBatch:
    """Score every open deal, as :func:`deal_scores_refresh` does, on several connections at once.

    A tenant with fewer than ``min_deals`` open deals (or ``workers`` 1) gets the one-transaction
    pass. Otherwise the open deals are split into ``workers`` id ranges of about equal size, and
    one thread per range, each with its own connection, reads, scores and writes its range. The
    whole pass holds the tenant's score lock (taken here, in the caller's transaction), so
    single-deal rescorings wait for it, as they do for a one-transaction pass.

    What differs from the one-transaction pass: each range commits on its own. Should one fail,
    the others' scores stay and the error is raised; every stored score names the version that
    made it, and a rerun completes the pass (unchanged scores are not rewritten). The workers
    cannot see the caller's uncommitted writes, so call this as the transaction's only work (the
    score_deals task and command do); model_train, which promotes and rescores atomically,
    uses the one-transaction pass.
    """
    watch = Stopwatch()
    tenant = _tenant()
    workers = workers or scoring_workers()
    if workers < 2:
        return deal_scores_refresh(trigger=trigger, as_of=as_of)
    with connection.cursor() as cursor:
        _lock_tenant_scores(cursor, tenant.pk)
    plan = selectors.open_deal_plan(parts=workers)
    version, model = selectors.serving_version_active()
    if plan.count < min_deals or len(plan.ranges) < 2 or model is None or version is None:
        return deal_scores_refresh(trigger=trigger, as_of=as_of)
    watch.lap("plan")
    today = as_of or tenant.today()
    scored_at = timezone.now()
    exchange = _RankExchange(parties=len(plan.ranges))
    with ThreadPoolExecutor(max_workers=len(plan.ranges), thread_name_prefix="scoring-chunk") as pool:
        futures = [
            pool.submit(
                _chunk_score,
                part=part,
                id_range=id_range,
                read_range=plan.read_range(id_range),
                tenant=tenant,
                version=version,
                model=model,
                today=today,
                trigger=trigger,
                scored_at=scored_at,
                exchange=exchange,
            )
            for part, id_range in enumerate(plan.ranges)
        ]
        wait(futures)
    failures = [future.exception() for future in futures if future.exception() is not None]
    if failures:
        # The chunk that failed, rather than one it released from the meeting point.
        raise next(
            (error for error in failures if not isinstance(error, threading.BrokenBarrierError)), failures[0]
        )
    chunks = [future.result() for future in futures]
    watch.lap("chunks")
    if sum(chunk.inserted for chunk in chunks) > _ANALYZE_AFTER_NEW:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_CURRENT}")
    watch.lap("analyze")
    for chunk in chunks:
        # Each step as long as its slowest chunk took (the chunks ran side by side).
        for step, seconds in chunk.timings_s.items():
            watch.laps[step] = max(watch.laps.get(step, 0.0), seconds)
    return ScoringBatch(
        version=version,
        scored=sum(len(chunk.frame) for chunk in chunks),
        written=sum(chunk.written for chunk in chunks),
        removed=sum(chunk.removed for chunk in chunks),
        trigger=trigger,
        scored_at=scored_at,
        frame=pd.concat([chunk.frame for chunk in chunks], ignore_index=True),
        drivers=DriverTable.concat([chunk.drivers for chunk in chunks]),
        timings_s=watch.laps,
    )


class _RankExchange:
    """Where the chunks of a pass meet once: each hands in its probabilities and gets back its
    deals' rank kinds by the thresholds of the whole pass (``_rank_thresholds``)."""

    def __init__(self, parties: int) -> None:
        self._probabilities: list[np.ndarray] = [np.empty(0)] * parties
        self._thresholds = (np.inf, np.inf)
        self._barrier = threading.Barrier(parties, action=self._decide)

    def _decide(self) -> None:
        self._thresholds = _rank_thresholds(np.concatenate(self._probabilities))

    def kinds(self, part: int, probability: np.ndarray) -> np.ndarray:
        self._probabilities[part] = probability
        self._barrier.wait()
        return _kinds_within(probability, self._thresholds)

    def abort(self) -> None:
        """Release the other chunks (with BrokenBarrierError) when one cannot go on."""
        self._barrier.abort()


@dataclass
class _Chunk:
    frame: pd.DataFrame
    drivers: DriverTable
    written: int
    removed: int
    inserted: int
    timings_s: dict[str, float]


def _chunk_score(
    *,
    part: int,
    id_range: selectors.IdRange,
    read_range: selectors.IdRange,
    tenant: Tenant,
    version: ModelVersion,
    model: ServingModel,
    today: dt.date,
    trigger: str,
    scored_at: dt.datetime,
    exchange: _RankExchange,
) -> _Chunk:
    """One chunk of a chunked pass, on this thread's own connection, in two transactions.

    The first reads and scores the deals and creates their new DriverEntry rows (committed
    before the chunks meet, so no chunk waits on another's uncommitted entry); the second
    writes the scores. The tenant's score lock, held by the pass, spans both.
    """
    watch = Stopwatch()
    try:
        with tenant_context(tenant), connection.cursor() as cursor:
            deals = selectors.open_deal_frame(id_range=read_range)
            watch.lap("read_deals")
            probability, bands, drivers = _deals_score(
                deals, model=model, version=version, tenant=tenant, today=today, watch=watch
            )
            driver_ids = _driver_id_matrix(cursor, tenant_id=tenant.pk, drivers=drivers)
            watch.lap("driver_entries")
        ranked = exchange.kinds(part, probability)
        watch.lap("wait")
        rows = _ScoreRows.of(
            deals, probability=probability, bands=bands, drivers=drivers, driver_ids=driver_ids, ranked=ranked
        )
        with tenant_context(tenant), connection.cursor() as cursor:
            # The COPY path whatever the chunk's size: it keeps to the chunk's id range.
            written, removed, inserted = _scores_write_copy(
                cursor,
                rows=rows,
                tenant_id=tenant.pk,
                version_id=version.pk,
                deal_ids=None,
                trigger=trigger,
                scored_at=scored_at,
                watch=watch,
                id_range=id_range,
                analyze=False,
            )
    except BaseException:
        exchange.abort()
        raise
    finally:
        connection.close()
    return _Chunk(
        frame=rows.frame(deals),
        drivers=drivers,
        written=written,
        removed=removed,
        inserted=inserted,
        timings_s=watch.laps,
    )


def _deals_score(
    deals: pd.DataFrame,
    *,
    model: ServingModel,
    version: ModelVersion,
    tenant: Tenant,
    today: dt.date,
    watch: Stopwatch,
) -> tuple[np.ndarray, np.ndarray, DriverTable]:
    """(probability, band, drivers) of each deal of the frame, as of ``today``."""
    features = features_as_of(deals, as_of=pd.Timestamp(today), pipeline=list(tenant.stages))
    decomposition = model.decompose(features)
    probability = decomposition.probability()
    bands = band_of(probability)
    watch.lap("predict")
    drivers = driver_table(
        groups=decomposition.groups,
        contributions=decomposition.contributions,
        features=features,
        typical=version.typical,
    )
    watch.lap("drivers")
    return probability, bands, drivers


_CURRENT = CurrentScore._meta.db_table
_SCORES = DealScore._meta.db_table
_ENTRIES = DriverEntry._meta.db_table
_BANDS = tuple(name for name, _ in BAND_CUTOFFS)
# Past this many current scores inserted in one pass (a tenant's first), the table is analysed
# before commit: statistics that do not know the tenant's rows would plan the next pass's
# joins with them as nested loops. Analysing samples at most 30,000 rows, whatever the size.
_ANALYZE_AFTER_NEW = 1_000


@dataclass(frozen=True)
class _ScoreRows:
    """One pass's scores, column by column (deal id order)."""

    ids: np.ndarray  # int64
    amount_cents: np.ndarray  # int64, the deal's exact amount × 100
    probability: np.ndarray  # float64
    bands: np.ndarray  # band names
    drivers: DriverTable
    # (n, 6) int32: DriverEntry id per deal and driver slot, -1 where the slot is empty.
    driver_ids: np.ndarray
    # int8: _RISKIEST (CurrentScore.risk_rank set), _SAFEST (safe_rank set) or _UNRANKED.
    ranked: np.ndarray

    @classmethod
    def of(cls, deals: pd.DataFrame, **scores: Any) -> _ScoreRows:
        """The rows of ``deals`` (a deal frame) with their ``scores`` (the other fields)."""
        return cls(
            ids=deals["deal_id"].to_numpy(dtype="int64"),
            amount_cents=deals["amount_cents"].to_numpy(dtype="int64"),
            **scores,
        )

    def frame(self, deals: pd.DataFrame) -> pd.DataFrame:
        """deal_id, crm_id, probability, band: what ScoringBatch keeps for exports."""
        return pd.DataFrame(
            {
                "deal_id": self.ids,
                "crm_id": deals["crm_id"].to_numpy(),
                "probability": self.probability,
                "band": self.bands,
            }
        )


def _rank_kinds(cursor: Any, *, tenant_id: int, probability: np.ndarray, full: bool) -> np.ndarray:
    """Which of the scored deals get a risk rank, a safe rank or neither (CurrentScore).

    A full pass ranks the RISK_RANKED lowest probabilities as riskiest (every deal of a smaller
    tenant), then the RISK_RANKED highest of the others as safest (ties included both ways). A
    pass over some deals ranks as riskiest those at or below the highest risk rank held now, and
    as safest those at or above the lowest safe rank, so every risk-ranked probability stays at
    or below every unranked one, and every unranked one at or below every safe-ranked one; the
    ranked sets may shrink or grow a little until the next full pass resets them.
    """
    if full:
        return _kinds_within(probability, _rank_thresholds(probability))
    kinds = np.full(len(probability), _UNRANKED, dtype="int8")
    # Two subqueries, each read from the end of its own partial index.
    cursor.execute(
        f"""
        SELECT (SELECT max(risk_rank) FROM {_CURRENT} WHERE tenant_id = %(tenant)s AND risk_rank IS NOT NULL),
               (SELECT min(safe_rank) FROM {_CURRENT} WHERE tenant_id = %(tenant)s AND safe_rank IS NOT NULL)
        """,
        {"tenant": tenant_id},
    )
    highest_risk, lowest_safe = cursor.fetchone()
    if lowest_safe is not None:
        kinds[probability >= lowest_safe] = _SAFEST
    if highest_risk is not None:
        kinds[probability <= highest_risk] = _RISKIEST
    return kinds


def _rank_thresholds(probability: np.ndarray) -> tuple[float, float]:
    """(highest risk-ranked, lowest safe-ranked) probability of a full pass over ``probability``.

    The RISK_RANKED lowest are riskiest (every deal of a smaller tenant; ties included), and the
    RISK_RANKED highest of the others safest (all of them when fewer are left).
    """
    if len(probability) <= RISK_RANKED:
        return np.inf, np.inf
    highest_risk = float(np.partition(probability, RISK_RANKED - 1)[RISK_RANKED - 1])
    rest = probability[probability > highest_risk]
    if len(rest) <= RISK_RANKED:
        return highest_risk, -np.inf
    return highest_risk, float(np.partition(rest, len(rest) - RISK_RANKED)[len(rest) - RISK_RANKED])


def _kinds_within(probability: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """_RISKIEST, _SAFEST or _UNRANKED per probability, by a full pass's ``_rank_thresholds``."""
    highest_risk, lowest_safe = thresholds
    riskiest = probability <= highest_risk
    kinds = np.full(len(probability), _UNRANKED, dtype="int8")
    kinds[riskiest] = _RISKIEST
    kinds[~riskiest & (probability >= lowest_safe)] = _SAFEST
    return kinds


def driver_entry_ids(cursor: Any, *, tenant_id: int, entries: Sequence[dict[str, Any]]) -> list[int]:
    """The DriverEntry id of each ``{"feature", "label", "value"}``, in order; new ones are created.

    One query when every entry exists already (a tenant's usual pass), two more otherwise.
    Entries are only ever added, so an id read here stays valid.
    """
    if not entries:
        return []
    keys = [(str(entry["feature"]), str(entry["label"]), float(entry["value"])) for entry in entries]
    columns = [list(column) for column in zip(*keys, strict=True)]
    query = f"""
        SELECT e.feature, e.label, e.value, e.id
        FROM unnest(%s::text[], %s::text[], %s::float8[]) AS k (feature, label, value)
        JOIN {_ENTRIES} e ON e.tenant_id = %s AND e.feature = k.feature AND e.label = k.label
                         AND e.value = k.value
    """
    cursor.execute(query, [*columns, tenant_id])
    found = {(feature, label, value): pk for feature, label, value, pk in cursor.fetchall()}
    # Sorted, and inserted in that order: two chunks of a pass adding some of the same entries
    # then wait for each other in one order, never in a cycle (a deadlock otherwise).
    missing = sorted(key for key in dict.fromkeys(keys) if key not in found)
    if missing:
        cursor.execute(
            f"""
            INSERT INTO {_ENTRIES} (tenant_id, feature, label, value)
            SELECT %s, k.feature, k.label, k.value
            FROM unnest(%s::text[], %s::text[], %s::float8[]) WITH ORDINALITY
                AS k (feature, label, value, position)
            ORDER BY k.position
            ON CONFLICT DO NOTHING
            """,
            [tenant_id, *[list(column) for column in zip(*missing, strict=True)]],
        )
        # Read back in a new statement: it also sees entries a concurrent writer committed.
        cursor.execute(query, [*[list(column) for column in zip(*missing, strict=True)], tenant_id])
        found.update({(feature, label, value): pk for feature, label, value, pk in cursor.fetchall()})
    return [found[key] for key in keys]


def _driver_id_matrix(cursor: Any, *, tenant_id: int, drivers: DriverTable) -> np.ndarray:
    """``drivers.codes`` with each code replaced by its DriverEntry id (-1 stays -1)."""
    entry_ids = driver_entry_ids(cursor, tenant_id=tenant_id, entries=drivers.entries)
    return np.asarray([-1, *entry_ids], dtype="int32")[drivers.codes.astype("int64") + 1]


def _scores_write_small(
    cursor: Any,
    *,
    rows: _ScoreRows,
    tenant_id: int,
    version_id: int,
    deal_ids: Sequence[int] | None,
    trigger: str,
    scored_at: dt.datetime,
    watch: Stopwatch,
) -> tuple[int, int, int]:
    """A few deals (the event-driven path): one statement appends the history rows and upserts
    the current scores. Returns (history rows written, stale current scores removed, 0).

    Deals named by id were rescored because something happened to them, so each gets a history
    row even when its score did not move; a full pass of a small tenant writes changes only,
    like the COPY path.
    """
    n = len(rows.ids)
    removed = 0
    # Only a full pass, or ids not all open, can leave current scores of deals not scored.
    if deal_ids is None or n < len(set(deal_ids)):
        removed = _current_remove_unscored(cursor, tenant_id=tenant_id, deal_ids=deal_ids, scored=rows.ids)
    if n == 0:
        watch.lap("write")
        return 0, removed, 0
    only_changes = deal_ids is None
    digests = rows.drivers.digests()
    slots = rows.driver_ids.shape[1]
    driver_arrays = ", ".join(f"%(d{slot})s::int[]" for slot in range(slots))
    driver_columns = ", ".join(f"d{slot}" for slot in range(slots))
    cursor.execute(
        f"""
        WITH new AS (
            SELECT n.*, (%(bands)s::text[])[n.band + 1] AS band_name
            FROM unnest(%(ids)s::bigint[], %(cents)s::bigint[], %(p)s::float8[], %(band)s::int[],
                        %(digest)s::bigint[], %(ranked)s::smallint[], {driver_arrays})
                 AS n (deal_id, amount_cents, probability, band, digest, ranked, {driver_columns})
        ),
        diff AS (
            SELECT new.*, {_changed_sql("new", only_changes)} AS changed
            FROM new LEFT JOIN {_CURRENT} c ON c.tenant_id = %(tenant)s AND c.deal_id = new.deal_id
        ),
        inserted AS (
            INSERT INTO {_SCORES}
                (tenant_id, deal_id, model_version_id, probability, band, driver_ids, trigger, scored_at)
            SELECT %(tenant)s, deal_id, %(version)s, probability, band_name, {_driver_array("diff", slots)},
                   %(trigger)s, %(at)s
            FROM diff WHERE changed
            RETURNING id, deal_id
        )
        INSERT INTO {_CURRENT}
            (tenant_id, deal_id, score_id, model_version_id, probability, band, drivers_digest, amount,
             previous_band, scored_at, risk_rank, safe_rank)
        SELECT %(tenant)s, d.deal_id, i.id, %(version)s, d.probability, d.band_name, d.digest,
               d.amount_cents::numeric / 100, '', %(at)s, {_rank_values_sql("d", "d")}
        FROM diff d JOIN inserted i ON i.deal_id = d.deal_id
        ON CONFLICT (tenant_id, deal_id) DO UPDATE SET
            score_id = EXCLUDED.score_id,
            model_version_id = EXCLUDED.model_version_id,
            previous_probability = {_CURRENT}.probability,
            previous_band = {_CURRENT}.band,
            probability = EXCLUDED.probability,
            band = EXCLUDED.band,
            drivers_digest = EXCLUDED.drivers_digest,
            amount = EXCLUDED.amount,
            scored_at = EXCLUDED.scored_at,
            risk_rank = EXCLUDED.risk_rank,
            safe_rank = EXCLUDED.safe_rank
        """,
        {
            "ids": rows.ids.tolist(),
            "cents": rows.amount_cents.tolist(),
            "p": rows.probability.tolist(),
            "band": pd.Index(_BANDS).get_indexer(rows.bands).tolist(),
            "digest": digests.tolist(),
            "ranked": rows.ranked.tolist(),
            **{f"d{slot}": rows.driver_ids[:, slot].tolist() for slot in range(slots)},
            "bands": list(_BANDS),
            "tenant": tenant_id,
            "version": version_id,
            "trigger": trigger,
            "at": scored_at,
        },
    )
    written = cursor.rowcount
    if only_changes:
        # Unchanged scores whose amount alone moved (a feature the served model may ignore), or
        # that enter or leave a ranked set (its threshold moved).
        cursor.execute(
            f"""
            UPDATE {_CURRENT} c SET amount = n.cents::numeric / 100, {_ranks_set_sql("n", "c")}
            FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[]) AS n (deal_id, cents, ranked)
            WHERE c.tenant_id = %s AND c.deal_id = n.deal_id
              AND (c.amount * 100 <> n.cents OR {_ranks_moved_sql("n")})
            """,
            [rows.ids.tolist(), rows.amount_cents.tolist(), rows.ranked.tolist(), tenant_id],
        )
    watch.lap("write")
    return written, removed, 0


def _rank_values(new: str, source: str) -> tuple[str, str]:
    """SQL values of risk_rank and safe_rank: ``source.probability`` where ``new.ranked`` says."""
    return (
        f"CASE WHEN {new}.ranked = {_RISKIEST} THEN {source}.probability END",
        f"CASE WHEN {new}.ranked = {_SAFEST} THEN {source}.probability END",
    )


def _rank_values_sql(new: str, source: str) -> str:
    """SQL: the values of risk_rank, safe_rank (in that order), for an INSERT's select list."""
    return ", ".join(_rank_values(new, source))


def _ranks_set_sql(new: str, source: str) -> str:
    """SQL SET items: risk_rank and safe_rank from ``new.ranked``, valued ``source.probability``."""
    risk, safe = _rank_values(new, source)
    return f"risk_rank = {risk}, safe_rank = {safe}"


def _ranks_moved_sql(new: str) -> str:
    """SQL condition: the current score ``c`` is ranked otherwise than ``new.ranked`` says."""
    return (
        f"((c.risk_rank IS NOT NULL) <> ({new}.ranked = {_RISKIEST}) "
        f"OR (c.safe_rank IS NOT NULL) <> ({new}.ranked = {_SAFEST}))"
    )


def _driver_array(table: str, slots: int) -> str:
    """SQL: the non-empty driver slots ``d0``… of ``table`` as an int[] of DriverEntry ids."""
    return f"array_remove(ARRAY[{', '.join(f'{table}.d{slot}' for slot in range(slots))}]::int[], -1)"


def _changed_sql(new: str, only_changes: bool) -> str:
    """SQL condition: the new score differs from the current one (or there is none)."""
    if not only_changes:
        return "true"
    return f"""(c.deal_id IS NULL OR c.model_version_id <> %(version)s
        OR c.probability <> {new}.probability OR c.drivers_digest <> {new}.digest)"""


_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"


def _binary_copy_rows(rows: _ScoreRows) -> bytes:
    """PostgreSQL binary COPY rows (int8 id, int8 cents, float8, int2 band, int8 digest, int2
    ranked, 6 × int4 DriverEntry ids) built as one numpy record array.

    Fixed-width columns only, so no per-row Python work: a million rows take a few milliseconds.
    """
    codes = rows.driver_ids
    slots = codes.shape[1]
    fields = [("count", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_cents", ">i4"), ("cents", ">i8")]
    fields += [("l_p", ">i4"), ("p", ">f8"), ("l_band", ">i4"), ("band", ">i2")]
    fields += [("l_digest", ">i4"), ("digest", ">i8"), ("l_ranked", ">i4"), ("ranked", ">i2")]
    for slot in range(slots):
        fields += [(f"l_d{slot}", ">i4"), (f"d{slot}", ">i4")]
    out = np.empty(len(rows.ids), dtype=np.dtype(fields))
    out["count"] = 6 + slots
    out["l_id"], out["id"] = 8, rows.ids
    out["l_cents"], out["cents"] = 8, rows.amount_cents
    out["l_p"], out["p"] = 8, rows.probability
    out["l_band"], out["band"] = 2, pd.Index(_BANDS).get_indexer(rows.bands)
    out["l_digest"], out["digest"] = 8, rows.drivers.digests()
    out["l_ranked"], out["ranked"] = 2, rows.ranked
    for slot in range(slots):
        out[f"l_d{slot}"], out[f"d{slot}"] = 4, codes[:, slot]
    return _PGCOPY_HEADER + out.tobytes() + _PGCOPY_TRAILER


def _scores_write_copy(
    cursor: Any,
    *,
    rows: _ScoreRows,
    tenant_id: int,
    version_id: int,
    deal_ids: Sequence[int] | None,
    trigger: str,
    scored_at: dt.datetime,
    watch: Stopwatch,
    id_range: selectors.IdRange = (None, None),
    analyze: bool = True,
) -> tuple[int, int, int]:
    """Many deals: binary COPY of the numbers into a temporary table, then set-based writes.

    Returns (history rows written, stale current scores removed, current scores inserted).

    1. The scores (fixed-width, with six DriverEntry ids per deal) go into a temporary table
       (COPY FROM is refused under RLS).
    2. One hash join with the current scores keeps the deals whose score changed (or, for deals
       named by id, all of them) and those whose amount alone moved; each changed score draws
       its history id from the history's sequence here, so no RETURNING is carried around.
    3. The history gets the changed scores (their driver ids as one int[]); the current
       scores are updated in place (previous probability and band kept from the row being
       replaced) and inserted for deals scored for the first time.
    4. On a full pass, current scores of deals not scored (closed or deleted since) go.

    A full pass over one chunk of the deals (``id_range``) compares with, and removes, only the
    current scores of deals in that range. ``analyze`` False leaves the statistics of the
    current scores to the caller (concurrent chunks would queue on each other's ANALYZE).
    """
    only_changes = deal_ids is None
    slots = rows.driver_ids.shape[1]
    driver_columns = ", ".join(f"d{slot} integer" for slot in range(slots))
    cursor.execute(
        "CREATE TEMP TABLE scoring_batch (deal_id bigint, amount_cents bigint, probability float8, "
        f"band smallint, digest bigint, ranked smallint, {driver_columns}) ON COMMIT DROP"
    )
    payload = _binary_copy_rows(rows)
    watch.lap("format_copy")
    with cursor.copy("COPY scoring_batch FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
    cursor.execute("ANALYZE scoring_batch")
    watch.lap("copy")
    params = {
        "tenant": tenant_id,
        "version": version_id,
        "trigger": trigger,
        "at": scored_at,
        "bands": list(_BANDS),
        "after": id_range[0],
        "through": id_range[1],
    }
    changed = _changed_sql("b", only_changes)
    names = ("amount_cents", "probability", "band", "digest", "ranked", *(f"d{i}" for i in range(slots)))
    batch_columns = ", ".join(f"b.{name}" for name in names)
    # A full pass also finds the current scores of deals no longer open: a FULL JOIN, which
    # PostgreSQL can only run as a hash or merge join. (A NOT EXISTS anti-join planned from
    # stale statistics — the current scores inserted moments ago by this very transaction — ran
    # as a nested loop over a million rows for minutes.)
    join = "FULL JOIN" if deal_ids is None else "LEFT JOIN"
    cursor.execute(
        f"""
        CREATE TEMP TABLE scoring_diff ON COMMIT DROP AS
        SELECT COALESCE(b.deal_id, c.deal_id) AS deal_id, {batch_columns},
               c.deal_id IS NULL AS is_new, b.deal_id IS NULL AS stale,
               CASE WHEN b.deal_id IS NOT NULL AND {changed} THEN nextval(%(sequence)s::regclass) END
                   AS score_id
        FROM scoring_batch b {join} (
            SELECT deal_id, model_version_id, probability, drivers_digest, amount, risk_rank, safe_rank
            FROM {_CURRENT} WHERE tenant_id = %(tenant)s {selectors.id_range_sql(id_range, "deal_id")}
        ) c ON c.deal_id = b.deal_id
        WHERE b.deal_id IS NULL OR {changed} OR c.amount * 100 <> b.amount_cents
           OR {_ranks_moved_sql("b")}
        """,
        {**params, "sequence": _history_sequence(cursor)},
    )
    cursor.execute("ANALYZE scoring_diff")
    watch.lap("diff")
    cursor.execute(
        f"""
        INSERT INTO {_SCORES}
            (id, tenant_id, deal_id, model_version_id, probability, band, driver_ids, trigger, scored_at)
        SELECT b.score_id, %(tenant)s, b.deal_id, %(version)s, b.probability, (%(bands)s::text[])[b.band + 1],
               {_driver_array("b", slots)}, %(trigger)s, %(at)s
        FROM scoring_diff b
        WHERE b.score_id IS NOT NULL
        """,
        params,
    )
    written = cursor.rowcount
    watch.lap("insert_history")
    cursor.execute(
        f"""
        UPDATE {_CURRENT} c SET
            score_id = COALESCE(b.score_id, c.score_id),
            model_version_id = CASE WHEN b.score_id IS NULL THEN c.model_version_id ELSE %(version)s END,
            previous_probability = CASE WHEN b.score_id IS NULL THEN c.previous_probability
                                        ELSE c.probability END,
            previous_band = CASE WHEN b.score_id IS NULL THEN c.previous_band ELSE c.band END,
            probability = b.probability,
            band = (%(bands)s::text[])[b.band + 1],
            drivers_digest = b.digest,
            amount = b.amount_cents::numeric / 100,
            scored_at = CASE WHEN b.score_id IS NULL THEN c.scored_at ELSE %(at)s END,
            {_ranks_set_sql("b", "b")}
        FROM scoring_diff b
        WHERE c.tenant_id = %(tenant)s AND c.deal_id = b.deal_id AND NOT b.is_new AND NOT b.stale
              {selectors.id_range_sql(id_range, "c.deal_id")}
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO {_CURRENT}
            (tenant_id, deal_id, score_id, model_version_id, probability, band, drivers_digest, amount,
             previous_probability, previous_band, scored_at, risk_rank, safe_rank)
        SELECT %(tenant)s, b.deal_id, b.score_id, %(version)s, b.probability, (%(bands)s::text[])[b.band + 1],
               b.digest, b.amount_cents::numeric / 100, NULL, '', %(at)s, {_rank_values_sql("b", "b")}
        FROM scoring_diff b WHERE b.is_new
        """,
        params,
    )
    inserted = cursor.rowcount
    if analyze and inserted > _ANALYZE_AFTER_NEW:
        cursor.execute(f"ANALYZE {_CURRENT}")
    watch.lap("write_current")
    removed = 0
    if deal_ids is None:
        # The stale ids are read once (an InitPlan), then looked up by primary key. A join with
        # scoring_diff here was planned from the current scores' statistics, which may not know
        # the tenant's rows yet (a new tenant among others): a nested loop scanning scoring_diff
        # once per current score, 9 s for 10,000 deals, that grows with the square of them.
        cursor.execute(
            f"""
            DELETE FROM {_CURRENT}
            WHERE tenant_id = %s AND deal_id = ANY(ARRAY(SELECT deal_id FROM scoring_diff WHERE stale))
            """,
            [tenant_id],
        )
        removed = cursor.rowcount
    elif len(rows.ids) < len(set(deal_ids)):
        removed = _current_remove_unscored(cursor, tenant_id=tenant_id, deal_ids=deal_ids, scored=rows.ids)
    watch.lap("remove_stale")
    # Dropped now (not only at commit) so a second pass in the same transaction can recreate them.
    for table in ("scoring_batch", "scoring_diff"):
        cursor.execute(f"DROP TABLE {table}")
    return written, removed, inserted


def _history_sequence(cursor: Any) -> str:
    """The sequence behind DealScore ids (history ids are drawn before the rows are inserted)."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_SCORES])
    return cursor.fetchone()[0]


def _current_remove_unscored(
    cursor: Any, *, tenant_id: int, deal_ids: Sequence[int] | None, scored: np.ndarray
) -> int:
    """Drop the current scores of deals in scope (all, or ``deal_ids``) not among ``scored``:
    deals closed or deleted since. Used by small passes; the COPY path anti-joins its table."""
    scope = "" if deal_ids is None else "AND deal_id = ANY(%(scope)s)"
    cursor.execute(
        f"DELETE FROM {_CURRENT} WHERE tenant_id = %(tenant)s {scope} AND deal_id <> ALL(%(scored)s)",
        {"tenant": tenant_id, "scope": list(deal_ids or []), "scored": scored.tolist()},
    )
    return cursor.rowcount


def _current_remove_all(cursor: Any, *, tenant_id: int, deal_ids: Sequence[int] | None) -> int:
    """Drop current scores (all, or those of ``deal_ids``): nothing serves the tenant."""
    if deal_ids is None:
        cursor.execute(f"DELETE FROM {_CURRENT} WHERE tenant_id = %s", [tenant_id])
    else:
        cursor.execute(
            f"DELETE FROM {_CURRENT} WHERE tenant_id = %s AND deal_id = ANY(%s)", [tenant_id, list(deal_ids)]
        )
    return cursor.rowcount


# The longest recommended action a tenant may store (it is shown on the deal page and in exports).
NEXT_ACTION_MAX_LENGTH = 300


def next_action_rule_set(
    *,
    feature: str,
    action: str,
    direction: str = DriverDirection.NEGATIVE,
    enabled: bool = True,
    user: Any = None,
) -> NextActionRule:
    """Create or replace the tenant's rule for (feature, direction). Admin-only in the UI.

    Raises ValidationError, writing nothing, for a feature that is not a driver, a direction
    that is not one, an enabled rule without words, or words over NEXT_ACTION_MAX_LENGTH.
    Changes are recorded in the audit log (salesintel.audit).
    """
    text = action.strip()
    if feature not in FEATURE_NAMES:
        raise ValidationError(f"“{feature}” is not a driver; known: {', '.join(sorted(FEATURE_NAMES))}.")
    if direction not in DriverDirection.values:
        raise ValidationError(f"Direction must be one of {', '.join(DriverDirection.values)}.")
    if enabled and not text:
        raise ValidationError("Write the action, or switch the recommendation off.")
    if len(text) > NEXT_ACTION_MAX_LENGTH:
        raise ValidationError(
            f"Keep the action to {NEXT_ACTION_MAX_LENGTH} characters (this one has {len(text)})."
        )
    rule, _ = NextActionRule.objects.update_or_create(
        feature=feature,
        direction=direction,
        defaults={"action": text, "enabled": enabled, "updated_by": user},
    )
    return rule


def next_action_rule_delete(*, feature: str, direction: str = DriverDirection.NEGATIVE) -> None:
    """Remove the tenant's rule so the default applies again (recorded in the audit log)."""
    NextActionRule.objects.filter(feature=feature, direction=direction).delete()
