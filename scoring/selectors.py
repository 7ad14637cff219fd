"""Reads for scoring. Every function reads the active tenant's rows only (ORM scope and RLS).

Public reads other apps use:

* :func:`deal_score_current` / :func:`deal_scores_current` — a deal's (or a page of deals')
  current score with band, drivers, next actions and which model made it.
* :func:`serving_model_describe` — what scores the tenant's deals now, why, and how it did.
* :func:`pipeline_probabilities` — current win probability of every scored open deal.
* :func:`score_audit` — were the scores right: scores held while open vs outcomes.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
from django.db import connection

from deals.models import Deal, DealStageChange, Rep
from insights.stats import wilson_interval
from salesintel.planner import planner_setting
from scoring.backtest import classification_metrics
from scoring.drivers import DEFAULT_NEXT_ACTIONS, FEATURE_NAMES, driver_text
from scoring.model import ServingModel
from scoring.models import (
    CurrentScore,
    DealScore,
    DriverDirection,
    DriverEntry,
    ModelVersion,
    NextActionRule,
    Serving,
)
from tenants.context import require_tenant_id

_DEAL = Deal._meta.db_table
_CHANGE = DealStageChange._meta.db_table
_SCORE = DealScore._meta.db_table
_ENTRY = DriverEntry._meta.db_table

# Above this many rows a frame is read with COPY … TO STDOUT (one round trip, C parser).
COPY_READ_THRESHOLD = 2_000

_DEAL_COLUMNS = {
    "deal_id": "int64",
    "crm_id": "string",
    "status": "string",
    "stage": "string",
    "amount": "float64",
    # The exact amount in cents (numeric(16,2) × 100 fits int8), stored with the score.
    "amount_cents": "int64",
    "rep_id": "float64",  # NaN without a rep; replaced by the rep's name ("rep") after the read
    "industry": "string",
    "region": "string",
    "product_type": "string",
    "lead_source": "string",
    "stage_moves": "int64",
}
_DEAL_DATES = ["created_date", "closed_date", "stage_entered_date"]
# The type of every date column of a frame read here.
DATE_DTYPE = "datetime64[us]"

# Deal ids (after, through]: None leaves that side open.
IdRange = tuple[int | None, int | None]


def id_range_sql(id_range: IdRange, column: str) -> str:
    """SQL conditions keeping ``column`` in ``id_range`` (parameters ``after`` and ``through``)."""
    after, through = id_range
    return "".join(
        [
            "" if after is None else f" AND {column} > %(after)s",
            "" if through is None else f" AND {column} <= %(through)s",
        ]
    )


def _deal_sql(*, status_condition: str, with_ids: bool, id_range: IdRange = (None, None)) -> str:
    ids = ("AND d.id = ANY(%(ids)s)" if with_ids else "") + id_range_sql(id_range, "d.id")
    change_ids = ("AND c.deal_id = ANY(%(ids)s)" if with_ids else "") + id_range_sql(id_range, "c.deal_id")
    return f"""
        SELECT d.id AS deal_id, d.crm_id, d.status, d.created_date, d.closed_date, d.stage,
               d.stage_entered_date, d.amount::float8 AS amount,
               (d.amount * 100)::int8 AS amount_cents,
               d.rep_id,
               d.industry, d.region, d.product_type, d.lead_source,
               COALESCE(m.moves, 0) AS stage_moves
        FROM {_DEAL} d
        LEFT JOIN (
            SELECT c.deal_id, count(*) FILTER (WHERE c.from_stage <> '') AS moves
            FROM {_CHANGE} c
            WHERE c.tenant_id = %(tenant)s {change_ids}
            GROUP BY c.deal_id
        ) m ON m.deal_id = d.id
        WHERE d.tenant_id = %(tenant)s AND {status_condition} {ids}
        ORDER BY d.id
    """


def _read_frame(
    sql: str, params: dict[str, Any], *, dtypes: dict[str, str], dates: list[str]
) -> pd.DataFrame:
    """Run ``sql`` and return a DataFrame; large results stream through COPY as CSV."""
    columns = [*dtypes, *dates]
    with connection.cursor() as cursor:
        ids = params.get("ids")
        if ids is not None and len(ids) < COPY_READ_THRESHOLD:
            cursor.execute(sql, params)
            names = [column.name for column in cursor.description]
            rows = cursor.fetchall()
            if rows:
                return _frame_of_rows(rows, names, dtypes=dtypes, dates=dates)
            frame = pd.DataFrame(rows, columns=names)
        else:
            # COPY takes no bind parameters: render the (integer-only) parameters client-side.
            statement = cursor.mogrify(sql, params)
            buffer = io.BytesIO()
            with cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            frame = pd.read_csv(
                buffer,
                dtype={name: kind for name, kind in dtypes.items() if kind != "int64"},
                keep_default_na=False,
                # An empty field is NULL in COPY's CSV: missing for dates and numbers (a deal
                # without a rep has no rep_id), an empty string for text columns.
                na_values={
                    name: [""] for name in [*dates, *(n for n, kind in dtypes.items() if kind == "float64")]
                },
            )
    if frame.empty:
        frame = pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
    for name in dates:
        # One unit whatever the values (pandas infers seconds for an all-empty column).
        frame[name] = pd.to_datetime(frame[name]).astype(DATE_DTYPE)
    for name, kind in dtypes.items():
        if kind == "string":
            frame[name] = frame[name].fillna("").astype(str)
        else:
            frame[name] = frame[name].astype(kind)
    return frame


def _frame_of_rows(
    rows: Sequence[tuple[Any, ...]], names: Sequence[str], *, dtypes: dict[str, str], dates: list[str]
) -> pd.DataFrame:
    """Fetched rows as the frame :func:`_read_frame`'s COPY path gives, each column built once
    at its type. (Building a frame and then converting it column by column cost a single-deal
    rescoring more than its query: about 8 of its 40 ms on a slow machine.)"""
    data: dict[str, Any] = {}
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        kind = dtypes.get(name)
        if name in dates:
            data[name] = np.array(values, dtype=DATE_DTYPE)  # None: NaT
        elif kind == "string":
            data[name] = np.array(["" if value is None else str(value) for value in values], dtype=object)
        elif kind == "float64":
            data[name] = np.array([np.nan if value is None else value for value in values], dtype=kind)
        elif kind is not None:
            data[name] = np.array(values, dtype=kind)
        else:  # a column the caller gave no type: as pandas infers it, like the COPY path
            data[name] = list(values)
    return pd.DataFrame(data)


def _with_rep_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Replace ``rep_id`` by ``rep``: the rep's name, else its CRM id, else "" (no rep).

    Mapped here from the tenant's few reps rather than joined in SQL for every deal row.
    """
    rep_ids = frame.pop("rep_id")
    if frame.empty:
        frame["rep"] = pd.Series(dtype=str)
        return frame
    names = {
        rep_id: name or crm_id or ""
        for rep_id, name, crm_id in Rep.objects.values_list("id", "name", "crm_id")
    }
    frame["rep"] = rep_ids.map(names).astype(object).fillna("").astype(str)
    return frame


def open_deal_frame(
    *, deal_ids: Sequence[int] | None = None, id_range: IdRange = (None, None)
) -> pd.DataFrame:
    """Open deals (all, those of ``deal_ids`` that are open, or those whose id lies in
    ``id_range``) as a deal frame (scoring.features)."""
    after, through = id_range
    params: dict[str, Any] = {"tenant": require_tenant_id(), "after": after, "through": through}
    if deal_ids is not None:
        params["ids"] = list(deal_ids)
    sql = _deal_sql(status_condition="d.status = 'open'", with_ids=deal_ids is not None, id_range=id_range)
    if after is None or through is None:
        return _with_rep_names(_read_frame(sql, params, dtypes=_DEAL_COLUMNS, dates=_DEAL_DATES))
    # A bounded id range is read best off the primary key in id order, merged with the stage
    # moves read in deal order. The planner underestimates the range (it multiplies the range's
    # share of the whole table by the tenant's share, and a tenant's ids lie together), and after
    # one ANALYZE or another it read the tenant's deals through another index and sorted them:
    # for 500,000 deals of the bench database 1.19 and 0.99 s, with a 54 MB sort on disk, against
    # 0.86 and 0.68 s without (docs/scoring.md, "The chunk's read without a sort").
    with connection.cursor() as cursor, planner_setting(cursor, "enable_sort", "off"):
        frame = _read_frame(sql, params, dtypes=_DEAL_COLUMNS, dates=_DEAL_DATES)
    return _with_rep_names(frame)


@dataclass(frozen=True)
class OpenDealPlan:
    """How a chunked scoring pass splits the tenant's open deals (:func:`open_deal_plan`)."""

    count: int
    # Contiguous id ranges holding about as many open deals each. The first is open below and
    # the last above, so together they cover every id: each chunk's write also finds, and
    # removes, the current scores of deals closed or deleted since, whatever their id.
    ranges: list[IdRange]
    # The lowest and highest open deal id when the pass was planned (None: no open deal).
    lowest: int | None
    highest: int | None

    def read_range(self, id_range: IdRange) -> IdRange:
        """The ids a chunk reads its deals from: ``id_range`` with an open end closed at the
        lowest or highest open id.

        With an open end, the planner counts every other tenant's ids on that side (the
        bound is on the id, the tenant a filter) and reads the range as a hash join with the
        stage moves plus a sort spilled to disk: 2.1 s for 500,000 deals on the bench database
        against 1.1 s bounded, which reads both tables in id order and merges them. A deal
        opened or created after planning is not read; it is scored by its own event's
        rescoring, which waits for the pass's lock, as is one committed after a chunk's read.
        """
        after, through = id_range
        if after is None and self.lowest is not None:
            after = self.lowest - 1
        if through is None and self.highest is not None:
            through = self.highest
        return after, through


def open_deal_plan(*, parts: int) -> OpenDealPlan:
    """The tenant's open deals split into ``parts`` id ranges (fewer when there are fewer
    deals): the chunks of a parallel scoring pass."""
    fractions = [part / parts for part in range(1, parts)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY id), min(id), max(id)
            FROM {_DEAL} WHERE tenant_id = %s AND status = 'open'
            """,
            [fractions, require_tenant_id()],
        )
        count, cuts, lowest, highest = cursor.fetchone()
    edges: list[int | None] = [None, *sorted(set(cuts or [])), None]
    return OpenDealPlan(count=count, ranges=list(itertools.pairwise(edges)), lowest=lowest, highest=highest)


def closed_deal_frame(*, closed_before: dt.date | None = None) -> pd.DataFrame:
    """Closed deals (optionally closed before a date) as a deal frame with a boolean ``won``."""
    condition = "d.status IN ('won', 'lost')"
    params: dict[str, Any] = {"tenant": require_tenant_id()}
    if closed_before is not None:
        condition += " AND d.closed_date < %(before)s"
        params["before"] = closed_before
    frame = _with_rep_names(
        _read_frame(
            _deal_sql(status_condition=condition, with_ids=False),
            params,
            dtypes=_DEAL_COLUMNS,
            dates=_DEAL_DATES,
        )
    )
    frame["won"] = frame["status"] == "won"
    return frame


def open_between_deal_frame(*, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Deals open at some time in [start, end): created before ``end``, not closed before
    ``start``; a deal frame (scoring.features), whatever their status now."""
    condition = "d.created_date < %(end)s AND (d.closed_date IS NULL OR d.closed_date >= %(start)s)"
    return _with_rep_names(
        _read_frame(
            _deal_sql(status_condition=condition, with_ids=False),
            {"tenant": require_tenant_id(), "start": start, "end": end},
            dtypes=_DEAL_COLUMNS,
            dates=_DEAL_DATES,
        )
    )


def deal_stage_changes(*, closed_only: bool = False) -> pd.DataFrame:
    """Recorded stage moves of every deal (of closed deals only with ``closed_only``): deal_id,
    from_stage, to_stage, changed_on."""
    status = "AND d.status IN ('won', 'lost')" if closed_only else ""
    sql = f"""
        SELECT c.deal_id, c.from_stage, c.to_stage, c.changed_on
        FROM {_CHANGE} c JOIN {_DEAL} d ON d.id = c.deal_id AND d.tenant_id = c.tenant_id
        WHERE c.tenant_id = %(tenant)s {status}
        ORDER BY c.deal_id, c.changed_on, c.id
    """
    return _read_frame(
        sql,
        {"tenant": require_tenant_id()},
        dtypes={"deal_id": "int64", "from_stage": "string", "to_stage": "string"},
        dates=["changed_on"],
    )


def model_version_active() -> ModelVersion | None:
    """The tenant's serving model version, or None before the first training run."""
    return ModelVersion.objects.filter(is_active=True).defer("artefact").first()


def model_version_list(*, limit: int = 50) -> list[ModelVersion]:
    """The tenant's training runs, newest first (artefacts not loaded)."""
    return list(ModelVersion.objects.defer("artefact").order_by("-trained_at", "-id")[:limit])


_ARTEFACTS: dict[tuple[int, int], ServingModel] = {}
_ARTEFACT_CACHE_SIZE = 16


def serving_model_load(*, version: ModelVersion) -> ServingModel | None:
    """The version's serving object, unpickled once per process (versions never change)."""
    key = (version.tenant_id, version.pk)
    if key in _ARTEFACTS:
        return _ARTEFACTS[key]
    payload = version.artefact  # loads the deferred field once per process and version
    if payload is None:
        return None
    # Artefacts are written only by scoring.services from our own training runs.
    model = joblib.load(io.BytesIO(bytes(payload)))
    if len(_ARTEFACTS) >= _ARTEFACT_CACHE_SIZE:
        _ARTEFACTS.pop(next(iter(_ARTEFACTS)))
    _ARTEFACTS[key] = model
    return model


_VERSIONS: dict[tuple[int, int], ModelVersion] = {}


def serving_version_active() -> tuple[ModelVersion | None, ServingModel | None]:
    """The active version and its serving object, for scoring.

    One narrow query (the active version's id); the version row (without its artefact) and the
    unpickled model are kept per process, as a version never changes once trained (only
    ``is_active`` moves, and the id query sees that). Saves the single-deal rescoring a wide
    row with four JSON documents per call.
    """
    version_id = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    if version_id is None:
        return None, None
    key = (require_tenant_id(), version_id)
    version = _VERSIONS.get(key)
    if version is None:
        version = ModelVersion.objects.defer("artefact").get(pk=version_id)
        if len(_VERSIONS) >= _ARTEFACT_CACHE_SIZE:
            _VERSIONS.pop(next(iter(_VERSIONS)))
        _VERSIONS[key] = version
    return version, serving_model_load(version=version)


def serving_model_describe() -> dict[str, Any]:
    """What scores the tenant's deals now, for pages and the API.

    Keys: ``serving`` ("model", "segment_prior", "base_rate" or "none"), ``label`` (in words),
    ``promoted``, ``reason``, ``version_number`` (the tenant's own count, "v3" on pages),
    ``trained_at``, ``n_won``, ``n_lost``, ``window`` (first, last close date), ``backtest``
    and ``baselines`` (roc_auc, brier, log_loss, n, reliability), ``features``, ``details``.
    Before any training run ``serving`` is "none" and ``reason`` says what to do.
    """
    version = ModelVersion.objects.filter(is_active=True).defer("artefact").first()
    if version is None:
        return {
            "serving": Serving.NONE.value,
            "label": Serving.NONE.label,
            "promoted": False,
            "reason": "No model has been trained yet: run train_models or wait for the monthly retraining.",
            "version_number": None,
            "trained_at": None,
            "n_won": 0,
            "n_lost": 0,
            "window": None,
            "backtest": {},
            "baselines": {},
            "features": [],
            "details": {},
        }
    return model_version_describe(version=version)


def model_version_describe(*, version: ModelVersion) -> dict[str, Any]:
    """One version as :func:`serving_model_describe` documents it."""
    return {
        "serving": version.serving,
        "label": version.serving_label,
        "promoted": version.promoted,
        "reason": version.reason,
        "version_number": version.number,
        "trained_at": version.trained_at.isoformat(),
        "n_won": version.n_won,
        "n_lost": version.n_lost,
        "window": (
            [version.window_start.isoformat(), version.window_end.isoformat()]
            if version.window_start and version.window_end
            else None
        ),
        "backtest": version.metrics,
        "baselines": version.baseline_metrics,
        "features": version.features,
        "coefficients": version.coefficients,
        "details": version.details,
        "is_active": version.is_active,
    }


def next_action_rules() -> dict[tuple[str, str], str]:
    """(feature, direction) → recommended action: the defaults with the tenant's own rules applied.

    A disabled tenant rule removes the default; an enabled one replaces it.
    """
    actions = dict(DEFAULT_NEXT_ACTIONS)
    for rule in NextActionRule.objects.all():
        key = (rule.feature, rule.direction)
        if own := _rule_action(rule):
            actions[key] = own
        else:
            actions.pop(key, None)
    return actions


def _rule_action(rule: NextActionRule) -> str | None:
    """What a tenant's rule makes deals show: its words when switched on, else nothing."""
    return rule.action if rule.enabled and rule.action else None


def next_action_rule_rows() -> list[dict[str, Any]]:
    """The recommended action of every driver that lowers the win probability, for the admin
    screen: feature, its name, the default, the tenant's rule (None when the default applies),
    and what deals are shown now (None when switched off). One query."""
    own = NextActionRule.objects.filter(direction=DriverDirection.NEGATIVE).select_related("updated_by")
    rules = {rule.feature: rule for rule in own}
    rows = []
    for feature, name in FEATURE_NAMES.items():
        default = DEFAULT_NEXT_ACTIONS.get((feature, DriverDirection.NEGATIVE), "")
        rule = rules.get(feature)
        shown = (default or None) if rule is None else _rule_action(rule)
        rows.append({"feature": feature, "name": name, "default": default, "rule": rule, "shown": shown})
    return rows


@dataclass(frozen=True)
class ScoreView:
    """A deal's score as pages and the API show it."""

    deal_id: int
    probability: float
    band: str
    scored_at: dt.datetime
    model_version_id: int
    # The version's number within the tenant (ModelVersion.number): pages show "v{number}".
    model_version_number: int | None
    serving: str
    serving_label: str
    positive_drivers: list[dict[str, Any]] = field(default_factory=list)
    negative_drivers: list[dict[str, Any]] = field(default_factory=list)
    # One entry per negative driver that has a rule: {"feature", "label", "action"}.
    next_actions: list[dict[str, str]] = field(default_factory=list)
    previous_probability: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deal_id": self.deal_id,
            "win_probability": round(self.probability, 4),
            "band": self.band,
            "scored_at": self.scored_at.isoformat(),
            "model_version": self.model_version_number,
            "serving": self.serving,
            "serving_label": self.serving_label,
            "positive_drivers": self.positive_drivers,
            "negative_drivers": self.negative_drivers,
            "next_actions": self.next_actions,
            "previous_probability": (
                round(self.previous_probability, 4) if self.previous_probability is not None else None
            ),
        }


def _with_text(drivers: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**driver, "text": driver_text(driver["label"], driver["value"])} for driver in drivers]


def score_drivers(*, score_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The drivers of each score (DealScore id), positive first, as ``{"feature", "label",
    "value"}``. One query, whatever the number of scores; scores without drivers are absent."""
    if not score_ids:
        return {}
    sql = f"""
        SELECT s.id, e.feature, e.label, e.value
        FROM {_SCORE} s
        CROSS JOIN LATERAL unnest(s.driver_ids) WITH ORDINALITY AS u (entry_id, position)
        JOIN {_ENTRY} e ON e.tenant_id = s.tenant_id AND e.id = u.entry_id
        WHERE s.tenant_id = %(tenant)s AND s.id = ANY(%(ids)s)
        ORDER BY s.id, u.position
    """
    drivers: dict[int, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": require_tenant_id(), "ids": list(score_ids)})
        for score_id, feature, label, value in cursor.fetchall():
            drivers.setdefault(score_id, []).append({"feature": feature, "label": label, "value": value})
    return drivers


def deal_scores_current(*, deal_ids: Sequence[int]) -> dict[int, ScoreView]:
    """Current scores of the given deals (deals never scored are absent). Three queries in all."""
    current = list(
        CurrentScore.objects.filter(deal_id__in=list(deal_ids)).values(
            "deal_id",
            "score_id",
            "probability",
            "band",
            "previous_probability",
            "scored_at",
            "model_version_id",
        )
    )
    if not current:
        return {}
    drivers = score_drivers(score_ids=[row["score_id"] for row in current])
    versions = {
        version.pk: version
        for version in ModelVersion.objects.filter(pk__in={row["model_version_id"] for row in current}).only(
            "serving", "number"
        )
    }
    actions = next_action_rules()
    views = {}
    for row in current:
        entries = drivers.get(row["score_id"], [])
        positive = _with_text(entry for entry in entries if entry["value"] > 0)
        negative = _with_text(entry for entry in entries if entry["value"] < 0)
        version = versions.get(row["model_version_id"])
        views[row["deal_id"]] = ScoreView(
            deal_id=row["deal_id"],
            probability=row["probability"],
            band=row["band"],
            scored_at=row["scored_at"],
            model_version_id=row["model_version_id"],
            model_version_number=version.number if version else None,
            serving=version.serving if version else Serving.NONE.value,
            serving_label=version.serving_label if version else Serving.NONE.label,
            positive_drivers=positive,
            negative_drivers=negative,
            next_actions=[
                {
                    "feature": entry["feature"],
                    "label": entry["label"],
                    "action": actions[(entry["feature"], "negative")],
                }
                for entry in negative
                if (entry["feature"], "negative") in actions
            ],
            previous_probability=row["previous_probability"],
        )
    return views


def deal_score_current(*, deal: Deal | int) -> ScoreView | None:
    """The deal's current score, or None when it has never been scored (or is closed)."""
    deal_id = deal if isinstance(deal, int) else deal.pk
    return deal_scores_current(deal_ids=[deal_id]).get(deal_id)


def deal_score_history(*, deal: Deal | int, limit: int = 100) -> list[DealScore]:
    """The deal's scores, newest first, with their model versions and drivers (two queries)."""
    deal_id = deal if isinstance(deal, int) else deal.pk
    scores = list(
        DealScore.objects.filter(deal_id=deal_id)
        .select_related("model_version")
        .defer("model_version__artefact")
        .order_by("-scored_at", "-id")[:limit]
    )
    drivers = score_drivers(score_ids=[score.pk for score in scores])
    for score in scores:
        score._drivers = drivers.get(score.pk, [])
    return scores


def pipeline_probabilities() -> pd.DataFrame:
    """Current win probability of every scored open deal: deal_id, probability, band, serving.

    For insights (expected wins of the pipeline) and alerts. One query.
    """
    sql = f"""
        SELECT c.deal_id, c.probability, c.band, v.serving
        FROM {CurrentScore._meta.db_table} c
        JOIN {_DEAL} d ON d.id = c.deal_id AND d.tenant_id = c.tenant_id
        JOIN {ModelVersion._meta.db_table} v ON v.id = c.model_version_id AND v.tenant_id = c.tenant_id
        WHERE c.tenant_id = %(tenant)s AND d.status = 'open'
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": require_tenant_id()})
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["deal_id", "probability", "band", "serving"]).astype(
        {"deal_id": "int64", "probability": "float64"}
    )


def score_audit(*, since: dt.date) -> list[dict[str, Any]]:
    """Were the scores right? For deals closed on or after ``since``, per model version.

    Each closed deal contributes, for every version that scored it while it was open, the last
    score that version gave it before it closed. Returns one dict per version (newest first):
    version_id, serving, serving_label, trained_at, replayed (scoring.services.scores_replay), n,
    n_won, roc_auc, brier, log_loss, reliability (10 bins) and mean_probability vs win_rate (with
    its 95% Wilson interval, win_rate_ci_low and win_rate_ci_high).
    """
    sql = f"""
        SELECT DISTINCT ON (s.model_version_id, s.deal_id)
               s.model_version_id, s.deal_id, s.probability, (d.status = 'won') AS won
        FROM {_SCORE} s
        JOIN {_DEAL} d ON d.id = s.deal_id AND d.tenant_id = s.tenant_id
        WHERE s.tenant_id = %(tenant)s AND d.status IN ('won', 'lost') AND d.closed_date >= %(since)s
          AND s.scored_at::date <= d.closed_date
        ORDER BY s.model_version_id, s.deal_id, s.scored_at DESC, s.id DESC
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"tenant": require_tenant_id(), "since": since})
        rows = cursor.fetchall()
    held = pd.DataFrame(rows, columns=["model_version_id", "deal_id", "probability", "won"])
    if held.empty:
        return []
    versions = {
        version.pk: version
        for version in ModelVersion.objects.filter(pk__in=held["model_version_id"].unique().tolist()).defer(
            "artefact"
        )
    }
    audit = []
    for version_id, group in held.groupby("model_version_id", sort=False):
        version = versions[int(version_id)]
        won = group["won"].to_numpy(dtype=int)
        probability = group["probability"].to_numpy(dtype=float)
        metrics = classification_metrics(won=won, probability=probability)
        low, high = wilson_interval(int(won.sum()), len(won))
        audit.append(
            {
                "version_id": version.pk,
                "version_number": version.number,
                "serving": version.serving,
                "serving_label": version.serving_label,
                "trained_at": version.trained_at.isoformat(),
                "replayed": version.is_replay,
                **metrics,
                "mean_probability": round(float(np.mean(probability)), 4),
                "win_rate": round(float(np.mean(won)), 4),
                "win_rate_ci_low": round(float(low), 4),
                "win_rate_ci_high": round(float(high), 4),
            }
        )
    audit.sort(key=lambda entry: entry["trained_at"], reverse=True)
    return audit
