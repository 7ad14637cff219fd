"""What each alert rule means: its knobs (names, defaults, bounds) and its set-based SQL.

Pure: no Django import. Each ``*_candidates_sql`` function returns one SQL query (with its
parameters) that lists every subject for which the rule's condition holds *now*, one row per
subject, with the columns of :data:`CANDIDATE_COLUMNS`. ``alerts.services`` runs it once per
rule and tenant and turns the set into alert state changes; nothing here loops over deals.

Severity names and the risk bands are plain strings so this module stays importable anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STALL = "stall"
CYCLE_BREACH = "cycle_breach"
SCORE_DROP = "score_drop"
SLIP = "slip"
SEGMENT_DETERIORATION = "segment_deterioration"

DAILY_RULES = (STALL, CYCLE_BREACH, SCORE_DROP, SLIP)
MONTHLY_RULES = (SEGMENT_DETERIORATION,)

# Every candidate query returns exactly these columns, in this order.
CANDIDATE_COLUMNS = (
    "dedup_key",
    "deal_id",
    "segment_dimension",
    "segment_value",
    "severity",
    "title",
    "summary",
    "evidence",
)


class ThresholdError(ValueError):
    """A threshold is unknown, of the wrong type, or out of bounds (message names which)."""


@dataclass(frozen=True)
class Threshold:
    name: str
    label: str
    help: str
    default: float | int
    minimum: float | int
    maximum: float | int

    @property
    def is_integer(self) -> bool:
        return isinstance(self.default, int)

    def clean(self, value: Any) -> float | int:
        try:
            number: float | int = int(value) if self.is_integer else float(value)
        except (TypeError, ValueError) as error:
            raise ThresholdError(f"{self.label}: {value!r} is not a number.") from error
        if self.is_integer and float(value) != number:
            raise ThresholdError(f"{self.label}: must be a whole number.")
        if not self.minimum <= number <= self.maximum:
            raise ThresholdError(f"{self.label}: must be between {self.minimum} and {self.maximum}.")
        return number


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    label: str
    description: str
    cadence: str  # "daily" or "monthly"
    default_cooldown_days: int
    thresholds: tuple[Threshold, ...] = field(default_factory=tuple)

    def defaults(self) -> dict[str, float | int]:
        return {threshold.name: threshold.default for threshold in self.thresholds}

    def clean(self, values: Mapping[str, Any]) -> dict[str, float | int]:
        """Defaults overlaid with ``values``, each validated; unknown names raise ThresholdError."""
        known = {threshold.name: threshold for threshold in self.thresholds}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ThresholdError(f"Unknown threshold(s) for {self.label}: {', '.join(unknown)}.")
        cleaned = self.defaults()
        for name, value in values.items():
            cleaned[name] = known[name].clean(value)
        return cleaned


RULE_SPECS: dict[str, RuleSpec] = {
    STALL: RuleSpec(
        kind=STALL,
        label="Stalled in stage",
        description=(
            "The deal has been in its current stage longer than won deals of the same segment "
            "usually stayed there (a percentile of their time in that stage)."
        ),
        cadence="daily",
        default_cooldown_days=14,
        thresholds=(
            Threshold(
                "percentile",
                "Percentile of won deals' time in stage",
                "0.75 = longer than three in four won deals stayed in the stage.",
                0.75,
                0.5,
                0.99,
            ),
            Threshold(
                "min_sample",
                "Minimum won deals",
                "Segments with fewer won deals through the stage fall back to all won deals.",
                20,
                5,
                10_000,
            ),
            Threshold(
                "critical_ratio",
                "Critical at",
                "Severity is critical when the time in stage exceeds this multiple of the threshold.",
                2.0,
                1.0,
                10.0,
            ),
        ),
    ),
    CYCLE_BREACH: RuleSpec(
        kind=CYCLE_BREACH,
        label="Past the typical winning cycle",
        description=(
            "The deal is older than the typical (median) sales cycle of won deals of the same "
            "segment (times an optional margin)."
        ),
        cadence="daily",
        default_cooldown_days=30,
        thresholds=(
            Threshold(
                "cycle_multiplier",
                "Margin over the median winning cycle",
                "1.0 = alert as soon as the deal is older than the median won deal of its segment.",
                1.0,
                1.0,
                5.0,
            ),
            Threshold(
                "min_sample",
                "Minimum won deals",
                "Segments with fewer won deals fall back to all won deals.",
                20,
                5,
                10_000,
            ),
            Threshold(
                "critical_ratio",
                "Critical at",
                "Severity is critical when the age exceeds this multiple of the median winning cycle.",
                2.0,
                1.0,
                10.0,
            ),
        ),
    ),
    SCORE_DROP: RuleSpec(
        kind=SCORE_DROP,
        label="Win probability dropped",
        description=(
            "The deal's win probability fell by more than N points since its previous score, or "
            "its risk band crossed into high or critical."
        ),
        cadence="daily",
        default_cooldown_days=7,
        thresholds=(
            Threshold("drop_pts", "Drop in points", "15 = from 45% to below 30%.", 15.0, 1.0, 100.0),
            Threshold(
                "lookback_days",
                "Look back (days)",
                "A drop or band change older than this is no longer news and resolves.",
                14,
                1,
                365,
            ),
        ),
    ),
    SLIP: RuleSpec(
        kind=SLIP,
        label="Close date pushed out",
        description="The expected close date from the CRM moved later.",
        cadence="daily",
        default_cooldown_days=14,
        thresholds=(
            Threshold("min_push_days", "Minimum push (days)", "Smaller moves are ignored.", 7, 1, 365),
            Threshold(
                "window_days",
                "Stays open for (days)",
                "A push older than this resolves the alert.",
                14,
                1,
                365,
            ),
            Threshold(
                "critical_pushes",
                "Critical after pushes",
                "Severity is critical once the date has been pushed this many times.",
                3,
                1,
                100,
            ),
        ),
    ),
    SEGMENT_DETERIORATION: RuleSpec(
        kind=SEGMENT_DETERIORATION,
        label="Segment win rate fell",
        description=(
            "A segment's win rate over the last months fell against the months before, with the "
            "change's 95% interval entirely below zero and enough closed deals on both sides."
        ),
        cadence="monthly",
        default_cooldown_days=60,
        thresholds=(
            Threshold(
                "window_months",
                "Months compared",
                "3 = the last three months against the three before.",
                3,
                1,
                12,
            ),
            Threshold(
                "min_sample",
                "Minimum closed deals",
                "On each side of the comparison; smaller segments are never flagged.",
                30,
                10,
                100_000,
            ),
            Threshold(
                "min_drop_pts",
                "Minimum drop (points)",
                "Drops smaller than this are not alerted even when significant.",
                5.0,
                0.0,
                100.0,
            ),
        ),
    ),
}


@dataclass(frozen=True)
class CandidateQuery:
    """One SQL query listing the subjects for which a rule holds (columns: CANDIDATE_COLUMNS).

    ``sql`` uses ``%(name)s`` placeholders filled from ``params``. ``setup`` statements (same
    parameters) run once before it, in order: a rule uses them to build and ``ANALYZE``
    temporary tables, so the query the engine wraps reads relations whose row counts the
    planner knows instead of guessing them through correlated filters.
    """

    sql: str
    params: dict[str, Any]
    setup: tuple[str, ...] = ()


def dedup_key_for_deal(kind: str, deal_id: int, *parts: str) -> str:
    """The key that makes an alert unique among active ones: rule + subject (+ detail)."""
    return ":".join([kind, "deal", str(deal_id), *parts])


def dedup_key_for_segment(kind: str, dimension: str, value: str) -> str:
    return f"{kind}:segment:{dimension}={value}"


# --- stall and cycle breach -----------------------------------------------------------------


@dataclass(frozen=True)
class SegmentThresholds:
    """Per-segment day thresholds from won deals, with a tenant-wide fallback.

    ``dimensions`` names the deal columns that define a segment (e.g. ("product_type",));
    ``rows`` holds one (segment values..., [stage,] threshold_days, n_won) tuple per cell whose
    sample reached the minimum; ``fallback`` maps stage (or "" for cycle) to (days, n_won) over
    all won deals. A deal with no usable threshold is not checked.
    """

    dimensions: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]
    fallback: Mapping[str, tuple[float, int]]
    statistic: str  # words for the summary: "p75", "median"


_SEGMENT_COLUMNS = frozenset({"industry", "region", "product_type", "lead_source"})


def _segment_sql(dimensions: Sequence[str], alias: str) -> str:
    for dimension in dimensions:
        if dimension not in _SEGMENT_COLUMNS:
            raise ValueError(f"Unknown segment dimension {dimension!r}.")
    if not dimensions:
        return "''"
    return " || ' / ' || ".join(f"{alias}.{dimension}" for dimension in dimensions)


def _threshold_arrays(
    thresholds: SegmentThresholds, *, with_stage: bool
) -> tuple[list[str], list[str], list[float], list[int]]:
    """Flatten segment and fallback rows into parallel arrays for ``unnest``.

    Segment rows are keyed by the segment's values joined with " / " (the fallback by NULL),
    which matches ``_segment_sql`` on the deal side.
    """
    width = len(thresholds.dimensions)
    segments: list[str] = []
    stages: list[str] = []
    days: list[float] = []
    counts: list[int] = []
    for row in thresholds.rows:
        values = [str(value) for value in row[:width]]
        rest = row[width:]
        segments.append(" / ".join(values))
        stages.append(str(rest[0]) if with_stage else "")
        days.append(float(rest[-2]))
        counts.append(int(rest[-1]))
    return segments, stages, days, counts


def stall_candidates_sql(
    *,
    tenant_id: int,
    as_of: dt.date,
    thresholds: SegmentThresholds,
    settings: Mapping[str, Any],
) -> CandidateQuery:
    """Open deals whose days in their current stage exceed the segment's threshold for that stage.

    Days in stage = as_of − stage_entered_date; deals with no known stage entry date are not
    checked. The segment's own threshold is used when it exists, else the tenant-wide one.
    """
    segments, stages, days, counts = _threshold_arrays(thresholds, with_stage=True)
    fallback_stages = list(thresholds.fallback)
    sql = f"""
        WITH segment_threshold AS (
            SELECT * FROM unnest(%(segments)s::text[], %(stages)s::text[], %(days)s::float8[],
                                 %(counts)s::int[]) AS t(segment, stage, threshold_days, n_won)
        ), fallback_threshold AS (
            SELECT * FROM unnest(%(fallback_stages)s::text[], %(fallback_days)s::float8[],
                                 %(fallback_counts)s::int[]) AS f(stage, threshold_days, n_won)
        ), checked AS (
            SELECT d.id, d.crm_id, d.name, d.stage,
                   {_segment_sql(thresholds.dimensions, "d")} AS segment,
                   (%(as_of)s::date - d.stage_entered_date) AS days_in_stage,
                   coalesce(t.threshold_days, f.threshold_days) AS threshold_days,
                   coalesce(t.n_won, f.n_won) AS n_won,
                   (t.segment IS NULL) AS used_fallback
            FROM deals_deal d
            LEFT JOIN segment_threshold t
                   ON t.stage = d.stage AND t.segment = {_segment_sql(thresholds.dimensions, "d")}
            LEFT JOIN fallback_threshold f ON f.stage = d.stage
            WHERE d.tenant_id = %(tenant_id)s AND d.status = 'open'
              AND d.stage_entered_date IS NOT NULL
        )
        SELECT
            'stall:deal:' || c.id || ':' || c.stage,
            c.id,
            '',
            '',
            CASE WHEN c.days_in_stage >= %(critical_ratio)s * c.threshold_days
                 THEN 'critical' ELSE 'warning' END,
            format('%%s: %%s days in %%s', coalesce(nullif(c.name, ''), c.crm_id), c.days_in_stage,
                   c.stage),
            format('%%s days in %%s; won deals %%s leave it within %%s days (%%s of %%s won deals).',
                   c.days_in_stage, c.stage,
                   CASE WHEN c.used_fallback THEN 'across all segments'
                        ELSE 'in ' || c.segment END,
                   round(c.threshold_days::numeric, 0), %(statistic)s, c.n_won),
            jsonb_build_object(
                'days_in_stage', c.days_in_stage, 'stage', c.stage,
                'threshold_days', round(c.threshold_days::numeric, 1),
                'statistic', %(statistic)s, 'n_won', c.n_won,
                'segment', CASE WHEN c.used_fallback THEN NULL ELSE c.segment END,
                'ratio', round((c.days_in_stage / c.threshold_days)::numeric, 2))
        FROM checked c
        WHERE c.threshold_days IS NOT NULL AND c.threshold_days > 0
          AND c.days_in_stage > c.threshold_days
    """
    return CandidateQuery(
        sql=sql,
        params={
            "tenant_id": tenant_id,
            "as_of": as_of,
            "segments": segments,
            "stages": stages,
            "days": days,
            "counts": counts,
            "fallback_stages": fallback_stages,
            "fallback_days": [float(thresholds.fallback[stage][0]) for stage in fallback_stages],
            "fallback_counts": [int(thresholds.fallback[stage][1]) for stage in fallback_stages],
            "critical_ratio": float(settings["critical_ratio"]),
            "statistic": thresholds.statistic,
        },
    )


def cycle_breach_candidates_sql(
    *,
    tenant_id: int,
    as_of: dt.date,
    thresholds: SegmentThresholds,
    settings: Mapping[str, Any],
) -> CandidateQuery:
    """Open deals older than ``cycle_multiplier`` × the median cycle of won deals in their segment.

    Age = as_of − created_date. The fallback is keyed by "" (no stage).
    """
    segments, _, days, counts = _threshold_arrays(thresholds, with_stage=False)
    fallback_days, fallback_count = thresholds.fallback.get("", (None, 0))
    sql = f"""
        WITH segment_threshold AS (
            SELECT * FROM unnest(%(segments)s::text[], %(days)s::float8[], %(counts)s::int[])
                AS t(segment, typical_days, n_won)
        ), checked AS (
            SELECT d.id, d.crm_id, d.name,
                   {_segment_sql(thresholds.dimensions, "d")} AS segment,
                   (%(as_of)s::date - d.created_date) AS age_days,
                   coalesce(t.typical_days, %(fallback_days)s::float8) AS typical_days,
                   coalesce(t.n_won, %(fallback_count)s::int) AS n_won,
                   (t.segment IS NULL) AS used_fallback
            FROM deals_deal d
            LEFT JOIN segment_threshold t ON t.segment = {_segment_sql(thresholds.dimensions, "d")}
            WHERE d.tenant_id = %(tenant_id)s AND d.status = 'open'
        )
        SELECT
            'cycle_breach:deal:' || c.id,
            c.id,
            '',
            '',
            CASE WHEN c.age_days >= %(critical_ratio)s * c.typical_days
                 THEN 'critical' ELSE 'warning' END,
            format('%%s: open %%s days', coalesce(nullif(c.name, ''), c.crm_id), c.age_days),
            format('Open %%s days; won deals %%s typically close in %%s days (%%s of %%s won deals), '
                   'so this deal is %%s× the typical winning cycle.',
                   c.age_days,
                   CASE WHEN c.used_fallback THEN 'across all segments' ELSE 'in ' || c.segment END,
                   round(c.typical_days::numeric, 0), %(statistic)s, c.n_won,
                   round((c.age_days / c.typical_days)::numeric, 1)),
            jsonb_build_object(
                'age_days', c.age_days,
                'typical_days', round(c.typical_days::numeric, 1),
                'statistic', %(statistic)s, 'n_won', c.n_won,
                'multiplier', %(multiplier)s,
                'segment', CASE WHEN c.used_fallback THEN NULL ELSE c.segment END,
                'ratio', round((c.age_days / c.typical_days)::numeric, 2))
        FROM checked c
        WHERE c.typical_days IS NOT NULL AND c.typical_days > 0
          AND c.age_days > %(multiplier)s * c.typical_days
    """
    return CandidateQuery(
        sql=sql,
        params={
            "tenant_id": tenant_id,
            "as_of": as_of,
            "segments": segments,
            "days": days,
            "counts": counts,
            "fallback_days": None if fallback_days is None else float(fallback_days),
            "fallback_count": int(fallback_count),
            "multiplier": float(settings["cycle_multiplier"]),
            "critical_ratio": float(settings["critical_ratio"]),
            "statistic": thresholds.statistic,
        },
    )


# --- slip ------------------------------------------------------------------------------------


# The slip rule's working tables (temporary, dropped at commit; rebuilt on every run).
SLIP_LATEST_TABLE = "alert_slip_latest"
SLIP_PUSHED_TABLE = "alert_slip_pushed"
# "1 day", "46 days": how far a slip pushed the date, in the alert's words.
_DAYS_PUSHED = (
    "(p.new_date - p.old_date) || CASE WHEN p.new_date - p.old_date = 1 THEN ' day' ELSE ' days' END"
)


def slip_candidates_sql(*, tenant_id: int, as_of: dt.date, settings: Mapping[str, Any]) -> CandidateQuery:
    """Open deals whose latest close-date change, within ``window_days`` up to ``as_of``, pushed
    the date out by at least ``min_push_days`` and still holds (the date was not pulled back).

    Reads alerts_closedatechange (written by a trigger on deals_deal), not the deals: the
    work is proportional to the changes of the last weeks, not to the open pipeline.

    Built in steps through temporary tables, each ANALYZEd before anything joins it. "The
    deal's date is still the pushed one" (``expected_close_date = new_date``) is a correlation
    the planner cannot estimate: it guessed 1 row where 20,000 deals matched, and a nested
    loop over the per-deal history then cost 100 s at 1,000,000 open deals (quadratic in the
    pushes). Here each statement joins at most two relations of known size, the filter comes
    last, and the candidate query is a scan of a table whose row count is exact.
    """
    setup = (
        f"DROP TABLE IF EXISTS pg_temp.{SLIP_LATEST_TABLE}, pg_temp.{SLIP_PUSHED_TABLE}",
        # 1. Each deal's latest change in the window (one relation, no join).
        f"""
        CREATE TEMP TABLE {SLIP_LATEST_TABLE} ON COMMIT DROP AS
        SELECT DISTINCT ON (c.deal_id) c.deal_id, c.old_date, c.new_date, c.changed_at
        FROM alerts_closedatechange c
        WHERE c.tenant_id = %(tenant_id)s
          AND c.changed_at >= %(window_start)s AND c.changed_at < %(window_end)s
        ORDER BY c.deal_id, c.changed_at DESC, c.id DESC
        """,
        f"ANALYZE {SLIP_LATEST_TABLE}",
        # 2. Pushes that are long enough, with the deal's history, kept where the deal is still
        # open at the pushed date. Joins: the history (by deal, sized by step 1) and the deals.
        f"""
        CREATE TEMP TABLE {SLIP_PUSHED_TABLE} ON COMMIT DROP AS
        WITH history AS MATERIALIZED (
            SELECT l.deal_id, l.old_date, l.new_date, l.changed_at,
                   count(*) FILTER (WHERE c.new_date > c.old_date) AS push_count,
                   (array_agg(c.old_date ORDER BY c.changed_at, c.id))[1] AS first_date
            FROM {SLIP_LATEST_TABLE} l
            JOIN alerts_closedatechange c ON c.deal_id = l.deal_id
            WHERE c.tenant_id = %(tenant_id)s AND c.changed_at < %(window_end)s
              AND l.new_date - l.old_date >= %(min_push_days)s
            GROUP BY l.deal_id, l.old_date, l.new_date, l.changed_at
        )
        SELECT h.*, coalesce(nullif(d.name, ''), d.crm_id) AS deal_name
        FROM history h
        JOIN deals_deal d ON d.id = h.deal_id AND d.tenant_id = %(tenant_id)s
        WHERE d.status = 'open' AND d.expected_close_date = h.new_date
        """,
        f"ANALYZE {SLIP_PUSHED_TABLE}",
    )
    sql = f"""
        SELECT
            'slip:deal:' || p.deal_id,
            p.deal_id,
            '',
            '',
            CASE WHEN p.push_count >= %(critical_pushes)s THEN 'critical' ELSE 'warning' END,
            format('%%s: close date pushed %%s', p.deal_name, {_DAYS_PUSHED}),
            format('Expected close moved from %%s to %%s (+%%s) on %%s; pushed %%s '
                   'since %%s was first expected.',
                   p.old_date, p.new_date, {_DAYS_PUSHED}, p.changed_at::date,
                   CASE WHEN p.push_count = 1 THEN 'once' ELSE p.push_count || ' times' END, p.first_date),
            jsonb_build_object(
                'previous_expected_close_date', p.old_date,
                'expected_close_date', p.new_date,
                'first_expected_close_date', p.first_date,
                'push_days', p.new_date - p.old_date, 'push_count', p.push_count,
                'pushed_on', p.changed_at::date)
        FROM {SLIP_PUSHED_TABLE} p
    """
    window_end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return CandidateQuery(
        sql=sql,
        params={
            "tenant_id": tenant_id,
            "window_start": window_end - dt.timedelta(days=int(settings["window_days"])),
            "window_end": window_end,
            "min_push_days": int(settings["min_push_days"]),
            "critical_pushes": int(settings["critical_pushes"]),
        },
        setup=setup,
    )


# --- segment deterioration -------------------------------------------------------------------

# Segments compared month to month: their values mean the same thing every month (size bands
# are re-cut monthly and "last stage reached" is partly the outcome, so neither is used).
SEGMENT_DIMENSIONS = ("industry", "region", "product_type", "lead_source")


@dataclass(frozen=True)
class SegmentDrop:
    """A segment whose win rate fell, with the numbers that show it (rates in [0, 1])."""

    dimension: str
    dimension_label: str
    value: str
    n_before: int
    won_before: int
    n_after: int
    won_after: int
    rate_before: float
    rate_after: float
    change_ci_low: float
    change_ci_high: float
    p_value: float
    p_value_adjusted: float  # Holm, over segments_tested
    segments_tested: int
    before_label: str
    after_label: str
    severity: str

    @property
    def change(self) -> float:
        return self.rate_after - self.rate_before


def _pts(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "−")


def segment_drop_summary(drop: SegmentDrop) -> str:
    return (
        f"Win rate of {drop.dimension_label.lower()} {drop.value} fell "
        f"{abs(drop.change) * 100:.1f} pts ({drop.rate_before * 100:.1f}% → {drop.rate_after * 100:.1f}%) "
        f"in {drop.after_label} vs {drop.before_label} (n = {drop.n_after} vs {drop.n_before}); "
        f"95% interval of the change {_pts(drop.change_ci_low)} to {_pts(drop.change_ci_high)} pts; "
        f"{_p(drop.p_value)}, {_p(drop.p_value_adjusted)} after Holm's correction for the "
        f"{drop.segments_tested} segments tested this month."
    )


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def segment_deterioration_candidates_sql(*, drops: Sequence[SegmentDrop]) -> CandidateQuery:
    """The segments in ``drops`` as candidate rows (computed in Python from a few aggregate rows)."""
    sql = """
        SELECT c.dedup_key, NULL::bigint, c.dimension, c.value, c.severity, c.title, c.summary,
               c.evidence::jsonb
        FROM unnest(%(keys)s::text[], %(dimensions)s::text[], %(values)s::text[],
                    %(severities)s::text[], %(titles)s::text[], %(summaries)s::text[],
                    %(evidence)s::text[])
             AS c(dedup_key, dimension, value, severity, title, summary, evidence)
    """
    return CandidateQuery(
        sql=sql,
        params={
            "keys": [dedup_key_for_segment(SEGMENT_DETERIORATION, d.dimension, d.value) for d in drops],
            "dimensions": [d.dimension for d in drops],
            "values": [d.value for d in drops],
            "severities": [d.severity for d in drops],
            "titles": [f"{d.dimension_label} {d.value}: win rate {_pts(d.change)} pts" for d in drops],
            "summaries": [segment_drop_summary(d) for d in drops],
            "evidence": [
                json.dumps(
                    {
                        "dimension": d.dimension,
                        "value": d.value,
                        "n_before": d.n_before,
                        "won_before": d.won_before,
                        "n_after": d.n_after,
                        "won_after": d.won_after,
                        "rate_before": round(d.rate_before, 4),
                        "rate_after": round(d.rate_after, 4),
                        "change": round(d.change, 4),
                        "change_ci_low": round(d.change_ci_low, 4),
                        "change_ci_high": round(d.change_ci_high, 4),
                        "p_value": float(f"{d.p_value:.3g}"),
                        "p_value_adjusted": float(f"{d.p_value_adjusted:.3g}"),
                        "correction": "holm",
                        "segments_tested": d.segments_tested,
                        "before": d.before_label,
                        "after": d.after_label,
                    }
                )
                for d in drops
            ],
        },
    )


# --- score drop ------------------------------------------------------------------------------

RISK_BANDS = ("high", "critical")
# Scores written because a new model was promoted reflect the model, not the deal.
MODEL_CHANGE_TRIGGER = "promotion"


def score_drop_candidates_sql(
    *, tenant_id: int, as_of: dt.date, settings: Mapping[str, Any]
) -> CandidateQuery:
    """Open deals whose win probability fell by more than ``drop_pts`` since the score before,
    or whose band crossed into high or critical, while that still holds.

    New drops come from scoring's CurrentScore (latest and previous score) scored within
    ``lookback_days`` before ``as_of``, ignoring rescoring caused by a model promotion. A drop
    already alerted keeps holding while the deal stays more than ``drop_pts`` below the
    probability it dropped from (or in the high/critical band it crossed into), so a later
    rescore that changes nothing does not resolve it.
    """
    sql = """
        WITH fresh AS (
            -- A new drop: the latest score against the one before it, scored in the look-back.
            SELECT cs.deal_id, cs.previous_probability AS before_probability,
                   cs.previous_band AS before_band, cs.scored_at::date::text AS dropped_on,
                   1 AS priority
            FROM scoring_currentscore cs
            WHERE cs.tenant_id = %(tenant_id)s
              AND cs.scored_at >= %(window_start)s AND cs.scored_at < %(window_end)s
              AND cs.previous_probability IS NOT NULL
              AND ((cs.previous_probability - cs.probability) * 100 > %(drop_pts)s
                   OR (cs.band = ANY(%(risk_bands)s) AND cs.previous_band <> ''
                       AND NOT cs.previous_band = ANY(%(risk_bands)s)))
        ),
        raised AS (
            -- A drop alerted earlier: still measured against the probability it dropped from.
            SELECT a.deal_id, (a.evidence ->> 'before_probability')::float8,
                   a.evidence ->> 'before_band', a.evidence ->> 'dropped_on', 0
            FROM alerts_alert a
            WHERE a.tenant_id = %(tenant_id)s AND a.kind = 'score_drop' AND NOT (a.state = 'resolved')
        ),
        reference AS (
            SELECT DISTINCT ON (r.deal_id) r.*
            FROM (SELECT * FROM fresh UNION ALL SELECT * FROM raised) r
            ORDER BY r.deal_id, r.priority
        ),
        holding AS (
            SELECT r.*, cs.probability, cs.band, s.driver_ids,
                   coalesce(nullif(d.name, ''), d.crm_id) AS deal_name
            FROM reference r
            JOIN scoring_currentscore cs ON cs.tenant_id = %(tenant_id)s AND cs.deal_id = r.deal_id
            JOIN scoring_dealscore s ON s.tenant_id = %(tenant_id)s AND s.id = cs.score_id
            JOIN deals_deal d ON d.tenant_id = %(tenant_id)s AND d.id = r.deal_id
            WHERE d.status = 'open'
              AND (r.priority = 0 OR s.trigger <> %(model_change)s)
              AND ((r.before_probability - cs.probability) * 100 > %(drop_pts)s
                   OR (cs.band = ANY(%(risk_bands)s) AND coalesce(r.before_band, '') <> ''
                       AND NOT r.before_band = ANY(%(risk_bands)s)))
        )
        SELECT
            'score_drop:deal:' || h.deal_id,
            h.deal_id,
            '',
            '',
            CASE WHEN h.band = 'critical' THEN 'critical' ELSE 'warning' END,
            format('%%s: win probability %%s%%%% → %%s%%%%', h.deal_name,
                   round((h.before_probability * 100)::numeric), round((h.probability * 100)::numeric)),
            format('Win probability fell from %%s%%%% to %%s%%%% (−%%s pts) since %%s; now %%s risk.%%s',
                   round((h.before_probability * 100)::numeric, 1), round((h.probability * 100)::numeric, 1),
                   round(((h.before_probability - h.probability) * 100)::numeric, 1), h.dropped_on, h.band,
                   coalesce(' Main negative driver: ' || driver.label || '.', '')),
            jsonb_build_object(
                'before_probability', round(h.before_probability::numeric, 4),
                'probability', round(h.probability::numeric, 4),
                'drop_pts', round(((h.before_probability - h.probability) * 100)::numeric, 1),
                'before_band', h.before_band, 'band', h.band, 'dropped_on', h.dropped_on,
                'main_driver', driver.label)
        FROM holding h
        LEFT JOIN LATERAL (
            SELECT e.label FROM unnest(h.driver_ids) AS u (entry_id)
            JOIN scoring_driverentry e ON e.tenant_id = %(tenant_id)s AND e.id = u.entry_id
            WHERE e.value < 0 ORDER BY e.value LIMIT 1
        ) driver ON true
    """
    window_end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return CandidateQuery(
        sql=sql,
        params={
            "tenant_id": tenant_id,
            "window_start": window_end - dt.timedelta(days=int(settings["lookback_days"])),
            "window_end": window_end,
            "drop_pts": float(settings["drop_pts"]),
            "risk_bands": list(RISK_BANDS),
            "model_change": MODEL_CHANGE_TRIGGER,
        },
    )
