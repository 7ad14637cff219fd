"""A deal's own page: fields, score and its history, drivers, stage timeline, alerts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from alerts.models import AlertState
from alerts.selectors import alert_list
from deals.models import Deal
from web.decorators import tenant_required
from web.rendering import render_page
from web.selectors import deal_stage_timeline, typical_stage_days
from web.views.risk_board import tenant_today


@tenant_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    # The scoped manager makes another tenant's deal id a plain 404.
    deal = get_object_or_404(Deal.objects.select_related("rep"), pk=pk)
    today = tenant_today(request.tenant)  # type: ignore[attr-defined]
    typical = typical_stage_days(today=today)
    timeline = deal_stage_timeline(deal=deal, today=today, typical_days=typical)
    longest = max([span.days or 0 for span in timeline] + [span.typical_days or 0 for span in timeline] + [1])
    context = {
        "deal": deal,
        "timeline": timeline,
        "timeline_scale": longest,
        "age_days": ((deal.closed_date or today) - deal.created_date).days,
        "extra_fields": sorted((deal.extra or {}).items()),
        "deal_alerts": list(alert_list(deal_id=deal.pk, states=list(AlertState.values))[:20]),
        "timeline_has_typical": any(span.typical_days for span in timeline),
    }
    return render_page(request, "web/deal_detail.html", context)
