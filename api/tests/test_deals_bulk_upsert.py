"""POST /api/v1/deals/bulk: up to 10,000 deals by CRM id, all or nothing, per-item errors."""

from __future__ import annotations

from decimal import Decimal

from deals.models import Deal, ImportRun
from tenants.context import tenant_context

BULK = "/api/v1/deals/bulk"


def item(crm_id: str, **fields: object) -> dict[str, object]:
    return {
        "crm_id": crm_id,
        "created_date": "2024-02-01",
        "stage": "Qualified",
        "amount": "1500.00",
        "rep_crm_id": "rep_bulk",
        **fields,
    }


def test_new_and_known_deals_are_created_and_updated(writer_a, tenant_a, deal_a):
    response = writer_a.post(
        BULK,
        {"deals": [item("BULK-1"), item("BULK-2"), item("ACME-SECRET-1", amount="5.00", stage="Demo")]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (2, 1, 0)
    with tenant_context(tenant_a):
        assert Deal.objects.count() == 3
        assert Deal.objects.get(crm_id="ACME-SECRET-1").amount == Decimal("5.00")
        assert ImportRun.objects.get(pk=body["import_run_id"]).source == "api"


def test_sending_the_same_deals_again_changes_nothing(writer_a):
    payload = {"deals": [item("BULK-1"), item("BULK-2")]}
    writer_a.post(BULK, payload, format="json")
    body = writer_a.post(BULK, payload, format="json").json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 2)


def test_one_bad_item_rejects_all_with_per_item_errors(writer_a, tenant_a):
    response = writer_a.post(
        BULK,
        {"deals": [item("OK-1"), item("BAD-1", amount="-3"), item("BAD-2", stage="Nope"), item("OK-2")]},
        format="json",
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"deals[1].amount", "deals[2].stage"}
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_an_unknown_item_field_is_an_item_error(writer_a):
    response = writer_a.post(BULK, {"deals": [item("X-1", colour="red")]}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["deals[0].colour"]


def test_a_body_without_a_deals_list_is_422(writer_a):
    response = writer_a.post(BULK, {"items": []}, format="json")
    assert response.status_code == 422
    assert "deals" in response.json()["errors"]


def test_more_than_the_limit_is_413_and_writes_nothing(settings, writer_a, tenant_a):
    settings.API_BULK_MAX_ITEMS = 3
    response = writer_a.post(BULK, {"deals": [item(f"D-{index}") for index in range(4)]}, format="json")
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_ten_thousand_deals_are_accepted(writer_a, tenant_a):
    response = writer_a.post(
        BULK, {"deals": [item(f"D-{index:05d}") for index in range(10_000)]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["created"] == 10_000


def test_10001_deals_are_413(writer_a):
    response = writer_a.post(
        BULK, {"deals": [item(f"D-{index:05d}") for index in range(10_001)]}, format="json"
    )
    assert response.status_code == 413


def test_a_read_key_cannot_upsert(client_a, tenant_a):
    response = client_a.post(BULK, {"deals": [item("R-1")]}, format="json")
    assert response.status_code == 403
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_tenant_bs_upsert_of_tenant_as_crm_id_never_touches_tenant_as_deal(writer_b, tenant_a, deal_a):
    response = writer_b.post(BULK, {"deals": [item("ACME-SECRET-1", amount="1.00")]}, format="json")
    assert response.json()["created"] == 1
    with tenant_context(tenant_a):
        assert Deal.objects.get(crm_id="ACME-SECRET-1").amount == Decimal("987654.32")
