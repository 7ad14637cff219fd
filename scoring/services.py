"""Writes for scoring: train and promote, score deals in batch, edit next-action rules.

Every function runs inside the active tenant's context (``tenants.context.tenant_context``).

Batch scoring is vectorised end to end: one SQL read of the deals, one ``decompose`` over all
of them, drivers labelled per unique combination, then one ``COPY`` into a temporary table and
set-based statements into the score history and the current scores. PostgreSQL refuses
``COPY FROM`` into tables under row-level security, hence the temporary table (which has none).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import joblib
import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from scoring import selectors
from scoring.backtest import NO_DATA, TrainingOutcome, training_run
from scoring.drivers import BAND_CUTOFFS, DriverTable, band_of, driver_table, typical_values
from scoring.features import features_as_of, training_snapshots
from scoring.model import ServingModel, WinModel
from scoring.models import CurrentScore, DealScore, DriverDirection, ModelVersion, NextActionRule, Serving
from tenants.context import require_tenant_id
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# Batches up to this size are written with ordinary multi-row INSERTs (no temporary table).
SMALL_BATCH = 500
# Lock key (with the tenant id) serialising score writes of one tenant.
_SCORE_LOCK = 74_100_401


def _tenant() -> Tenant:
    return Tenant.objects.get(pk=require_tenant_id())


def _tenant_today(tenant: Tenant) -> dt.date:
    import zoneinfo

    return dt.datetime.now(zoneinfo.ZoneInfo(tenant.timezone)).date()


def training_frame(*, tenant: Tenant, closed_before: dt.date | None = None) -> pd.DataFrame:
    """Closed deals as they looked while open (scoring.features.training_snapshots)."""
    closed = selectors.closed_deal_frame(closed_before=closed_before)
    changes = selectors.closed_deal_stage_changes()
    return training_snapshots(closed, changes, pipeline=list(tenant.stages))


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
    outcome = training_run(
        frame=frame,
        min_won=settings.SCORING_MIN_WON if min_won is None else min_won,
        min_lost=settings.SCORING_MIN_LOST if min_lost is None else min_lost,
    )
    payload = _outcome_payload(outcome)
    baselines = dict(outcome.baselines)
    version = ModelVersion(
        trained_at=timezone.now(),
        window_start=outcome.window_start.date() if outcome.window_start is not None else None,
        window_end=outcome.window_end.date() if outcome.window_end is not None else None,
        n_won=outcome.n_won,
        n_lost=outcome.n_lost,
        features=payload["features"],
        coefficients=payload["coefficients"],
        metrics=outcome.backtest,
        baseline_metrics=baselines,
        details=payload["details"],
        typical=typical_values(frame) if len(frame) else {},
        promoted=outcome.promoted,
        serving=outcome.serving if outcome.serving != NO_DATA else Serving.NONE,
        reason=outcome.reason,
        artefact=_artefact_bytes(outcome.served_model),
    )
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
        "model_version": version.pk,
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
    removed: int
    trigger: str
    scored_at: dt.datetime
    frame: pd.DataFrame
    drivers: DriverTable | None
    timings_s: dict[str, float] = field(default_factory=dict)


def _lock_tenant_scores(cursor: Any, tenant_id: int) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SCORE_LOCK, tenant_id])


@transaction.atomic
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
    version = selectors.model_version_active()
    model = selectors.serving_model_load(version=version) if version is not None else None
    watch.lap("load_model")
    with connection.cursor() as cursor:
        # Locked before the deals are read: a pass that read a deal earlier also writes its
        # score earlier, so the last committed score is of the deal's last committed state.
        _lock_tenant_scores(cursor, tenant_id)
        deals = selectors.open_deal_frame(deal_ids=deal_ids)
        watch.lap("read_deals")
        if model is None or version is None:
            removed = _current_remove(cursor, tenant_id=tenant_id, deal_ids=deal_ids, keep_open=False)
            return ScoringBatch(
                version=version,
                scored=0,
                removed=removed,
                trigger=trigger,
                scored_at=scored_at,
                frame=deals[["deal_id", "crm_id"]].assign(probability=np.nan, band=""),
                drivers=None,
            )
        today = as_of or _tenant_today(tenant)
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
        ids = deals["deal_id"].to_numpy(dtype="int64")
        amount_cents = deals["amount_cents"].to_numpy(dtype="int64")
        if len(ids) <= SMALL_BATCH:
            _scores_insert_small(
                cursor,
                tenant_id=tenant_id,
                version_id=version.pk,
                ids=ids,
                amount_cents=amount_cents,
                probability=probability,
                bands=bands,
                drivers=drivers,
                trigger=trigger,
                scored_at=scored_at,
            )
            watch.lap("write")
        else:
            _scores_insert_copy(
                cursor,
                tenant_id=tenant_id,
                version_id=version.pk,
                ids=ids,
                amount_cents=amount_cents,
                probability=probability,
                bands=bands,
                drivers=drivers,
                trigger=trigger,
                scored_at=scored_at,
                full_pass=deal_ids is None,
                watch=watch,
            )
        removed = 0
        # Only a full pass, or ids that were not all open, can leave stale current scores.
        if deal_ids is None or len(ids) < len(set(deal_ids)):
            removed = _current_remove(
                cursor, tenant_id=tenant_id, deal_ids=deal_ids, keep_open=True, scored_at=scored_at
            )
        watch.lap("remove_stale")
    frame = pd.DataFrame(
        {"deal_id": ids, "crm_id": deals["crm_id"].to_numpy(), "probability": probability, "band": bands}
    )
    return ScoringBatch(
        version=version,
        scored=len(ids),
        removed=removed,
        trigger=trigger,
        scored_at=scored_at,
        frame=frame,
        drivers=drivers,
        timings_s=watch.laps,
    )


_CURRENT = CurrentScore._meta.db_table
_SCORES = DealScore._meta.db_table

_CURRENT_UPSERT_SET = f"""
    score_id = EXCLUDED.score_id,
    model_version_id = EXCLUDED.model_version_id,
    previous_probability = {_CURRENT}.probability,
    previous_band = {_CURRENT}.band,
    probability = EXCLUDED.probability,
    band = EXCLUDED.band,
    amount = EXCLUDED.amount,
    scored_at = EXCLUDED.scored_at
"""


def _scores_insert_small(
    cursor: Any,
    *,
    tenant_id: int,
    version_id: int,
    ids: np.ndarray,
    amount_cents: np.ndarray,
    probability: np.ndarray,
    bands: np.ndarray,
    drivers: DriverTable,
    trigger: str,
    scored_at: dt.datetime,
) -> None:
    """A few deals: one multi-row INSERT … RETURNING into the history, one upsert of current."""
    if len(ids) == 0:
        return
    rows = list(zip(ids.tolist(), probability.tolist(), bands.tolist(), drivers.json_rows(), strict=True))
    values = ", ".join(["(%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"] * len(rows))
    params: list[Any] = []
    for deal_id, p, band, driver_json in rows:
        params += [tenant_id, deal_id, version_id, p, band, driver_json, trigger, scored_at]
    amounts = [Decimal(cents).scaleb(-2) for cents in amount_cents.tolist()]
    cursor.execute(
        f"""
        WITH inserted AS (
            INSERT INTO {_SCORES}
                (tenant_id, deal_id, model_version_id, probability, band, drivers, trigger, scored_at)
            VALUES {values}
            RETURNING id, deal_id, probability, band
        )
        INSERT INTO {_CURRENT}
            (tenant_id, deal_id, score_id, model_version_id, probability, band, amount,
             previous_band, scored_at)
        SELECT %s, i.deal_id, i.id, %s, i.probability, i.band, a.amount, '', %s
        FROM inserted i JOIN unnest(%s::bigint[], %s::numeric[]) AS a (deal_id, amount)
            ON a.deal_id = i.deal_id
        ON CONFLICT (tenant_id, deal_id) DO UPDATE SET {_CURRENT_UPSERT_SET}
        """,
        [*params, tenant_id, version_id, scored_at, ids.tolist(), amounts],
    )


_BANDS = tuple(name for name, _ in BAND_CUTOFFS)
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"


def _binary_copy_rows(
    ids: np.ndarray, amount_cents: np.ndarray, probability: np.ndarray, bands: np.ndarray, codes: np.ndarray
) -> bytes:
    """PostgreSQL binary COPY rows (int8, int8, float8, int2, 6 × int4) built as one numpy record array.

    Fixed-width columns only, so no per-row Python work: a million rows take a few milliseconds.
    """
    slots = codes.shape[1]
    fields = [("count", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_cents", ">i4"), ("cents", ">i8")]
    fields += [("l_p", ">i4"), ("p", ">f8")]
    fields += [("l_band", ">i4"), ("band", ">i2")]
    for slot in range(slots):
        fields += [(f"l_d{slot}", ">i4"), (f"d{slot}", ">i4")]
    rows = np.empty(len(ids), dtype=np.dtype(fields))
    rows["count"] = 4 + slots
    rows["l_id"], rows["id"] = 8, ids
    rows["l_cents"], rows["cents"] = 8, amount_cents
    rows["l_p"], rows["p"] = 8, probability
    rows["l_band"] = 2
    rows["band"] = pd.Index(_BANDS).get_indexer(bands)
    for slot in range(slots):
        rows[f"l_d{slot}"], rows[f"d{slot}"] = 4, codes[:, slot]
    return _PGCOPY_HEADER + rows.tobytes() + _PGCOPY_TRAILER


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _scores_insert_copy(
    cursor: Any,
    *,
    tenant_id: int,
    version_id: int,
    ids: np.ndarray,
    amount_cents: np.ndarray,
    probability: np.ndarray,
    bands: np.ndarray,
    drivers: DriverTable,
    trigger: str,
    scored_at: dt.datetime,
    full_pass: bool,
    watch: Stopwatch,
) -> None:
    """Many deals: binary COPY of the numbers into a temporary table, then set-based writes.

    Each deal carries six driver codes; the few thousand distinct driver entries go in a second
    temporary table and PostgreSQL assembles each deal's JSON while inserting the history.
    Current scores are replaced rather than updated (delete, then insert with the previous
    probability joined back): cheaper than a million non-HOT updates. Rows arrive in deal id
    order (the read sorts them) and hash joins keep it, so the index inserts walk the
    (tenant, deal) keys in order without a sort spilling to disk.
    """
    slots = drivers.codes.shape[1]
    driver_columns = ", ".join(f"d{slot} integer" for slot in range(slots))
    cursor.execute(
        "CREATE TEMP TABLE scoring_batch "
        f"(deal_id bigint, amount_cents bigint, probability float8, band smallint, {driver_columns}) "
        "ON COMMIT DROP"
    )
    cursor.execute("CREATE TEMP TABLE scoring_entry (code integer PRIMARY KEY, entry text) ON COMMIT DROP")
    payload = _binary_copy_rows(ids, amount_cents, probability, bands, drivers.codes)
    entries = "".join(f"{code}\t{_copy_escape(text)}\n" for code, text in enumerate(drivers.entry_json()))
    watch.lap("format_copy")
    with cursor.copy("COPY scoring_batch FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
    with cursor.copy("COPY scoring_entry (code, entry) FROM STDIN") as copy:
        copy.write(entries.encode("utf-8"))
    cursor.execute("ANALYZE scoring_entry")
    watch.lap("copy")
    joins = " ".join(f"LEFT JOIN scoring_entry e{slot} ON e{slot}.code = b.d{slot}" for slot in range(slots))
    parts = ", ".join(f"e{slot}.entry" for slot in range(slots))
    params = {
        "tenant": tenant_id,
        "version": version_id,
        "trigger": trigger,
        "at": scored_at,
        "bands": list(_BANDS),
    }
    cursor.execute(
        f"""
        CREATE TEMP TABLE scoring_inserted ON COMMIT DROP AS
        WITH inserted AS (
            INSERT INTO {_SCORES}
                (tenant_id, deal_id, model_version_id, probability, band, drivers, trigger, scored_at)
            SELECT %(tenant)s, b.deal_id, %(version)s, b.probability, (%(bands)s::text[])[b.band + 1],
                   ('[' || concat_ws(',', {parts}) || ']')::jsonb, %(trigger)s, %(at)s
            FROM scoring_batch b {joins}
            RETURNING id, deal_id, probability, band
        )
        SELECT i.*, b.amount_cents FROM inserted i JOIN scoring_batch b ON b.deal_id = i.deal_id
        """,
        params,
    )
    watch.lap("insert_history")
    # A full pass replaces every current score of the tenant (closed deals' included).
    scope = "" if full_pass else "AND deal_id IN (SELECT deal_id FROM scoring_inserted)"
    cursor.execute(
        f"""
        CREATE TEMP TABLE scoring_previous ON COMMIT DROP AS
        WITH removed AS (
            DELETE FROM {_CURRENT} WHERE tenant_id = %(tenant)s {scope}
            RETURNING deal_id, probability, band
        )
        SELECT * FROM removed
        """,
        params,
    )
    watch.lap("delete_current")
    cursor.execute(
        f"""
        INSERT INTO {_CURRENT}
            (tenant_id, deal_id, score_id, model_version_id, probability, band, amount,
             previous_probability, previous_band, scored_at)
        SELECT %(tenant)s, i.deal_id, i.id, %(version)s, i.probability, i.band,
               i.amount_cents::numeric / 100, p.probability, COALESCE(p.band, ''), %(at)s
        FROM scoring_inserted i LEFT JOIN scoring_previous p ON p.deal_id = i.deal_id
        """,
        params,
    )
    watch.lap("insert_current")
    # Dropped now (not only at commit) so a second pass in the same transaction can recreate them.
    for table in ("scoring_batch", "scoring_entry", "scoring_inserted", "scoring_previous"):
        cursor.execute(f"DROP TABLE {table}")


def _current_remove(
    cursor: Any,
    *,
    tenant_id: int,
    deal_ids: Sequence[int] | None,
    keep_open: bool,
    scored_at: dt.datetime | None = None,
) -> int:
    """Drop current scores that no longer hold: of deals not open (or all, when nothing serves).

    After a full pass every open deal's current score carries this pass's ``scored_at``, so the
    rest belong to closed or deleted deals.
    """
    if not keep_open:
        if deal_ids is None:
            cursor.execute(f"DELETE FROM {_CURRENT} WHERE tenant_id = %s", [tenant_id])
        else:
            cursor.execute(
                f"DELETE FROM {_CURRENT} WHERE tenant_id = %s AND deal_id = ANY(%s)",
                [tenant_id, list(deal_ids)],
            )
        return cursor.rowcount
    if deal_ids is None:
        cursor.execute(
            f"DELETE FROM {_CURRENT} WHERE tenant_id = %s AND scored_at < %s", [tenant_id, scored_at]
        )
    else:
        cursor.execute(
            f"""
            DELETE FROM {_CURRENT} c
            WHERE c.tenant_id = %s AND c.deal_id = ANY(%s) AND c.scored_at < %s
            """,
            [tenant_id, list(deal_ids), scored_at],
        )
    return cursor.rowcount


def next_action_rule_set(
    *,
    feature: str,
    action: str,
    direction: str = DriverDirection.NEGATIVE,
    enabled: bool = True,
    user: Any = None,
) -> NextActionRule:
    """Create or replace the tenant's rule for (feature, direction). Admin-only in the UI."""
    rule, _ = NextActionRule.objects.update_or_create(
        feature=feature,
        direction=direction,
        defaults={"action": action.strip(), "enabled": enabled, "updated_by": user},
    )
    return rule


def next_action_rule_delete(*, feature: str, direction: str = DriverDirection.NEGATIVE) -> None:
    """Remove the tenant's rule so the default applies again."""
    NextActionRule.objects.filter(feature=feature, direction=direction).delete()
