"""Model page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from web.decorators import tenant_required
from web.rendering import render_page

WAITING_FOR = "the scoring app (issue 4)"


@tenant_required
def model(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "web/pending.html",
        {
            "title": "Model",
            "description": "The serving model, its backtest against the baselines, and whether its scores were right.",
            "waiting_for": WAITING_FOR,
        },
    )
