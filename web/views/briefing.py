"""The CRO briefing: the Monday page (and its printable form) from insights.briefing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from insights.briefing import briefing as briefing_document
from web.decorators import tenant_required
from web.figures import forecast_svg, lorenz_svg
from web.forms import BriefingForm
from web.rendering import render_page
from web.templatetags.web import currency_symbol

FOCUS_SHOWN = 5


@tenant_required
def briefing(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    choices = BriefingForm(request.GET).values()
    today = tenant.today()
    quota = float(choices["quota"]) if choices["quota"] is not None else None
    document = briefing_document(tenant=tenant, as_of=choices["as_of"], quota=quota)
    focus = document["focus"]
    # insights orders each list (strongest first); the segment rows carry the numbers.
    by_value = {segment["value"]: segment for segment in focus["segments"]}
    columns = []
    for title, key in (("Focus", "focus"), ("Keep", "keep"), ("Deprioritise", "deprioritise")):
        names = focus.get(key, [])
        shown = [by_value[name] for name in names[:FOCUS_SHOWN] if name in by_value]
        columns.append((title, key, shown, len(names)))
    context = {
        "doc": document,
        "choices": choices,
        "today": today,
        "forecast_svg": forecast_svg(document["forecast"], currency_symbol=currency_symbol(tenant.currency)),
        "lorenz_svg": lorenz_svg(document["concentration"]),
        "focus_columns": columns,
        "no_evidence": sum(1 for s in focus["segments"] if s["label"] == "no evidence either way"),
    }
    return render_page(request, "web/briefing.html", context, fragment="briefing")
