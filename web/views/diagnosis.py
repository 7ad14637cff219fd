"""Diagnosis page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from web.decorators import tenant_required
from web.rendering import render_page

WAITING_FOR = "the insights engine (issue 3)"


@tenant_required
def diagnosis(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "web/pending.html",
        {
            "title": "Diagnosis",
            "description": "Why the win rate moved: now vs the previous period and a year ago, with intervals, the mix-vs-rate breakdown and the top contributors.",
            "waiting_for": WAITING_FOR,
        },
    )
