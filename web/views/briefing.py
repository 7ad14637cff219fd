"""The CRO briefing page: the whole briefing on one screen that prints to one or two A4 pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse

from insights.briefing import briefing
from web.decorators import tenant_required
from web.rendering import render_page
from web.views.risk_board import tenant_today

# Rows the page shows per list; the JSON (manage.py briefing --json) has them all.
FOCUS_ROWS = 6
VELOCITY_ROWS = 4
# Drawing area of the small charts, in SVG user units.
LORENZ_SIZE = 120
FORECAST_BAR_WIDTH = 560


class BriefingForm(forms.Form):
    """The page's query string; invalid values are ignored (a stale link still opens the page)."""

    as_of = forms.DateField(required=False)
    quota = forms.DecimalField(required=False, min_value=1, max_digits=16, decimal_places=2)

    def values(self, *, today: dt.date) -> tuple[dt.date, float | None]:
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        as_of = data.get("as_of")
        quota = data.get("quota")
        return (min(as_of, today) if as_of else today), (float(quota) if quota else None)


def lorenz_points(curve: Sequence[Sequence[float]], *, size: int = LORENZ_SIZE) -> str:
    """SVG polyline points of a Lorenz curve in a size × size box (y grows downward)."""
    return " ".join(f"{x * size:.1f},{(1 - y) * size:.1f}" for x, y in curve)


def forecast_bar(projection: dict[str, Any], *, width: int = FORECAST_BAR_WIDTH) -> dict[str, Any] | None:
    """x positions of the forecast bar: won so far, expected, the P10–P90 whisker and the quota."""
    values = [projection.get(key) for key in ("p90", "quota", "expected")]
    top = max([value for value in values if value] or [0])
    if not top:
        return None

    def x(value: float | None) -> float | None:
        return None if value is None else round(width * value / (top * 1.08), 1)

    return {
        "width": width,
        "won": x(projection["won_so_far"]),
        "expected": x(projection["expected"]),
        "p10": x(projection["p10"]),
        "p90": x(projection["p90"]),
        "quota": x(projection.get("quota")),
    }


@tenant_required
def briefing_page(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    today = tenant_today(tenant)
    as_of, quota = BriefingForm(request.GET).values(today=today)
    document = briefing(tenant=tenant, as_of=as_of, quota=quota)
    focus = document["focus"]
    labelled = [segment for segment in focus["segments"] if segment["label"] != "no evidence either way"]
    velocity = {section["dimension"]: section for section in document["velocity"]["by_dimension"]}
    context = {
        "doc": document,
        "as_of": as_of,
        "today": today,
        "quota": quota,
        "bar": forecast_bar(document["forecast"]),
        "focus_up": [segment for segment in labelled if segment["label"] in ("focus", "keep")][:FOCUS_ROWS],
        "focus_down": [segment for segment in reversed(labelled) if segment["label"] == "deprioritise"][
            :FOCUS_ROWS
        ],
        "focus_unlabelled": len(focus["segments"]) - len(labelled),
        "velocity_sections": [
            {**velocity[key], "segments": velocity[key]["segments"][:VELOCITY_ROWS]}
            for key in ("lead_source", "product_type", "rep")
            if key in velocity
        ],
        "lorenz_size": LORENZ_SIZE,
        "lorenz_won": lorenz_points(document["concentration"]["won_revenue"]["lorenz"]),
        "lorenz_open": lorenz_points(document["concentration"]["open_pipeline"]["lorenz"]),
    }
    return render_page(request, "web/briefing.html", context)
