"""Reps page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from deals.models import Rep
from web.decorators import tenant_required
from web.rendering import render_page

WAITING_FOR = "the insights engine (issue 3)"


@tenant_required
def reps(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "web/pending.html",
        {
            "title": "Reps",
            "description": "Shrunk win rates with intervals; only reps whose interval lies below the team rate are flagged.",
            "waiting_for": WAITING_FOR,
        },
    )


@tenant_required
def rep_detail(request: HttpRequest, pk: int) -> HttpResponse:
    rep = get_object_or_404(Rep, pk=pk)
    return render_page(
        request,
        "web/pending.html",
        {
            "title": str(rep),
            "description": "This rep's win rate, deals and trend.",
            "waiting_for": WAITING_FOR,
        },
    )
