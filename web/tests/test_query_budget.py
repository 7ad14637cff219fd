"""No page's number of SQL queries grows with the number of rows: each page is measured on a
small tenant, then on one with several times the deals, scores and alerts, and must stay within
its budget."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deals.models import Deal, DealStatus
from scoring.services import model_train
from tenants.context import tenant_context
from web.tests.conftest import build_pipeline, raise_alert

# Page → most queries it may issue (whole request: session, tenant, guard, page, sidebar).
BUDGETS = {
    "home": 28,
    "briefing": 56,
    "segments": 16,
    "reps": 24,
    "risk_board": 20,
    "alerts": 16,
    "model": 17,
    "settings_imports": 16,
    "settings_members": 14,
    "settings_alert_rules": 15,
    "settings_api_keys": 14,
    "settings_quota": 13,
    "settings_next_actions": 14,
    "deal_detail": 26,
    "rep_detail": 28,
}


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm caches (filter menus, sessions) as a second view would find them
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def grow(tenant, seed: int) -> None:
    with tenant_context(tenant):
        build_pipeline(today=dt.date.today(), closed=400, open_deals=150, seed=seed)
        model_train(min_won=30, min_lost=30)
        for deal in Deal.objects.filter(status=DealStatus.OPEN).order_by("-id")[:20]:
            raise_alert(deal, title=f"{deal.name} stalled")


@pytest.mark.parametrize("name", BUDGETS)
def test_the_number_of_queries_does_not_grow_with_the_data(
    admin_client: Client, tenant_a, scored_pipeline_a, open_deal_a, name
):
    if name == "deal_detail":
        url = reverse(name, args=[open_deal_a.pk])
    elif name == "rep_detail":
        url = reverse(name, args=[scored_pipeline_a[0].rep_id])
    else:
        url = reverse(name)
    small = queries(admin_client, url)
    grow(tenant_a, seed=11)
    large = queries(admin_client, url)
    assert small <= BUDGETS[name]
    assert large <= BUDGETS[name]
