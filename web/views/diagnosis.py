"""Home: the win-rate diagnosis — headline with intervals, monthly trend, mix vs rate, contributors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.safestring import mark_safe

from insights.services import diagnose
from web import charts
from web.decorators import tenant_required
from web.forms import DiagnosisForm
from web.rendering import render_page
from web.selectors import MonthlyRate, win_rate_by_month
from web.views.risk_board import tenant_today

TREND_MONTHS = 24


def trend_svg(months: list[MonthlyRate], *, reference: float | None) -> str:
    points = [
        charts.RatePoint(
            label=f"{month.month:%b %y}", rate=month.win_rate, low=month.ci_low, high=month.ci_high, n=month.n
        )
        for month in months
    ]
    return charts.trend_chart(
        points,
        chart_id="trend",
        title="Win rate by month with its 95% interval",
        reference=reference,
        reference_label=f"{TREND_MONTHS}-month rate" if reference is not None else "",
    )


def waterfall_svg(decomposition: dict[str, Any], headline: dict[str, Any]) -> str:
    steps = [
        charts.WaterfallStep(f"{headline['baseline']['period']}", headline["baseline"]["rate"], "total"),
        charts.WaterfallStep(f"Mix ({decomposition['label'].lower()})", decomposition["mix_effect"]),
        charts.WaterfallStep("Conversion within segments", decomposition["rate_effect"]),
        charts.WaterfallStep(f"{headline['current']['period']}", headline["current"]["rate"], "total"),
    ]
    return charts.waterfall_chart(
        steps,
        chart_id="waterfall",
        title=f"Win-rate change split into mix and conversion, by {decomposition['label'].lower()}",
    )


def _pooled_rate(months: list[MonthlyRate]) -> float | None:
    n = sum(month.n for month in months)
    return sum(month.won for month in months) / n if n else None


@tenant_required
def diagnosis(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    choices = DiagnosisForm(request.GET).values()
    today = tenant_today(tenant)
    as_of: dt.date = choices["as_of"] or today
    document = diagnose(
        tenant=tenant,
        as_of=as_of,
        period=choices["period"],
        compare=choices["compare"],
        to_date=choices["to_date"],
    )
    months = win_rate_by_month(before=as_of, months=TREND_MONTHS)
    decompositions = {item["dimension"]: item for item in document["decomposition"]}
    top = document["top_contributors"]
    chosen = choices["dimension"] if choices["dimension"] in decompositions else ""
    if not chosen and decompositions:
        chosen = top[0]["dimension"] if top else next(iter(decompositions))
    selected = decompositions.get(chosen)
    headline = document["win_rate"]
    comparable = headline["current"]["rate"] is not None and headline["baseline"]["rate"] is not None
    context = {
        "doc": document,
        "choices": choices,
        "as_of": as_of,
        "today": today,
        "months": months,
        "trend_svg": mark_safe(trend_svg(months, reference=_pooled_rate(months))),  # noqa: S308 - escaped in charts
        "decompositions": document["decomposition"],
        "selected": selected,
        "waterfall_svg": mark_safe(waterfall_svg(selected, headline)) if selected and comparable else "",  # noqa: S308
        "top_contributors": top[:6],
    }
    return render_page(request, "web/diagnosis.html", context, fragment="diagnosis")
