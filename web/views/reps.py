"""Reps: shrunk win rates with intervals, who is flagged and why, and each rep's own page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from deals.models import Deal, DealStatus, Rep
from insights.services import REP_WINDOW_MONTHS, diagnose
from web.decorators import tenant_required
from web.figures import monthly_trend_svg, rep_interval_svg
from web.forms import DiagnosisForm
from web.rendering import render_page
from web.selectors import win_rate_by_month

REP_TREND_MONTHS = 12


def _document(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any], dt.date]:
    tenant = request.tenant  # type: ignore[attr-defined]
    choices = DiagnosisForm(request.GET).values()
    today = tenant.today()
    as_of = choices["as_of"] or today
    document = diagnose(
        tenant=tenant,
        as_of=as_of,
        period=choices["period"],
        compare=choices["compare"],
        to_date=choices["to_date"],
    )
    return document, choices, today


@tenant_required
def reps(request: HttpRequest) -> HttpResponse:
    document, choices, today = _document(request)
    ranked = [rep for rep in document["reps"] if not rep["below_min_sample"]]
    small = [rep for rep in document["reps"] if rep["below_min_sample"]]
    summary = document["rep_summary"]
    context = {
        "doc": document,
        "choices": choices,
        "today": today,
        "ranked": ranked,
        "small": small,
        "summary": summary,
        "flagged": [rep for rep in ranked if rep["flag"] == "below"],
        "chart": rep_interval_svg(ranked, team_rate=summary.get("team_rate")) if ranked else "",
    }
    return render_page(request, "web/reps.html", context, fragment="reps")


@tenant_required
def rep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rep = get_object_or_404(Rep, pk=pk)
    document, choices, today = _document(request)
    row = next((item for item in document["reps"] if item["rep_id"] == rep.pk), None)
    months = win_rate_by_month(before=choices["as_of"] or today, months=REP_TREND_MONTHS, rep_id=rep.pk)
    open_deals = Deal.objects.filter(rep=rep, status=DealStatus.OPEN)
    context = {
        "rep": rep,
        "row": row,
        "doc": document,
        "choices": choices,
        "today": today,
        "summary": document["rep_summary"],
        "months": months,
        "trend_svg": monthly_trend_svg(
            months,
            chart_id="rep-trend",
            title=f"{rep}'s win rate by month with its 95% interval",
            reference=document["rep_summary"].get("team_rate"),
            reference_label=f"team rate, {REP_WINDOW_MONTHS} months",
        ),
        "open_count": open_deals.count(),
        "open_deals": open_deals.order_by("-amount", "id")[:10],
    }
    return render_page(request, "web/rep_detail.html", context)
