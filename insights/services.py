"""The insights engine's entry points: the diagnosis document and the monthly metrics refresh.

``diagnose`` answers the CRO's question — did win rate move, is it more than noise, is it
mix or conversion, and where — as one JSON-ready document (schema in docs/insights.md).
``segment_metrics_refresh`` stores a month of segment metrics (the alerts app schedules it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction

from insights import decomposition, document, segments, selectors
from insights.cube import SUM_COLUMNS, Cube, band_edges_from_histogram, display_value, size_band_labels
from insights.models import SegmentMetric
from insights.periods import (
    Compare,
    ComparedPeriods,
    Period,
    PeriodKind,
    add_months,
    month_start,
    periods_compared,
)
from insights.segments import clean_number
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Tenant

# "Last stage reached" is partly an outcome of the deal (lost deals stop early), so a shift in
# it explains nothing: it is decomposed and shown, but never ranked, flagged or an adjuster.
UNRANKED_DIMENSIONS = ("stage",)
# Dimensions whose rate contributions are measured like for like within each other (pairs
# come from the cube); rep × dimension cells are too sparse, so rep rate effects stay raw.
ADJUSTABLE_DIMENSIONS = ("industry", "region", "product_type", "lead_source", "size_band")
SEGMENT_DIMENSIONS = ("industry", "region", "product_type", "lead_source", "stage", "size_band")
REP_WINDOW_MONTHS = 12


def diagnose(
    *,
    tenant: Tenant,
    as_of: dt.date | None = None,
    period: PeriodKind | str = PeriodKind.QUARTER,
    compare: Compare | str = Compare.PREVIOUS,
    to_date: bool = False,
    min_sample: int | None = None,
    pipeline_probabilities: Mapping[int, float] | None = None,
) -> dict[str, Any]:
    """The win-rate diagnosis of ``tenant`` as of ``as_of``: one JSON-ready document.

    ``as_of`` (default: today in the tenant's time zone) is exclusive: only deals closed
    before it count. The current period is the last complete ``period`` (month, quarter or
    fiscal year) before ``as_of``, or with ``to_date`` the period to date; it is compared
    with the previous period or the same period a year earlier (``compare``), and the
    headline also carries the other comparison. The rep table covers the 12 months ending
    with the current period. ``min_sample`` defaults to settings.INSIGHTS_MIN_SEGMENT_SAMPLE.
    ``pipeline_probabilities`` (deal id → win probability) replaces segment priors in the
    pipeline value. Runs in ``tenant``'s context; docs/insights.md documents every key.
    """
    with tenant_context(tenant):
        return _diagnosis(
            tenant=tenant,
            as_of=as_of,
            kind=PeriodKind(period),
            compare=Compare(compare),
            to_date=to_date,
            min_sample=settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample,
            pipeline_probabilities=pipeline_probabilities,
        )


def _year_before(day: dt.date) -> dt.date:
    return (
        day.replace(year=day.year - 1, day=min(day.day, 28))
        if day.month == 2
        else day.replace(year=day.year - 1)
    )


def _labelled(
    frame: pd.DataFrame,
    *,
    band_edges: Sequence[float],
    stages: Sequence[str],
    reps: Mapping[int, tuple[str, str]],
) -> pd.DataFrame:
    """Add ``parts`` (display tuple), ``value`` (display string) and a sort ``order``."""
    if frame.empty:
        return frame.assign(parts=[], value=[], order=[])
    parts = selectors.value_label_parts(
        frame=frame, dimension_keys=list(frame["dimension"].unique()), band_edges=band_edges, reps=reps
    )
    stage_rank = {stage: index for index, stage in enumerate(stages)}

    def order(dimension: str, values: tuple[object, ...]) -> int:
        if dimension == "size_band":
            return int(values[0])  # type: ignore[call-overload]
        if dimension == "stage":
            return stage_rank.get(str(values[0]), len(stage_rank))
        return 0

    return frame.assign(
        parts=parts,
        value=parts.map(selectors.join_label),
        order=[order(key, values) for key, values in zip(frame["dimension"], frame["values"], strict=True)],
    )


def _period_totals(frame: pd.DataFrame, periods: int) -> list[pd.Series | None]:
    """Whole-tenant rates per period code 0 … periods − 1 (None where no deal closed)."""
    if frame.empty:
        return [None] * periods
    summed = segments.rate_columns(frame.groupby("period")[list(SUM_COLUMNS)].sum())
    return [summed.loc[code] if code in summed.index else None for code in range(periods)]


def _diagnosis(
    *,
    tenant: Tenant,
    as_of: dt.date | None,
    kind: PeriodKind,
    compare: Compare,
    to_date: bool,
    min_sample: int,
    pipeline_probabilities: Mapping[int, float] | None,
) -> dict[str, Any]:
    today = tenant.today()
    day = as_of or today
    compared = periods_compared(
        as_of=day,
        kind=kind,
        compare=compare,
        fiscal_year_start_month=tenant.fiscal_year_start_month,
        to_date=to_date,
    )
    other_name = "year_ago" if compare == Compare.PREVIOUS else "previous"
    other = getattr(compared, other_name)
    current, baseline = compared.current, compared.baseline
    window = (_year_before(current.end), current.end)
    window_info = {
        "label": f"{REP_WINDOW_MONTHS} months to {current.last_day.isoformat()}",
        "start": window[0].isoformat(),
        "end": current.last_day.isoformat(),
    }
    # Period codes: 0 baseline, 1 current, 2 the other comparison, 3 the rest of the rep window.
    spans = [(baseline.start, baseline.end), (current.start, current.end), (other.start, other.end)]
    in_window = [start >= window[0] and end <= window[1] for start, end in spans] + [True]

    cube_frame = selectors.closed_deal_cube(ranges=spans[:2])
    rep_frame = selectors.closed_deal_aggregates(
        ranges=[*spans, window], dimension_sets=[("rep",)], with_medians=False
    )
    edges = band_edges_from_histogram(bins=cube_frame["amount_bin"], counts=cube_frame["n"])
    cube = Cube(cube_frame, band_edges=edges)
    rolled = cube.rollup([(), *((key,) for key in SEGMENT_DIMENSIONS)])
    rep_rows = rep_frame[rep_frame["period"].isin([0, 1])].assign(dimension="rep")
    rep_names = selectors.rep_labels()
    table = _labelled(
        pd.concat([rolled, rep_rows], ignore_index=True),
        band_edges=edges,
        stages=tenant.stages,
        reps=rep_names,
    )
    table = segments.rate_columns(table) if not table.empty else table
    cycles = selectors.winning_cycle_by_dimension_set(
        closed_from=current.start,
        closed_before=current.end,
        dimension_sets=[(key,) for key in selectors.SINGLE_DIMENSIONS],
        band_edges=edges,
    )
    entries = selectors.stage_entry_counts(closed_from=current.start, closed_before=current.end)
    prior_cells = cube.rollup([selectors.PIPELINE_PRIOR_DIMENSIONS])
    pipeline = selectors.pipeline_value(
        as_of=day if day < today else None,
        probabilities=pipeline_probabilities,
        priors=segments.prior_rates(prior_cells.groupby("values", as_index=False)[["n", "won"]].sum()),
    )

    totals_by_code = _period_totals(rep_frame, 4)
    # For years the previous period is the year-ago period; its deals all went to code 0.
    other_code = 0 if spans[2] == spans[0] else 2
    totals = {
        "current": totals_by_code[1],
        compare.value: totals_by_code[0],
        other_name: totals_by_code[other_code],
    }
    window_rows = rep_frame[
        rep_frame["period"].isin([code for code, inside in enumerate(in_window) if inside])
    ]
    # Deals without a rep group under id 0, which no rep has.
    rep_key = window_rows["values"].map(lambda values: values[0] or 0).astype("int64").rename("rep_key")
    window_reps = window_rows.groupby(rep_key)[list(SUM_COLUMNS)].sum().reset_index()
    window_reps["rep_id"] = [int(key) or None for key in window_reps["rep_key"]]
    window_reps["values"] = [(rep_id,) for rep_id in window_reps["rep_id"]]
    window_reps = _labelled(
        window_reps.assign(dimension="rep"), band_edges=edges, stages=tenant.stages, reps=rep_names
    )
    window_total = window_rows[list(SUM_COLUMNS)].sum() if not window_rows.empty else None

    singles = table[table["dimension"].isin([*SEGMENT_DIMENSIONS, "rep"])] if not table.empty else table
    decompositions: list[decomposition.DimensionDecomposition] = []
    adjustments: dict[str, dict[str, decomposition.RateAdjustment]] = {}
    if totals["current"] is not None and totals[compare.value] is not None:
        decompositions = [
            decomposition.decompose_dimension(
                frame=singles[singles["dimension"] == key],
                dimension=key,
                label=selectors.DIMENSIONS[key].label,
                min_sample=min_sample,
            )
            for key in selectors.SINGLE_DIMENSIONS
        ]
        adjustments = _like_for_like_adjustments(cube, band_edges=edges)
    current_total, baseline_total = totals["current"], totals[compare.value]
    overall_mean_rate = (
        (float(current_total["win_rate"]) + float(baseline_total["win_rate"])) / 2
        if current_total is not None and baseline_total is not None
        else float("nan")
    )

    current_singles = singles[singles["period"] == 1] if not singles.empty else singles
    current_segments = current_singles[current_singles["dimension"] != "rep"]
    if totals["current"] is not None and not current_segments.empty:
        flagged = segments.flag_segments(
            current_segments,
            overall_n=int(totals["current"]["n"]),
            overall_won=int(totals["current"]["won"]),
            min_sample=min_sample,
            untested=current_segments["dimension"].isin(UNRANKED_DIMENSIONS).to_numpy(),
        )
    else:
        flagged = current_segments.assign(below_min_sample=[], p_value=[], p_value_adjusted=[], flag=[])
    cycle_section = _cycle_section(
        cycles, band_edges=edges, stages=tenant.stages, reps=rep_names, min_sample=min_sample
    )
    rep_cycles = {
        item["value"]: item for item in cycle_section["by_dimension"].get("rep", {}).get("segments", [])
    }
    names = {rep_id: name for rep_id, (_, name) in rep_names.items()}
    reps, rep_summary = document.rep_section(
        window_reps,
        team=window_total,
        min_sample=min_sample,
        window=window_info,
        names=names,
        cycles=rep_cycles,
    )
    labels = {key: dimension.label for key, dimension in selectors.DIMENSIONS.items()}
    result: dict[str, Any] = {
        "tenant": tenant.slug,
        "as_of": day.isoformat(),
        "period": {
            "kind": str(kind),
            "compare": str(compare),
            "to_date": to_date,
            "current": current.as_dict(),
            "baseline": baseline.as_dict(),
            "previous": compared.previous.as_dict(),
            "year_ago": compared.year_ago.as_dict(),
            "rep_window": window_info,
        },
        "min_sample": min_sample,
        "size_bands": [
            {"value": label, "low": low, "high": high}
            for label, low, high in zip(size_band_labels(edges), [None, *edges], [*edges, None], strict=True)
        ],
        "win_rate": document.headline(totals, _named_periods(compared), compare, weighted=False),
        "weighted_win_rate": document.headline(totals, _named_periods(compared), compare, weighted=True),
        "decomposition": [decomposition.decomposition_document(item) for item in decompositions],
        "top_contributors": decomposition.rank_contributors(
            decompositions,
            overall_mean_rate=overall_mean_rate,
            adjustments=adjustments,
            dimension_labels=labels,
            exclude_dimensions=UNRANKED_DIMENSIONS,
        )
        if decompositions
        else [],
        "segments": document.segment_tables(flagged, dimensions=SEGMENT_DIMENSIONS, labels=labels),
        "reps": reps,
        "rep_summary": rep_summary,
        "funnel": document.funnel(
            current_singles[current_singles["dimension"] == "stage"], entries=entries, stages=tenant.stages
        ),
        "sales_cycle": {
            "overall": cycle_section["overall"],
            "typical_winning_cycle": list(cycle_section["by_dimension"].values()),
        },
        "pipeline": {
            **pipeline.as_dict(),
            "as_of": min(day, today).isoformat(),
            "currency": tenant.currency,
        },
    }
    result["summary"] = document.summary_lines(result, unranked=UNRANKED_DIMENSIONS)
    return result


def _like_for_like_adjustments(
    cube: Cube, *, band_edges: Sequence[float]
) -> dict[str, dict[str, decomposition.RateAdjustment]]:
    """For each adjustable dimension's segments, the like-for-like rate change (see decomposition)."""
    band_names = size_band_labels(band_edges)
    adjustments = {}
    for key in ADJUSTABLE_DIMENSIONS:
        values = [display_value(key, level, band_names) for level in cube.levels[key]]
        cells_by_adjuster = {}
        for adjuster in ADJUSTABLE_DIMENSIONS:
            if adjuster == key:
                continue
            cells = cube.cells((key, adjuster))
            cells_by_adjuster[adjuster] = decomposition.StratifiedCells(
                values=values,
                n_before=cells["n"][0],
                won_before=cells["won"][0],
                n_after=cells["n"][1],
                won_after=cells["won"][1],
            )
        adjustments[key] = decomposition.best_adjustments(cells_by_adjuster)
    return adjustments


def _named_periods(compared: ComparedPeriods) -> dict[str, Period]:
    return {"current": compared.current, "previous": compared.previous, "year_ago": compared.year_ago}


def _cycle_section(
    cycles: Mapping[tuple[str, ...], Mapping[tuple[object, ...], selectors.CycleStat]],
    *,
    band_edges: Sequence[float],
    stages: Sequence[str],
    reps: Mapping[int, tuple[str, str]],
    min_sample: int,
) -> dict[str, Any]:
    """Typical winning cycle overall and per segment of each single dimension."""

    def cycle_stats(stat: selectors.CycleStat) -> dict[str, Any]:
        return {
            "median_won_days": clean_number(stat.median_days, 2),
            "p75_won_days": clean_number(stat.p75_days, 2),
            "n_won": stat.n_won,
        }

    overall = cycles.get((), {}).get(())
    rows = [
        {"dimension": dimensions[0], "values": values, "stat": stat}
        for dimensions, by_value in cycles.items()
        if dimensions
        for values, stat in by_value.items()
    ]
    frame = _labelled(
        pd.DataFrame(rows, columns=["dimension", "values", "stat"]),
        band_edges=band_edges,
        stages=stages,
        reps=reps,
    )
    by_dimension: dict[str, dict[str, Any]] = {}
    for key in selectors.SINGLE_DIMENSIONS:
        part = frame[frame["dimension"] == key].sort_values(["order", "value"])
        by_dimension[key] = {
            "dimension": key,
            "label": selectors.DIMENSIONS[key].label,
            "segments": [
                {"value": value, **cycle_stats(stat), "below_min_sample": stat.n_won < min_sample}
                for value, stat in zip(part["value"], part["stat"], strict=True)
            ],
        }
    return {"overall": None if overall is None else cycle_stats(overall), "by_dimension": by_dimension}


@transaction.atomic
def segment_metrics_refresh(*, month: dt.date, min_sample: int | None = None) -> int:
    """Store the segment metrics of deals closed in ``month`` (any day of it) for the active tenant.

    Computes every segment of the whole tenant, each single dimension and each pair
    (:func:`insights.selectors.segment_metric_list`), upserts them on (tenant, month,
    dimension_key, value_key) and deletes that month's rows for segments that no longer
    exist, so running it twice leaves the same rows. Size bands are the quartiles of the 12
    months ending with ``month``. Returns the number of rows stored. Needs an active tenant.
    """
    start = month_start(month)
    end = add_months(start, 1)
    edges = selectors.size_band_edges(ranges=[(add_months(start, -11), end)])
    rows = selectors.segment_metric_list(
        closed_from=start, closed_before=end, min_sample=min_sample, band_edges=edges
    )
    fields = [field.name for field in SegmentMetric._meta.concrete_fields]
    metrics = [
        SegmentMetric(
            month=start,
            **{
                key: ("" if key == "flag" and value is None else value)
                for key, value in row.items()
                if key in fields
            },
        )
        for row in rows
    ]
    tenant_id = require_tenant_id()
    for metric in metrics:
        metric.tenant_id = tenant_id
    update_fields = [
        name for name in fields if name not in ("id", "tenant", "month", "dimension_key", "value_key")
    ]
    SegmentMetric.objects.bulk_create(
        metrics,
        update_conflicts=True,
        unique_fields=["tenant", "month", "dimension_key", "value_key"],
        update_fields=update_fields,
        batch_size=2000,
    )
    keep = {(metric.dimension_key, metric.value_key) for metric in metrics}
    stale = [
        pk
        for pk, dimension_key, value_key in SegmentMetric.objects.filter(month=start).values_list(
            "pk", "dimension_key", "value_key"
        )
        if (dimension_key, value_key) not in keep
    ]
    if stale:
        SegmentMetric.objects.filter(pk__in=stale).delete()
    return len(metrics)
