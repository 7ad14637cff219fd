"""Reads for the insights engine: set-based SQL over deals, returning small aggregate tables.

Every query runs inside the active tenant's context (row-level security applies) and still
names ``tenant_id`` so the indexes that lead with it are used. Aggregation happens in
PostgreSQL (FILTER, GROUPING SETS, ordered-set aggregates); Python only post-processes the
aggregated rows, never one row per deal. docs/insights.md documents the dimensions, the
deal-size bands and the public signatures.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection

from deals.models import Rep
from insights import segments
from insights.cube import (
    AMOUNT_LADDER,
    CUBE_DIMENSIONS,
    OVERALL,
    SUM_COLUMNS,
    band_edges_from_histogram,
    dimension_set_key,
    display_value,
    size_band_labels,
)
from insights.segments import clean_number
from tenants.context import require_tenant_id

DateRange = tuple[dt.date, dt.date]


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str
    # Expression over the deals_deal row aliased ``d``.
    sql: str


DIMENSIONS: dict[str, Dimension] = {
    dimension.key: dimension
    for dimension in (
        Dimension("industry", "Industry", "d.industry"),
        Dimension("region", "Region", "d.region"),
        Dimension("product_type", "Product type", "d.product_type"),
        Dimension("lead_source", "Lead source", "d.lead_source"),
        Dimension("stage", "Last stage reached", "d.stage"),
        Dimension("size_band", "Deal size", "width_bucket(d.amount::float8, %(band_edges)s::float8[])"),
        Dimension("rep", "Rep", "d.rep_id"),
    )
}
SINGLE_DIMENSIONS: tuple[str, ...] = tuple(DIMENSIONS)
DIMENSION_PAIRS: tuple[tuple[str, str], ...] = tuple(combinations(SINGLE_DIMENSIONS, 2))
ALL_DIMENSION_SETS: tuple[tuple[str, ...], ...] = (
    (),
    *((key,) for key in SINGLE_DIMENSIONS),
    *DIMENSION_PAIRS,
)

MEDIAN_COLUMNS = ("median_amount", "median_cycle_won_days", "p75_cycle_won_days", "median_cycle_lost_days")
# The ladder bin of the amount; only the cube groups by it (see insights.cube).
AMOUNT_BIN = Dimension(
    "amount_bin", "Amount bin", "width_bucket(d.amount::float8, %(amount_ladder)s::float8[])"
)


def size_band_edges(*, ranges: Sequence[DateRange]) -> list[float]:
    """Deal-size band edges for the closed deals in ``ranges`` (pooled): round quartiles.

    Pooling the ranges puts the periods being compared on one ruler. One query returns the
    amount histogram on the ladder; :func:`insights.cube.band_edges_from_histogram` picks the
    edges. Returns ascending distinct edges (up to three, so up to four bands).
    """
    if not ranges:
        return []
    rows_sql, params = _closed_in_ranges(ranges, f"{AMOUNT_BIN.sql} AS amount_bin")
    params["amount_ladder"] = list(AMOUNT_LADDER)
    sql = f"SELECT amount_bin, count(*) FROM ({rows_sql}) AS closed GROUP BY 1"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return band_edges_from_histogram(bins=[row[0] for row in rows], counts=[row[1] for row in rows])


def _dimension(key: str) -> Dimension:
    return AMOUNT_BIN if key == AMOUNT_BIN.key else DIMENSIONS[key]


def closed_deal_cube(*, ranges: Sequence[DateRange]) -> pd.DataFrame:
    """The fine cube of closed deals for :class:`insights.cube.Cube`, in one query.

    One row per range (``period`` 0, 1, …) × industry × region × product type × lead source
    × last stage × amount bin, with the sums in SUM_COLUMNS; the CUBE_DIMENSIONS and
    ``amount_bin`` are columns. A single hash aggregate: its cost is one pass over the
    ranges' deals, and its size is bounded by the number of combinations, not of deals.
    """
    keys = (*CUBE_DIMENSIONS, AMOUNT_BIN.key)
    columns, rows, _ = _aggregate_rows(ranges=ranges, wanted=[keys], band_edges=(), with_medians=False)
    frame = pd.DataFrame(rows, columns=columns)
    for column in ("n", "won"):
        frame[column] = frame[column].astype("int64")
    for column in SUM_COLUMNS[2:]:
        frame[column] = frame[column].astype(float).fillna(0.0)
    return frame[["period", *keys, *SUM_COLUMNS]]


def _closed_in_ranges(ranges: Sequence[DateRange], columns: str) -> tuple[str, dict[str, Any]]:
    """SQL for ``columns`` of closed deals, one UNION ALL branch per range, with ``period``.

    Each branch is a plain range on closed_date, so PostgreSQL can use an index(-only) range
    scan (insights_deal_closed_cover) per branch; a deal in two ranges goes to the first.
    """
    params: dict[str, Any] = {"tenant_id": require_tenant_id()}
    branches = []
    for index, (start, end) in enumerate(ranges):
        params[f"start_{index}"], params[f"end_{index}"] = start, end
        earlier = "".join(
            f" AND NOT (d.closed_date >= %(start_{prior})s AND d.closed_date < %(end_{prior})s)"
            for prior in range(index)
        )
        branches.append(
            f"SELECT {index} AS period, {columns} FROM deals_deal d "
            f"WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost') "
            f"AND d.closed_date >= %(start_{index})s AND d.closed_date < %(end_{index})s{earlier}"
        )
    return " UNION ALL ".join(branches), params


def closed_deal_aggregates(
    *,
    ranges: Sequence[DateRange],
    dimension_sets: Sequence[Sequence[str]] = ALL_DIMENSION_SETS,
    band_edges: Sequence[float] = (),
    with_medians: bool = True,
) -> pd.DataFrame:
    """Sufficient statistics of closed deals per range × segment, in one SQL query.

    ``ranges`` are [start, end) close-date ranges, numbered 0, 1, … in the ``period`` column (a
    deal in two overlapping ranges counts in the first). ``dimension_sets`` lists the
    segmentations wanted (``()`` is the whole tenant). Returns one row per period and segment
    with columns ``period``, ``dimension`` (see :func:`dimension_set_key`), ``values`` (tuple
    of raw values: strings, a rep id, a size-band number), the sums in SUM_COLUMNS and, with
    ``with_medians``, the medians in MEDIAN_COLUMNS (days and currency units; NaN when no
    deal qualifies). Amounts are summed as float8.
    """
    wanted = [tuple(dimensions) for dimensions in dimension_sets]
    columns, rows, used = _aggregate_rows(
        ranges=ranges, wanted=wanted, band_edges=band_edges, with_medians=with_medians
    )
    return _label_grouping_sets(rows, columns=columns, used=used, wanted=wanted, with_medians=with_medians)


def _aggregate_rows(
    *,
    ranges: Sequence[DateRange],
    wanted: Sequence[tuple[str, ...]],
    band_edges: Sequence[float],
    with_medians: bool,
) -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    """Run the aggregate query; returns (column names, rows, dimensions used in order)."""
    known = (*SINGLE_DIMENSIONS, AMOUNT_BIN.key)
    unknown = {key for dimensions in wanted for key in dimensions} - set(known)
    if unknown:
        raise ValueError(f"Unknown dimensions: {sorted(unknown)}")
    used = [key for key in known if any(key in dimensions for dimensions in wanted)]
    select_dimensions = "".join(f", {_dimension(key).sql} AS {key}" for key in used)
    rows_sql, params = _closed_in_ranges(
        ranges,
        "(d.status = 'won')::int AS won, d.amount::float8 AS amount, "
        f"d.sales_cycle_days AS cycle_days{select_dimensions}",
    )
    params["band_edges"] = [float(edge) for edge in band_edges] or [math.inf]
    params["amount_ladder"] = list(AMOUNT_LADDER)
    grouping_sets = ", ".join("(" + ", ".join(dimensions) + ")" for dimensions in wanted)
    grouping = f"GROUPING({', '.join(used)})" if used else "0"
    medians = ""
    if with_medians:
        medians = """,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median_amount,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE won = 1)
                AS median_cycle_won_days,
            percentile_cont(0.75) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE won = 1)
                AS p75_cycle_won_days,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days) FILTER (WHERE won = 0)
                AS median_cycle_lost_days"""
    sql = f"""
        SELECT period, {grouping} AS grouping_mask{"".join(f", {key}" for key in used)},
            count(*) AS n,
            sum(won) AS won,
            sum(amount) AS amount_sum,
            sum(amount) FILTER (WHERE won = 1) AS won_amount_sum,
            sum(amount * amount) AS amount_sq_sum,
            sum(amount * amount) FILTER (WHERE won = 1) AS won_amount_sq_sum{medians}
        FROM ({rows_sql}) AS closed
        GROUP BY period, GROUPING SETS ({grouping_sets})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    return columns, rows, used


def _label_grouping_sets(
    rows: list[tuple[object, ...]],
    *,
    columns: list[str],
    used: list[str],
    wanted: list[tuple[str, ...]],
    with_medians: bool,
) -> pd.DataFrame:
    """Turn GROUPING() bit masks into ``dimension`` keys and value tuples."""
    out_columns = ["period", "dimension", "values", *SUM_COLUMNS, *(MEDIAN_COLUMNS if with_medians else ())]
    if not rows:
        return pd.DataFrame(columns=out_columns)
    frame = pd.DataFrame(rows, columns=columns)
    mask_to_set = {
        _grouping_mask(used, dimensions): tuple(key for key in used if key in dimensions)
        for dimensions in wanted
    }
    sets = frame["grouping_mask"].map(mask_to_set)
    frame = frame.assign(dimension=sets.map(dimension_set_key))
    # Values come from the raw rows: pandas would turn integer keys with NULLs into floats.
    positions = {key: columns.index(key) for key in used}
    frame["values"] = [
        tuple(row[positions[key]] for key in dimensions) for row, dimensions in zip(rows, sets, strict=True)
    ]
    for column in ("amount_sum", "won_amount_sum", "amount_sq_sum", "won_amount_sq_sum"):
        frame[column] = frame[column].astype(float).fillna(0.0)
    frame["n"] = frame["n"].astype(int)
    frame["won"] = frame["won"].astype(int)
    if with_medians:
        for column in MEDIAN_COLUMNS:
            frame[column] = frame[column].astype(float)
    return frame[out_columns].reset_index(drop=True)


def rep_labels(*, rep_ids: Sequence[int] | None = None) -> dict[int, tuple[str, str]]:
    """Rep id → (crm_id, display name) for the given ids (None: all the tenant's reps)."""
    reps = Rep.objects.all()
    if rep_ids is not None:
        reps = reps.filter(pk__in=[rep_id for rep_id in rep_ids if rep_id is not None])
    return {rep.pk: (rep.crm_id, rep.name or rep.crm_id) for rep in reps.only("pk", "crm_id", "name")}


def value_label_parts(
    *,
    frame: pd.DataFrame,
    dimension_keys: Sequence[str],
    band_edges: Sequence[float],
    reps: Mapping[int, tuple[str, str]] | None = None,
) -> pd.Series:
    """Display strings, one tuple per row, for the ``values`` tuples of an aggregate table.

    Blank values and missing reps read "(unknown)"; reps read as their CRM id; size bands as
    their amount range. Join a tuple with " × " for one label (:func:`join_label`). ``reps``
    (from :func:`rep_labels`) saves the lookup when the caller has it.
    """
    band_names = size_band_labels(band_edges)
    if reps is None:
        wants_reps = any("rep" in key.split("+") for key in dimension_keys)
        rep_ids = {value for values in frame["values"] for value in values if isinstance(value, int)}
        reps = rep_labels(rep_ids=sorted(rep_ids)) if wants_reps else {}

    def parts(dimension: str, values: tuple[object, ...]) -> tuple[str, ...]:
        keys = [] if dimension == OVERALL else dimension.split("+")
        out = []
        for key, value in zip(keys, values, strict=True):
            if key == "rep" and value is not None:
                out.append(reps.get(int(value), (str(value), ""))[0])  # type: ignore[call-overload]
            else:
                out.append(display_value(key, value, band_names))
        return tuple(out)

    return pd.Series(
        [
            parts(dimension, values)
            for dimension, values in zip(frame["dimension"], frame["values"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )


def join_label(parts: Sequence[str]) -> str:
    return " × ".join(parts) if parts else "All deals"


@dataclass(frozen=True)
class CycleStat:
    """Sales-cycle statistics of won deals in one segment (days)."""

    median_days: float
    p75_days: float
    n_won: int


def winning_cycle_days(
    *,
    closed_from: dt.date,
    closed_before: dt.date,
    dimensions: Sequence[str] = (),
    quantile: float = 0.75,
) -> dict[tuple[object, ...], CycleStat]:
    """The "typical winning cycle": median and ``quantile`` of won deals' sales_cycle_days.

    Over deals won in [closed_from, closed_before), for the whole tenant (key ``()``) and per
    combination of ``dimensions`` (keys are value tuples in ``dimensions`` order, raw values:
    rep ids for ``rep``, band numbers for ``size_band`` with bands from that window). One
    query. Callers apply their own minimum sample using ``n_won``.

    Empty (``{}``, not even the ``()`` key) when no deal with a known cycle was won in the
    window: there is no typical winning cycle to report, and no segment has a zero-count entry.
    """
    by_set = winning_cycle_by_dimension_set(
        closed_from=closed_from,
        closed_before=closed_before,
        dimension_sets=[tuple(dimensions)] if dimensions else [],
        quantile=quantile,
    )
    result = dict(by_set.get(tuple(dimensions), {}))
    result.update(by_set.get((), {}))
    return result


def winning_cycle_by_dimension_set(
    *,
    closed_from: dt.date,
    closed_before: dt.date,
    dimension_sets: Sequence[Sequence[str]],
    quantile: float = 0.75,
    band_edges: Sequence[float] | None = None,
) -> dict[tuple[str, ...], dict[tuple[object, ...], CycleStat]]:
    """:func:`winning_cycle_days` for several segmentations at once (plus the whole tenant).

    Returns {dimension tuple: {value tuple: CycleStat}}, with ``()`` → {(): overall}. Dimension
    tuples are given back in the order passed. One query with GROUPING SETS over won deals only.
    """
    wanted = [tuple(dimensions) for dimensions in dimension_sets]
    unknown = {key for dimensions in wanted for key in dimensions} - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"Unknown dimensions: {sorted(unknown)}")
    used = [key for key in SINGLE_DIMENSIONS if any(key in dimensions for dimensions in wanted)]
    if "size_band" in used and band_edges is None:
        band_edges = size_band_edges(ranges=[(closed_from, closed_before)])
    params: dict[str, Any] = {
        "tenant_id": require_tenant_id(),
        "start": closed_from,
        "end": closed_before,
        "quantile": quantile,
        "band_edges": [float(edge) for edge in band_edges or ()] or [math.inf],
    }
    select_dimensions = "".join(f", {DIMENSIONS[key].sql} AS {key}" for key in used)
    grouping_sets = ", ".join(["()", *("(" + ", ".join(dimensions) + ")" for dimensions in wanted)])
    grouping = f"GROUPING({', '.join(used)})" if used else "0"
    sql = f"""
        SELECT {grouping} AS grouping_mask{"".join(f", {key}" for key in used)},
            percentile_cont(0.5) WITHIN GROUP (ORDER BY cycle_days),
            percentile_cont(%(quantile)s) WITHIN GROUP (ORDER BY cycle_days),
            count(*)
        FROM (
            SELECT d.sales_cycle_days AS cycle_days{select_dimensions}
            FROM deals_deal d
            WHERE d.tenant_id = %(tenant_id)s AND d.status = 'won'
              AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
              AND d.sales_cycle_days IS NOT NULL
        ) AS won
        GROUP BY GROUPING SETS ({grouping_sets})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    width = len(used)
    mask_to_set = {_grouping_mask(used, dimensions): dimensions for dimensions in [(), *wanted]}
    result: dict[tuple[str, ...], dict[tuple[object, ...], CycleStat]] = {}
    for row in rows:
        dimensions = mask_to_set[row[0]]
        positions = [used.index(key) for key in dimensions]
        values = tuple(row[1 + position] for position in positions)
        median, upper, count = row[1 + width :]
        if not count:
            continue  # the () grouping set of an empty range
        result.setdefault(dimensions, {})[values] = CycleStat(
            median_days=float(median), p75_days=float(upper), n_won=int(count)
        )
    return result


def _grouping_mask(used: Sequence[str], dimensions: Sequence[str]) -> int:
    """The GROUPING(used…) value of a grouping set: bit (width − 1 − i) set when used[i] is absent."""
    width = len(used)
    return sum(1 << (width - 1 - i) for i, key in enumerate(used) if key not in dimensions)


@dataclass(frozen=True)
class StageTime:
    """Time won deals spent in one stage, in days, for one segment."""

    quantile_days: float
    median_days: float
    n_won: int


def stage_time_p75_days(
    *,
    closed_from: dt.date,
    closed_before: dt.date,
    dimensions: Sequence[str] = (),
    quantile: float = 0.75,
) -> dict[tuple[str, tuple[object, ...]], StageTime]:
    """Per stage, the ``quantile`` (default p75) of days won deals spent in it, by segment.

    Time in a stage runs from the stage change into it (the created date for the stage a deal
    started in) to the next change, or to the closed date for the last stage. Uses stage
    history (deals.DealStageChange) of deals won in [closed_from, closed_before); empty when
    there is none. Keys are (stage, ()) for the whole tenant and (stage, value tuple in
    ``dimensions`` order) per segment, with raw values as in :func:`winning_cycle_days`.
    """
    unknown = [key for key in dimensions if key not in DIMENSIONS]
    if unknown:
        raise ValueError(f"Unknown dimensions: {unknown}")
    edges = size_band_edges(ranges=[(closed_from, closed_before)]) if "size_band" in dimensions else []
    params: dict[str, Any] = {
        "tenant_id": require_tenant_id(),
        "start": closed_from,
        "end": closed_before,
        "quantile": quantile,
        "band_edges": edges or [math.inf],
    }
    select_dimensions = "".join(f", {DIMENSIONS[key].sql} AS {key}" for key in dimensions)
    carry_dimensions = "".join(f", w.{key}" for key in dimensions)
    grouping_sets = "(stage), (stage, " + ", ".join(dimensions) + ")" if dimensions else "(stage)"
    grouping = f"GROUPING({', '.join(dimensions)})" if dimensions else "0"
    sql = f"""
        WITH won AS (
            SELECT d.id, d.created_date, d.closed_date{select_dimensions}
            FROM deals_deal d
            WHERE d.tenant_id = %(tenant_id)s AND d.status = 'won'
              AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
        ),
        changes AS (
            SELECT c.deal_id, c.from_stage, c.to_stage, c.changed_on,
                   row_number() OVER (PARTITION BY c.deal_id ORDER BY c.changed_on, c.id) AS position,
                   lead(c.changed_on) OVER (PARTITION BY c.deal_id ORDER BY c.changed_on, c.id) AS next_on
            FROM deals_dealstagechange c
            JOIN won w ON w.id = c.deal_id
            WHERE c.tenant_id = %(tenant_id)s
        ),
        spells AS (
            SELECT c.to_stage AS stage, COALESCE(c.next_on, w.closed_date) - c.changed_on AS days
                {carry_dimensions}
            FROM changes c JOIN won w ON w.id = c.deal_id
            UNION ALL
            SELECT c.from_stage AS stage, c.changed_on - w.created_date AS days{carry_dimensions}
            FROM changes c JOIN won w ON w.id = c.deal_id
            WHERE c.position = 1 AND c.from_stage <> ''
        )
        SELECT stage, {grouping} AS grouping_mask{"".join(f", {key}" for key in dimensions)},
            percentile_cont(%(quantile)s) WITHIN GROUP (ORDER BY greatest(days, 0)),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY greatest(days, 0)),
            count(*)
        FROM spells
        GROUP BY GROUPING SETS ({grouping_sets})
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result: dict[tuple[str, tuple[object, ...]], StageTime] = {}
    width = len(dimensions)
    for row in rows:
        values = () if row[1] else tuple(row[2 : 2 + width])
        upper, median, count = row[2 + width :]
        result[(row[0], values)] = StageTime(
            quantile_days=float(upper), median_days=float(median), n_won=int(count)
        )
    return result


# "Typical" for a stage or a cycle: what won deals did in this many days before a date.
TYPICAL_LOOKBACK_DAYS = 365


def typical_stage_days(*, before: dt.date) -> dict[str, float]:
    """Median days won deals of the TYPICAL_LOOKBACK_DAYS before ``before`` spent in each stage
    (from stage history): the "typical" time the deal page's timeline and drivers' labels
    quote. Empty when the tenant has no stage history. One query."""
    start = before - dt.timedelta(days=TYPICAL_LOOKBACK_DAYS)
    times = stage_time_p75_days(closed_from=start, closed_before=before)
    return {stage: stat.median_days for (stage, values), stat in times.items() if values == ()}


def stage_entry_counts(*, closed_from: dt.date, closed_before: dt.date) -> dict[str, int]:
    """Moves into each stage recorded in the stage history of deals closed in the range.

    Counts history rows by ``to_stage`` for deals closed in [closed_from, closed_before): with
    one entry per stage and deal (the usual case) that is how many of those deals reached
    each stage. Empty when none of them has stage history.
    """
    # = ANY(ARRAY(…)) makes PostgreSQL probe the history's deal index instead of scanning
    # the whole history table for a hash join (2–3× faster at a million deals).
    sql = """
        SELECT c.to_stage, count(*)
        FROM deals_dealstagechange c
        WHERE c.tenant_id = %(tenant_id)s AND c.deal_id = ANY(ARRAY(
            SELECT d.id FROM deals_deal d
            WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost')
              AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
        ))
        GROUP BY c.to_stage
    """
    params: dict[str, Any] = {"tenant_id": require_tenant_id(), "start": closed_from, "end": closed_before}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {stage: int(count) for stage, count in cursor.fetchall()}


# Segment priors for the pipeline: closed deals of the last year, by these fields.
PIPELINE_PRIOR_DIMENSIONS: tuple[str, ...] = ("lead_source", "product_type")
PIPELINE_PRIOR_LOOKBACK_DAYS = 365


@dataclass(frozen=True)
class PipelineValue:
    """Open pipeline as of a date: raw, probability-weighted, and the gap between them.

    ``method`` says where the probabilities came from: "segment_prior", "scores", or
    "scores+segment_prior" when some open deals had no score. ``weighted`` is NaN when a deal
    needs a segment prior and the tenant has never closed a deal.
    """

    n_open: int
    raw: float
    weighted: float
    method: str

    @property
    def gap(self) -> float:
        return self.raw - self.weighted

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_open": self.n_open,
            "raw": clean_number(self.raw, 2),
            "weighted": clean_number(self.weighted, 2),
            "gap": clean_number(self.gap, 2),
            "method": self.method,
        }


def _open_filter(as_of: dt.date | None) -> tuple[str, dict[str, Any]]:
    """Deals open at the start of ``as_of`` (created before it, not closed before it)."""
    params: dict[str, Any] = {"tenant_id": require_tenant_id()}
    if as_of is None:
        return "d.tenant_id = %(tenant_id)s AND d.status = 'open'", params
    params["as_of"] = as_of
    return (
        "d.tenant_id = %(tenant_id)s AND d.created_date < %(as_of)s AND (d.status = 'open' "
        "OR (d.status IN ('won', 'lost') AND d.closed_date >= %(as_of)s))"
    ), params


def segment_prior_rates(
    *, as_of: dt.date, dimensions: Sequence[str] = PIPELINE_PRIOR_DIMENSIONS
) -> pd.DataFrame:
    """Empirical-Bayes win rate per segment of closed deals in the year before ``as_of``.

    All earlier history is used when that year has no closed deal. Returns columns ``values``
    (tuple in ``dimensions`` order), ``n``, ``won``, ``prior_rate`` plus the fitted prior's mean
    in ``frame.attrs["prior_mean"]`` (the rate for segments with no history); empty with
    prior_mean NaN when no deal ever closed before ``as_of``.
    """
    start = as_of - dt.timedelta(days=PIPELINE_PRIOR_LOOKBACK_DAYS)
    frame = closed_deal_aggregates(
        ranges=[(start, as_of)], dimension_sets=[tuple(dimensions)], with_medians=False
    )
    if frame.empty:
        frame = closed_deal_aggregates(
            ranges=[(dt.date.min, as_of)], dimension_sets=[tuple(dimensions)], with_medians=False
        )
    return segments.prior_rates(frame)


def pipeline_value(
    *,
    as_of: dt.date | None = None,
    probabilities: Mapping[int, float] | None = None,
    priors: pd.DataFrame | None = None,
) -> PipelineValue:
    """Raw and probability-weighted value of the deals open as of ``as_of`` (None: now).

    Without ``probabilities`` each deal is weighted by its segment prior: ``priors`` (the
    shape of :func:`segment_prior_rates`, keyed by PIPELINE_PRIOR_DIMENSIONS values), by
    default :func:`segment_prior_rates` for the year before ``as_of`` (or today). With
    ``probabilities`` (deal id → win probability in [0, 1], e.g. the scoring model's scores)
    those are used, and deals missing from the mapping fall back to their segment prior.
    Amounts are the deals' current amounts.
    """
    where, params = _open_filter(as_of)
    if priors is None:
        priors = segment_prior_rates(as_of=as_of or dt.date.today())
    prior_mean = priors.attrs["prior_mean"]
    prior_by_values = dict(zip(priors["values"], priors["prior_rate"], strict=True))
    dimension_sql = ", ".join(f"{DIMENSIONS[key].sql} AS {key}" for key in PIPELINE_PRIOR_DIMENSIONS)
    width = len(PIPELINE_PRIOR_DIMENSIONS)
    if probabilities is None:
        sql = f"""
            SELECT {dimension_sql}, count(*), COALESCE(sum(d.amount::float8), 0)
            FROM deals_deal d WHERE {where}
            GROUP BY {", ".join(str(i + 1) for i in range(width))}
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        counts = np.array([row[width] for row in rows], dtype=np.int64)
        amounts = np.array([row[width + 1] for row in rows], dtype=np.float64)
        rates = np.array(
            [prior_by_values.get(tuple(row[:width]), prior_mean) for row in rows], dtype=np.float64
        )
        # With no closed deal ever, there is no prior: the weighted value is unknown (NaN).
        weighted = float(np.sum(amounts * rates))
        return PipelineValue(
            n_open=int(counts.sum()), raw=float(amounts.sum()), weighted=weighted, method="segment_prior"
        )
    sql = f"SELECT d.id, d.amount::float8, {dimension_sql} FROM deals_deal d WHERE {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        frame = pd.DataFrame(cursor.fetchall(), columns=["id", "amount", *PIPELINE_PRIOR_DIMENSIONS])
    if frame.empty:
        return PipelineValue(n_open=0, raw=0.0, weighted=0.0, method="scores")
    scores = frame["id"].map(pd.Series(probabilities, dtype=float)).clip(0.0, 1.0)
    keys = pd.Series(
        list(zip(*(frame[key] for key in PIPELINE_PRIOR_DIMENSIONS), strict=True)), index=frame.index
    )
    fallback = keys.map(prior_by_values).fillna(prior_mean)
    missing = scores.isna()
    used = scores.where(~missing, fallback)
    return PipelineValue(
        n_open=len(frame),
        raw=float(frame["amount"].sum()),
        weighted=float(np.sum(frame["amount"] * used)),
        method="scores+segment_prior" if missing.any() else "scores",
    )


def segment_value_key(values: Sequence[str]) -> str:
    """The stored key of a segment's display values: JSON, so no separator can be ambiguous."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def segment_metric_list(
    *,
    closed_from: dt.date,
    closed_before: dt.date,
    dimension_sets: Sequence[Sequence[str]] = ALL_DIMENSION_SETS,
    min_sample: int | None = None,
    band_edges: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    """Segment metrics of deals closed in [closed_from, closed_before), computed now.

    One row per segment of each dimension set (default: the whole tenant, each single
    dimension and each pair): n, won, win rate with Wilson interval, weighted win rate with
    its interval, amount sums, average and median amount, median cycle of won and of lost
    deals (days), p75 cycle of won deals. Cells below ``min_sample`` (default
    settings.INSIGHTS_MIN_SEGMENT_SAMPLE) closed deals are ``below_min_sample`` and never
    flagged; the rest are tested against the remainder of the tenant with Holm's correction
    over all cells (``flag`` "above"/"below"/None). Size bands default to the quartiles of the
    range (:func:`size_band_edges`). See docs/insights.md for the row schema.
    """
    minimum = settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample
    ranges = [(closed_from, closed_before)]
    sets = [tuple(dimensions) for dimensions in dimension_sets]
    if () not in sets:
        sets.insert(0, ())
    edges = list(size_band_edges(ranges=ranges) if band_edges is None else band_edges)
    frame = closed_deal_aggregates(ranges=ranges, dimension_sets=sets, band_edges=edges)
    if frame.empty:
        return []
    frame["parts"] = value_label_parts(
        frame=frame, dimension_keys=list(frame["dimension"].unique()), band_edges=edges
    )
    frame["label"] = frame["parts"].map(join_label)
    overall = frame[frame["dimension"] == OVERALL].iloc[0]
    table = segments.rate_columns(frame)
    cells = table[table["dimension"] != OVERALL]
    cells = segments.flag_segments(
        cells, overall_n=int(overall["n"]), overall_won=int(overall["won"]), min_sample=minimum
    )
    table = pd.concat([table[table["dimension"] == OVERALL].assign(below_min_sample=False, flag=None), cells])
    rows = []
    for record in table.to_dict("records"):
        dimensions = [] if record["dimension"] == OVERALL else record["dimension"].split("+")
        display = list(record["parts"])
        rows.append(
            {
                "dimension_key": record["dimension"],
                "dimensions": dimensions,
                "values": display,
                "value": record["label"],
                "value_key": segment_value_key(display),
                "n": int(record["n"]),
                "won": int(record["won"]),
                "win_rate": clean_number(record["win_rate"]),
                "ci_low": clean_number(record["ci_low"]),
                "ci_high": clean_number(record["ci_high"]),
                "weighted_win_rate": clean_number(record["weighted_win_rate"]),
                "weighted_ci_low": clean_number(record["weighted_ci_low"]),
                "weighted_ci_high": clean_number(record["weighted_ci_high"]),
                "amount_sum": clean_number(record["amount_sum"], 2),
                "won_amount_sum": clean_number(record["won_amount_sum"], 2),
                "amount_sq_sum": clean_number(record["amount_sq_sum"], 2),
                "won_amount_sq_sum": clean_number(record["won_amount_sq_sum"], 2),
                "avg_amount": clean_number(record["avg_amount"], 2),
                "median_amount": clean_number(record["median_amount"], 2),
                "median_cycle_won_days": clean_number(record["median_cycle_won_days"], 2),
                "p75_cycle_won_days": clean_number(record["p75_cycle_won_days"], 2),
                "median_cycle_lost_days": clean_number(record["median_cycle_lost_days"], 2),
                "below_min_sample": bool(record["below_min_sample"]),
                "p_value": clean_number(record.get("p_value")),
                "p_value_adjusted": clean_number(record.get("p_value_adjusted")),
                "flag": segments.clean_text(record["flag"]),
            }
        )
    return rows
