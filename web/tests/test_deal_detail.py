"""A deal's page: its fields, the stage timeline with days per stage, other tenants' deals 404."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse

from deals.models import Deal, DealStageChange
from tenants.context import tenant_context
from web.selectors import deal_stage_timeline


def test_the_deal_page_shows_the_deal(admin_client: Client, open_deal_a):
    response = admin_client.get(reverse("deal_detail", args=[open_deal_a.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme platform expansion" in body
    assert "$48,000" in body
    assert "Xavier Rep" in body


def test_the_timeline_counts_days_in_each_stage_from_the_history(admin_client: Client, open_deal_a):
    timeline = admin_client.get(reverse("deal_detail", args=[open_deal_a.pk])).context["timeline"]
    assert [(span.stage, span.days) for span in timeline] == [
        ("Qualified", 10),
        ("Demo", 18),
        ("Proposal", 12),
    ]
    assert timeline[-1].is_current


def test_without_history_the_timeline_is_the_current_stage_since_it_was_entered(tenant_a):
    today = dt.date(2025, 3, 31)
    with tenant_context(tenant_a):
        deal = Deal.objects.create(
            crm_id="N-1",
            created_date=dt.date(2025, 3, 1),
            stage_entered_date=dt.date(2025, 3, 21),
            stage="Demo",
            amount=1,
        )
        (span,) = deal_stage_timeline(deal=deal, today=today)
    assert (span.stage, span.days, span.is_current) == ("Demo", 10, True)


def test_a_closed_deals_last_stage_ends_on_its_close_date(tenant_a):
    with tenant_context(tenant_a):
        deal = Deal.objects.create(
            crm_id="C-1",
            created_date=dt.date(2025, 1, 1),
            closed_date=dt.date(2025, 2, 1),
            status="won",
            stage="Proposal",
            amount=1,
        )
        DealStageChange.objects.create(
            deal=deal, from_stage="Demo", to_stage="Proposal", changed_on=dt.date(2025, 1, 20)
        )
        spans = deal_stage_timeline(deal=deal, today=dt.date(2025, 6, 1))
    assert [(s.stage, s.days, s.left) for s in spans] == [
        ("Demo", 19, dt.date(2025, 1, 20)),
        ("Proposal", 12, dt.date(2025, 2, 1)),
    ]


def test_typical_days_mark_a_stage_that_ran_long(tenant_a):
    with tenant_context(tenant_a):
        deal = Deal.objects.create(
            crm_id="T-1",
            created_date=dt.date(2025, 1, 1),
            stage="Demo",
            amount=1,
            stage_entered_date=dt.date(2025, 1, 1),
        )
        (span,) = deal_stage_timeline(deal=deal, today=dt.date(2025, 1, 31), typical_days={"Demo": 12.0})
    assert span.over_typical


def test_the_deal_page_escapes_html_in_crm_fields(admin_client: Client, tenant_a):
    with tenant_context(tenant_a):
        deal = Deal.objects.create(
            crm_id="X-2",
            name="<b>bold</b>",
            created_date=dt.date(2025, 1, 1),
            stage="Demo",
            amount=1,
            extra={"notes": "<script>alert(1)</script>"},
        )
    body = admin_client.get(reverse("deal_detail", args=[deal.pk])).content.decode()
    assert "<b>bold</b>" not in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
