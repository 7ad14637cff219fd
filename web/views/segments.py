"""Segments: a heatmap of win rate by two dimensions, single-dimension tables with intervals,
and a segment's stored monthly history."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from insights.periods import add_months, month_start
from insights.selectors import DIMENSIONS
from web import charts
from web.decorators import tenant_required
from web.figures import segment_history_svg, segment_interval_svg
from web.forms import SegmentsForm
from web.rendering import render_page
from web.selectors import segment_heatmap, segment_history

# Rep pairs would be a wall of tiny cells; reps have their own page.
HEATMAP_DIMENSIONS = [key for key in DIMENSIONS if key != "rep"]
HISTORY_MONTHS = 24


@tenant_required
def segments(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    today = tenant.today()
    choices = SegmentsForm(request.GET).values(
        dimensions=HEATMAP_DIMENSIONS, default_rows="lead_source", default_columns="region"
    )
    as_of = choices["as_of"] or today
    # Whole months only: a month in progress would compare a fast-closing subset.
    closed_before = month_start(as_of)
    closed_from = add_months(closed_before, -choices["months"])
    min_sample = settings.INSIGHTS_MIN_SEGMENT_SAMPLE
    heatmap = segment_heatmap(
        rows=choices["rows"],
        columns=choices["columns"],
        closed_from=closed_from,
        closed_before=closed_before,
        min_sample=min_sample,
    )
    overall_rate = heatmap.overall["win_rate"] if heatmap.overall else None
    cells = [
        [
            {
                "cell": cell,
                "colour": charts.heat_colour(cell.metric["win_rate"], overall_rate)
                if cell.metric and not cell.metric["below_min_sample"] and overall_rate is not None
                else None,
            }
            for cell in row
        ]
        for row in heatmap.cells
    ]
    history_dimension = choices["history_dimension"]
    history_value = choices["history_value"]
    history = []
    if history_dimension in DIMENSIONS and history_value:
        history = segment_history(
            dimension=history_dimension,
            value=history_value,
            months_from=add_months(closed_before, -HISTORY_MONTHS),
        )
    context = {
        "choices": choices,
        "today": today,
        "dimensions": [(key, DIMENSIONS[key].label) for key in HEATMAP_DIMENSIONS],
        "labels": {key: DIMENSIONS[key].label for key in DIMENSIONS},
        "heatmap": heatmap,
        "cells": cells,
        "overall_rate": overall_rate,
        "closed_from": closed_from,
        "closed_until": closed_before - dt.timedelta(days=1),
        "min_sample": min_sample,
        "single_tables": [
            {
                "dimension": key,
                "label": DIMENSIONS[key].label,
                "rows": heatmap.singles[key],
                "chart": segment_interval_svg(
                    heatmap.singles[key],
                    chart_id=f"seg-{key}",
                    title=f"Win rate by {DIMENSIONS[key].label.lower()} with 95% intervals",
                    reference=overall_rate,
                ),
            }
            for key in (choices["rows"], choices["columns"])
        ],
        "history": history,
        "history_label": f"{DIMENSIONS[history_dimension].label}: {history_value}" if history else "",
        "history_svg": segment_history_svg(history, reference=overall_rate) if history else "",
        "history_requested": bool(history_dimension and history_value),
    }
    return render_page(request, "web/segments.html", context, fragment="segments")
