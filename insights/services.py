"""The insights engine's entry points: the diagnosis document and the monthly metrics refresh.

``diagnose`` answers the CRO's question — did win rate move, is it more than noise, is it
mix or conversion, and where — as one JSON-ready document (schema in docs/insights.md).
``segment_metrics_refresh`` stores a month of segment metrics (the alerts app schedules it).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from insights import decomposition, segments, selectors, stats
from insights.models import SegmentMetric
from insights.periods import (
    Compare,
    Period,
    PeriodKind,
    add_months,
    month_start,
    periods_compared,
    tenant_today,
)
from insights.segments import clean_number
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Tenant

# "Last stage reached" is partly an outcome of the deal (lost deals stop early), so a shift in
# it explains nothing; it is decomposed and shown but never ranked as a contributor.
UNRANKED_DIMENSIONS = ("stage",)


def _estimate(row: pd.Series | None, period: Period, *, weighted: bool) -> dict[str, Any]:
    if row is None:
        return {"period": period.label, "rate": None, "n": 0, "ci_low": 0.0, "ci_high": 1.0}
    if weighted:
        return {
            "period": period.label,
            "rate": clean_number(row["weighted_win_rate"]),
            "n": int(row["n"]),
            "amount": clean_number(row["amount_sum"], 2),
            "won_amount": clean_number(row["won_amount_sum"], 2),
            "ci_low": clean_number(row["weighted_ci_low"]),
            "ci_high": clean_number(row["weighted_ci_high"]),
        }
    return {
        "period": period.label,
        "rate": clean_number(row["win_rate"]),
        "n": int(row["n"]),
        "won": int(row["won"]),
        "ci_low": clean_number(row["ci_low"]),
        "ci_high": clean_number(row["ci_high"]),
    }


def _comparison(before: pd.Series | None, after: pd.Series | None, *, weighted: bool) -> dict[str, Any]:
    """Change from ``before`` to ``after`` with its interval, p-value and verdict."""
    subject = "Revenue-weighted win rate" if weighted else "Win rate"
    if before is None or after is None:
        return {
            "change": None,
            "change_ci_low": None,
            "change_ci_high": None,
            "p_value": None,
            "distinguishable_from_noise": False,
            "verdict": f"{subject}: not enough closed deals in one of the periods to compare.",
        }
    prefix = "weighted_" if weighted else ""
    rate_before, rate_after = float(before[f"{prefix}win_rate"]), float(after[f"{prefix}win_rate"])
    low, high = stats.newcombe_difference_interval(
        rate_before=rate_before,
        low_before=before[f"{prefix}ci_low"],
        high_before=before[f"{prefix}ci_high"],
        rate_after=rate_after,
        low_after=after[f"{prefix}ci_low"],
        high_after=after[f"{prefix}ci_high"],
    )
    if weighted:
        p_value = float(
            stats.wald_p_value(
                rate_after - rate_before, before["weighted_variance"] + after["weighted_variance"]
            )
        )
    else:
        p_value = float(stats.two_proportion_p_value(after["won"], after["n"], before["won"], before["n"]))
    return {
        "change": clean_number(rate_after - rate_before),
        "change_ci_low": clean_number(low),
        "change_ci_high": clean_number(high),
        "p_value": clean_number(p_value),
        "distinguishable_from_noise": stats.is_distinguishable_from_noise(p_value),
        "verdict": stats.noise_verdict(
            subject=subject,
            rate_before=rate_before,
            rate_after=rate_after,
            p_value=p_value,
            change_ci_low=float(low),
            change_ci_high=float(high),
        ),
    }


def _headline(
    totals: Mapping[str, pd.Series | None], periods: Mapping[str, Period], compare: Compare, *, weighted: bool
) -> dict[str, Any]:
    baseline_key = "previous" if compare == Compare.PREVIOUS else "year_ago"
    block: dict[str, Any] = {
        name: _estimate(totals[name], periods[name], weighted=weighted)
        for name in ("current", "previous", "year_ago")
    }
    block["baseline"] = block[baseline_key]
    block["compare"] = str(compare)
    block.update(_comparison(totals[baseline_key], totals["current"], weighted=weighted))
    block["vs_previous"] = _comparison(totals["previous"], totals["current"], weighted=weighted)
    block["vs_year_ago"] = _comparison(totals["year_ago"], totals["current"], weighted=weighted)
    return block


def _with_labels(
    frame: pd.DataFrame, *, band_edges: Sequence[float], stage_order: Sequence[str]
) -> pd.DataFrame:
    """Add display ``value`` and a sort ``order`` to an aggregate table of single dimensions."""
    parts = selectors.value_label_parts(
        frame=frame, dimension_keys=list(frame["dimension"].unique()), band_edges=band_edges
    )
    stage_rank = {stage: index for index, stage in enumerate(stage_order)}

    def order(dimension: str, values: tuple[object, ...]) -> int:
        if dimension == "size_band":
            return int(values[0])  # type: ignore[call-overload]
        if dimension == "stage":
            return stage_rank.get(str(values[0]), len(stage_rank))
        return 0

    return frame.assign(
        value=parts.map(selectors.join_label),
        order=[
            order(dimension, values)
            for dimension, values in zip(frame["dimension"], frame["values"], strict=True)
        ],
    )


def _segment_document(table: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for dimension in selectors.SINGLE_DIMENSIONS:
        rows = table[table["dimension"] == dimension].sort_values(["order", "value"])
        out.append(
            {
                "dimension": dimension,
                "label": selectors.DIMENSIONS[dimension].label,
                "segments": [
                    {
                        "value": record["value"],
                        "n": int(record["n"]),
                        "won": int(record["won"]),
                        "win_rate": clean_number(record["win_rate"]),
                        "ci_low": clean_number(record["ci_low"]),
                        "ci_high": clean_number(record["ci_high"]),
                        "weighted_win_rate": clean_number(record["weighted_win_rate"]),
                        "weighted_ci_low": clean_number(record["weighted_ci_low"]),
                        "weighted_ci_high": clean_number(record["weighted_ci_high"]),
                        "avg_amount": clean_number(record["avg_amount"], 2),
                        "median_amount": clean_number(record["median_amount"], 2),
                        "median_cycle_won_days": clean_number(record["median_cycle_won_days"], 2),
                        "median_cycle_lost_days": clean_number(record["median_cycle_lost_days"], 2),
                        "below_min_sample": bool(record["below_min_sample"]),
                        "p_value": clean_number(record["p_value"]),
                        "p_value_adjusted": clean_number(record["p_value_adjusted"]),
                        "flag": record["flag"],
                    }
                    for record in rows.to_dict("records")
                ],
            }
        )
    return out


def _rep_document(
    rep_rows: pd.DataFrame, *, team: pd.Series | None, min_sample: int, period: Period
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if team is None or rep_rows.empty:
        return [], {"period": period.label, "team_rate": None, "prior": None, "top_to_bottom_gap": None}
    rep_ids = [values[0] for values in rep_rows["values"]]
    names = selectors.rep_labels(rep_ids=[rep_id for rep_id in rep_ids if rep_id is not None])
    table, prior = segments.rep_table(
        rep_rows.assign(label=rep_rows["value"], rep_id=rep_ids),
        team_n=int(team["n"]),
        team_won=int(team["won"]),
        min_sample=min_sample,
    )
    reps = [
        {
            "rep": record["label"],
            "rep_id": None if pd.isna(record["rep_id"]) else int(record["rep_id"]),
            "name": names.get(record["rep_id"], (record["label"], record["label"]))[1],
            "n": int(record["n"]),
            "won": int(record["won"]),
            "win_rate": clean_number(record["win_rate"]),
            "ci_low": clean_number(record["ci_low"]),
            "ci_high": clean_number(record["ci_high"]),
            "weighted_win_rate": clean_number(record["weighted_win_rate"]),
            "weighted_ci_low": clean_number(record["weighted_ci_low"]),
            "weighted_ci_high": clean_number(record["weighted_ci_high"]),
            "shrunk_rate": clean_number(record["shrunk_rate"]),
            "shrunk_ci_low": clean_number(record["shrunk_ci_low"]),
            "shrunk_ci_high": clean_number(record["shrunk_ci_high"]),
            "median_cycle_won_days": clean_number(record["median_cycle_won_days"], 2),
            "rank": None if pd.isna(record["rank"]) else int(record["rank"]),
            "below_min_sample": bool(record["below_min_sample"]),
            "flag": record["flag"],
        }
        for record in table.to_dict("records")
    ]
    flagged = [rep["rep"] for rep in reps if rep["flag"]]
    summary = {
        "period": period.label,
        "team_rate": clean_number(team["won"] / team["n"]),
        "prior": None
        if prior is None
        else {
            "alpha": clean_number(prior.alpha),
            "beta": clean_number(prior.beta),
            "mean": clean_number(prior.mean),
            "strength": clean_number(prior.strength),
        },
        "top_to_bottom_gap": segments.top_to_bottom_gap(table),
        "flagged": flagged,
        "verdict": (
            f"{len(flagged)} rep(s) convert below the team's rate beyond noise: {', '.join(flagged)}."
            if flagged
            else "No rep's win rate is below the team's beyond what chance explains."
        ),
    }
    return reps, summary


def _funnel_document(
    stage_rows: pd.DataFrame, *, reached: Mapping[str, int], stages: Sequence[str]
) -> dict[str, Any]:
    """Loss share by last stage reached, and stage-to-stage conversion from stage history."""
    lost_total = int((stage_rows["n"] - stage_rows["won"]).sum())
    by_last_stage = []
    for record in stage_rows.sort_values(["order", "value"]).to_dict("records"):
        lost = int(record["n"] - record["won"])
        by_last_stage.append(
            {
                "stage": record["value"],
                "n": int(record["n"]),
                "won": int(record["won"]),
                "lost": lost,
                "win_rate": clean_number(record["won"] / record["n"]) if record["n"] else None,
                "loss_share": clean_number(lost / lost_total) if lost_total else None,
            }
        )
    conversion = []
    if reached:
        ordered = [stage for stage in stages if stage in reached]
        for from_stage, to_stage in itertools.pairwise(ordered):
            conversion.append(
                {
                    "from_stage": from_stage,
                    "to_stage": to_stage,
                    "reached_from": reached[from_stage],
                    "reached_to": reached[to_stage],
                    "rate": clean_number(min(reached[to_stage] / reached[from_stage], 1.0)),
                }
            )
    return {"by_last_stage": by_last_stage, "has_stage_history": bool(reached), "conversion": conversion}


def _cycle_document(table: pd.DataFrame, overall: pd.Series | None, *, min_sample: int) -> dict[str, Any]:
    def stats_of(record: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "median_won_days": clean_number(record["median_cycle_won_days"], 2),
            "p75_won_days": clean_number(record["p75_cycle_won_days"], 2),
            "median_lost_days": clean_number(record["median_cycle_lost_days"], 2),
            "n_won": int(record["won"]),
        }

    typical = []
    for dimension in selectors.SINGLE_DIMENSIONS:
        rows = table[table["dimension"] == dimension].sort_values(["order", "value"])
        typical.append(
            {
                "dimension": dimension,
                "label": selectors.DIMENSIONS[dimension].label,
                "segments": [
                    {
                        "value": record["value"],
                        **stats_of(record),
                        "below_min_sample": int(record["won"]) < min_sample,
                    }
                    for record in rows.to_dict("records")
                ],
            }
        )
    return {"overall": None if overall is None else stats_of(overall), "typical_winning_cycle": typical}


def _summary(document: Mapping[str, Any]) -> list[str]:
    lines = [document["win_rate"]["verdict"], document["weighted_win_rate"]["verdict"]]
    decompositions = document["decomposition"]
    if decompositions:
        first = decompositions[0]
        lines.append(
            f"Of the change, mix accounts for {stats.format_pts(first['mix_effect'])} and conversion within "
            f"segments for {stats.format_pts(first['rate_effect'])} (by {first['label'].lower()}; the split "
            "differs by dimension)."
        )
    lines += [contributor["summary"] for contributor in document["top_contributors"][:3]]
    lines.append(document["rep_summary"]["verdict"] if document["rep_summary"].get("verdict") else "No reps.")
    return lines


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
    headline also carries the other comparison. ``min_sample`` defaults to
    settings.INSIGHTS_MIN_SEGMENT_SAMPLE. ``pipeline_probabilities`` (deal id → win
    probability) replaces segment priors in the pipeline value. Runs in ``tenant``'s context.
    docs/insights.md documents every key.
    """
    with tenant_context(tenant):
        return _diagnosis(
            tenant=tenant,
            as_of=as_of,
            period=period,
            compare=Compare(compare),
            to_date=to_date,
            min_sample=settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample,
            pipeline_probabilities=pipeline_probabilities,
        )


def _diagnosis(
    *,
    tenant: Tenant,
    as_of: dt.date | None,
    period: PeriodKind | str,
    compare: Compare,
    to_date: bool,
    min_sample: int,
    pipeline_probabilities: Mapping[int, float] | None,
) -> dict[str, Any]:
    minimum = min_sample
    today = tenant_today(timezone=tenant.timezone)
    day = as_of or today
    compared = periods_compared(
        as_of=day,
        kind=period,
        compare=compare,
        fiscal_year_start_month=tenant.fiscal_year_start_month,
        to_date=to_date,
    )
    other_name = "year_ago" if compare == Compare.PREVIOUS else "previous"
    other = getattr(compared, other_name)
    periods = {"current": compared.current, "previous": compared.previous, "year_ago": compared.year_ago}
    ranges = [
        (compared.baseline.start, compared.baseline.end),
        (compared.current.start, compared.current.end),
    ]
    edges = selectors.size_band_edges(ranges=ranges)
    frame = selectors.closed_deal_aggregates(
        ranges=ranges,
        dimension_sets=[(), *((key,) for key in selectors.SINGLE_DIMENSIONS)],
        band_edges=edges,
    )
    other_totals = selectors.closed_deal_aggregates(
        ranges=[(other.start, other.end)], dimension_sets=[()], with_medians=False
    )
    frame = _with_labels(frame, band_edges=edges, stage_order=tenant.stages)
    reached = selectors.stage_reach_counts(
        closed_from=compared.current.start, closed_before=compared.current.end
    )
    pipeline = selectors.pipeline_value(
        as_of=day if day < today else None, probabilities=pipeline_probabilities, prior_as_of=day
    )
    table = segments.rate_columns(frame) if not frame.empty else frame
    other_table = segments.rate_columns(other_totals) if not other_totals.empty else other_totals

    def total(source: pd.DataFrame, period_code: int) -> pd.Series | None:
        if source.empty:
            return None
        rows = source[(source["dimension"] == selectors.OVERALL) & (source["period"] == period_code)]
        return None if rows.empty else rows.iloc[0]

    baseline_total = total(table, decomposition.BASELINE)
    current_total = total(table, decomposition.CURRENT)
    totals = {
        "current": current_total,
        compare.value: baseline_total,
        other_name: total(other_table, 0),
    }
    current_rows = (
        table[(table["period"] == decomposition.CURRENT) & (table["dimension"] != selectors.OVERALL)]
        if not table.empty
        else table
    )

    decompositions: list[decomposition.DimensionDecomposition] = []
    if baseline_total is not None and current_total is not None:
        decompositions = [
            decomposition.decompose_dimension(
                frame=table[table["dimension"] == key],
                dimension=key,
                label=selectors.DIMENSIONS[key].label,
                min_sample=minimum,
            )
            for key in selectors.SINGLE_DIMENSIONS
        ]
    overall_mean_rate = (
        (float(baseline_total["win_rate"]) + float(current_total["win_rate"])) / 2
        if decompositions
        else np.nan
    )
    if current_total is not None and not current_rows.empty:
        flagged = segments.flag_segments(
            current_rows[current_rows["dimension"] != "rep"],
            overall_n=int(current_total["n"]),
            overall_won=int(current_total["won"]),
            min_sample=minimum,
        )
        rep_rows = current_rows[current_rows["dimension"] == "rep"]
        stage_rows = current_rows[current_rows["dimension"] == "stage"]
    else:
        flagged = current_rows.assign(below_min_sample=[], p_value=[], p_value_adjusted=[], flag=[])
        rep_rows = stage_rows = current_rows
    reps, rep_summary = _rep_document(
        rep_rows, team=current_total, min_sample=minimum, period=compared.current
    )

    document: dict[str, Any] = {
        "tenant": tenant.slug,
        "as_of": day.isoformat(),
        "period": {
            "kind": str(PeriodKind(period)),
            "compare": str(compare),
            "to_date": to_date,
            "current": compared.current.as_dict(),
            "baseline": compared.baseline.as_dict(),
            "previous": compared.previous.as_dict(),
            "year_ago": compared.year_ago.as_dict(),
        },
        "min_sample": minimum,
        "size_bands": [
            {"value": label, "low": low, "high": high}
            for label, low, high in zip(
                selectors.size_band_labels(edges), [None, *edges], [*edges, None], strict=True
            )
        ],
        "win_rate": _headline(totals, periods, compare, weighted=False),
        "weighted_win_rate": _headline(totals, periods, compare, weighted=True),
        "decomposition": [decomposition.decomposition_document(item) for item in decompositions],
        "top_contributors": decomposition.rank_contributors(
            decompositions, overall_mean_rate=overall_mean_rate, exclude_dimensions=UNRANKED_DIMENSIONS
        )
        if decompositions
        else [],
        "segments": _segment_document(flagged) if not flagged.empty else [],
        "reps": reps,
        "rep_summary": rep_summary,
        "funnel": _funnel_document(stage_rows, reached=reached, stages=tenant.stages),
        "sales_cycle": _cycle_document(current_rows, current_total, min_sample=minimum),
        "pipeline": {
            **pipeline.as_dict(),
            "as_of": (day if day < today else today).isoformat(),
            "currency": tenant.currency,
        },
    }
    document["summary"] = _summary(document)
    return document


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
