"""Segments page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from web.decorators import tenant_required
from web.rendering import render_page

WAITING_FOR = "the insights engine (issue 3)"


@tenant_required
def segments(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "web/pending.html",
        {
            "title": "Segments",
            "description": "Win rate by segment and by pairs of segments, greyed below the minimum sample.",
            "waiting_for": WAITING_FOR,
        },
    )
