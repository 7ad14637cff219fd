"""A deal's own page: fields, score and its history, drivers, stage timeline, alerts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from alerts.models import AlertState
from alerts.selectors import alert_list
from deals.models import Deal
from scoring.models import REPLAY_TRIGGER
from scoring.selectors import deal_score_current, deal_score_history
from web.decorators import tenant_required
from web.figures import score_history_svg
from web.rendering import render_page
from web.selectors import deal_stage_timeline, typical_stage_days


@tenant_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The scoped manager makes another tenant's deal id a plain 404.
    deal = get_object_or_404(Deal.objects.select_related("rep"), pk=pk)
    today = request.tenant.today()  # type: ignore[attr-defined]
    typical = typical_stage_days(today=today)
    timeline = deal_stage_timeline(deal=deal, today=today, typical_days=typical)
    longest = max([span.days or 0 for span in timeline] + [span.typical_days or 0 for span in timeline] + [1])
    score = deal_score_current(deal=deal) if deal.is_open else None
    history = list(reversed(deal_score_history(deal=deal, limit=60)))
    replayed = [item for item in history if item.trigger == REPLAY_TRIGGER]
    drivers = [*score.negative_drivers, *score.positive_drivers] if score else []
    scale = max([abs(driver["value"]) for driver in drivers] + [0.01])
    # Each side of the bar is half its width: the strongest driver fills its half.
    drivers = [{**driver, "width": round(abs(driver["value"]) / scale * 50, 1)} for driver in drivers]
    context = {
        "deal": deal,
        "score": score,
        "history": history,
        "history_svg": score_history_svg(history) if len(history) > 1 else "",
        "replayed_last": replayed[-1] if replayed else None,
        "drivers": sorted(drivers, key=lambda driver: driver["value"]),
        "timeline": timeline,
        "timeline_scale": longest,
        "age_days": ((deal.closed_date or today) - deal.created_date).days,
        "extra_fields": sorted((deal.extra or {}).items()),
        "deal_alerts": list(alert_list(deal_id=deal.pk, states=list(AlertState.values))[:20]),
        "timeline_has_typical": any(span.typical_days for span in timeline),
    }
    return render_page(request, "web/deal_detail.html", context)
