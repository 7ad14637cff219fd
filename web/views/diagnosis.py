"""Home: the win-rate diagnosis — headline with intervals, monthly trend, mix vs rate, contributors."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse

from insights.services import diagnose
from scoring.selectors import pipeline_probabilities
from web.decorators import tenant_required
from web.figures import mix_rate_waterfall_svg, monthly_trend_svg, pooled_rate
from web.forms import DiagnosisForm
from web.rendering import render_page
from web.selectors import win_rate_by_month

TREND_MONTHS = 24


def current_pipeline_scores() -> dict[int, float] | None:
    """Deal id → current win probability of scored open deals; None when nothing is scored."""
    scores = pipeline_probabilities()
    if scores.empty:
        return None
    return dict(zip(scores["deal_id"].tolist(), scores["probability"].tolist(), strict=True))


@tenant_required
def diagnosis(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    choices = DiagnosisForm(request.GET).values()
    today = tenant.today()
    as_of: dt.date = choices["as_of"] or today
    document = diagnose(
        tenant=tenant,
        as_of=as_of,
        # Current scores describe today's pipeline only; a past as-of date uses segment priors.
        pipeline_probabilities=current_pipeline_scores() if as_of == today else None,
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
        "trend_svg": monthly_trend_svg(
            months, reference=pooled_rate(months), reference_label=f"{TREND_MONTHS}-month rate"
        ),
        "decompositions": document["decomposition"],
        "selected": selected,
        "waterfall_svg": mix_rate_waterfall_svg(selected, headline) if selected and comparable else "",
        "top_contributors": top[:6],
    }
    return render_page(request, "web/diagnosis.html", context, fragment="diagnosis")
