"""POST /api/v1/deals: one deal, validated like an imported row."""

from __future__ import annotations

from deals.models import Deal
from tenants.context import tenant_context

DEALS = "/api/v1/deals"
NEW_DEAL = {
    "crm_id": "NEW-1",
    "name": "Fresh opportunity",
    "created_date": "2024-03-01",
    "stage": "Demo",
    "amount": "4800.00",
    "rep_crm_id": "rep_9",
    "rep_name": "Rita Nine",
    "region": "Europe",
}


def test_a_write_key_creates_a_deal(writer_a, tenant_a):
    response = writer_a.post(DEALS, NEW_DEAL, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["crm_id"], body["status"], body["rep_name"], body["currency"]) == (
        "NEW-1",
        "open",
        "Rita Nine",
        "USD",
    )
    with tenant_context(tenant_a):
        assert Deal.objects.get(crm_id="NEW-1").pk == body["id"]


def test_a_taken_crm_id_is_409(writer_a, deal_a):
    response = writer_a.post(DEALS, {**NEW_DEAL, "crm_id": "ACME-SECRET-1"}, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "conflict"


def test_the_same_crm_id_in_another_tenant_is_fine(writer_b, deal_a):
    assert writer_b.post(DEALS, {**NEW_DEAL, "crm_id": "ACME-SECRET-1"}, format="json").status_code == 201


def test_missing_required_fields_are_422_listing_each(writer_a, db):
    response = writer_a.post(DEALS, {"crm_id": "X"}, format="json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"created_date", "stage", "amount"}


def test_a_negative_amount_is_422(writer_a, db):
    response = writer_a.post(DEALS, {**NEW_DEAL, "amount": "-5"}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["amount"]


def test_a_won_deal_needs_a_closed_date(writer_a, tenant_a):
    response = writer_a.post(DEALS, {**NEW_DEAL, "status": "won"}, format="json")
    assert response.status_code == 422
    assert "closed_date" in response.json()["errors"]
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_a_read_key_cannot_create(client_a, tenant_a):
    response = client_a.post(DEALS, NEW_DEAL, format="json")
    assert response.status_code == 403
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()
