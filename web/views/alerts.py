"""Alerts page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from web.decorators import tenant_required
from web.rendering import render_page

WAITING_FOR = "the alerts app (issue 5)"


@tenant_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "web/pending.html",
        {
            "title": "Alerts",
            "description": "Stalls, cycle breaches, score drops, slips and segment deterioration, explained.",
            "waiting_for": WAITING_FOR,
        },
    )
