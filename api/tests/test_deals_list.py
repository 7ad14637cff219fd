"""GET /api/v1/deals: filters, ordering, cursor pages, tenant scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from api.tests.conftest import deal_make
from tenants.context import tenant_context

DEALS = "/api/v1/deals"


@pytest.fixture
def five_deals_a(tenant_a):
    with tenant_context(tenant_a):
        deal_make("A-1", amount=Decimal("100"), region="Europe", rep="rep_1")
        deal_make("A-2", amount=Decimal("200"), region="APAC", rep="rep_2", stage="Demo")
        deal_make("A-3", amount=Decimal("300"), region="Europe", rep="rep_2", industry="Fintech")
        deal_make("A-4", amount=Decimal("400"), status="won", stage="Closed", closed_date=dt.date(2024, 5, 1))
        deal_make("A-5", amount=Decimal("500"), status="lost", stage="Demo", closed_date=dt.date(2024, 5, 2))


def crm_ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [deal["crm_id"] for deal in response.json()["results"]]


def test_deals_come_ordered_by_crm_id_with_their_fields(client_a, five_deals_a):
    response = client_a.get(DEALS)
    assert crm_ids(response) == ["A-1", "A-2", "A-3", "A-4", "A-5"]
    first = response.json()["results"][0]
    assert (first["amount"], first["rep_crm_id"], first["region"]) == ("100.00", "rep_1", "Europe")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, ["A-1", "A-2", "A-3"]),
        ({"status": ["won", "lost"]}, ["A-4", "A-5"]),
        ({"stage": "Demo"}, ["A-2", "A-5"]),
        ({"rep": "rep_2"}, ["A-2", "A-3"]),
        ({"region": "Europe", "industry": "Fintech"}, ["A-3"]),
        ({"amount_min": "200", "amount_max": "400"}, ["A-2", "A-3", "A-4"]),
        ({"crm_id": "A-4"}, ["A-4"]),
    ],
)
def test_filters_narrow_the_list(client_a, five_deals_a, query, expected):
    assert crm_ids(client_a.get(DEALS, query)) == expected


def test_updated_since_returns_only_deals_changed_since(client_a, tenant_a, five_deals_a):
    from deals.models import Deal

    with tenant_context(tenant_a):
        Deal.objects.filter(crm_id="A-2").update(updated_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert crm_ids(client_a.get(DEALS, {"updated_since": "2029-12-31T00:00:00Z"})) == ["A-2"]


def test_ordering_by_amount_descending(client_a, five_deals_a):
    assert crm_ids(client_a.get(DEALS, {"ordering": "-amount"})) == ["A-5", "A-4", "A-3", "A-2", "A-1"]


def test_cursor_pages_cover_every_deal_once(client_a, five_deals_a):
    seen: list[str] = []
    response = client_a.get(DEALS, {"limit": 2, "ordering": "-amount"})
    while True:
        seen += crm_ids(response)
        next_url = response.json()["next"]
        if next_url is None:
            break
        response = client_a.get(next_url)
    assert seen == ["A-5", "A-4", "A-3", "A-2", "A-1"]


def test_a_limit_above_1000_is_400(client_a):
    response = client_a.get(DEALS, {"limit": 1001})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["limit"]


def test_another_tenants_key_lists_only_its_own_deals(writer_b, five_deals_a, deal_b):
    assert crm_ids(writer_b.get(DEALS)) == ["GLOBEX-1"]
    assert crm_ids(writer_b.get(DEALS, {"crm_id": "A-1"})) == []


def test_the_fast_deal_representation_equals_drfs_generic_one(tenant_a, five_deals_a):
    from rest_framework import serializers

    from api.serializers import DealSerializer
    from deals.models import Deal

    with tenant_context(tenant_a):
        for deal in Deal.objects.select_related("rep"):
            fast = DealSerializer(deal, context={"scores": {deal.pk: (0.123456, "high")}})
            generic = serializers.ModelSerializer.to_representation(fast, deal)
            assert fast.data == generic
