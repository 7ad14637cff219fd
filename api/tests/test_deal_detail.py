"""GET and PATCH /api/v1/deals/{id}: one deal, partial updates through deals.services."""

from __future__ import annotations

import datetime as dt

from api.tests.conftest import session_client
from deals.models import Deal, DealStageChange
from tenants.context import tenant_context


def url(deal: Deal) -> str:
    return f"/api/v1/deals/{deal.pk}"


def test_a_deal_is_retrieved_by_its_id(client_a, deal_a):
    response = client_a.get(url(deal_a))
    assert response.status_code == 200
    assert response.json()["crm_id"] == "ACME-SECRET-1"
    assert response.json()["amount"] == "987654.32"


def test_another_tenants_key_gets_404_and_none_of_the_deal(writer_b, deal_a):
    for response in (
        writer_b.get(url(deal_a)),
        writer_b.patch(url(deal_a), {"stage": "Demo"}, format="json"),
    ):
        assert response.status_code == 404
        assert "ACME" not in response.content.decode()
        assert "987654" not in response.content.decode()


def test_another_tenants_signed_in_user_gets_404(user_b, deal_a):
    response = session_client(user_b).get(url(deal_a))
    assert response.status_code == 404
    assert "ACME" not in response.content.decode()


def test_a_missing_deal_is_404_in_the_error_shape(client_a, db):
    response = client_a.get("/api/v1/deals/999999999")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_patch_changes_only_the_fields_sent(writer_a, tenant_a, deal_a):
    response = writer_a.patch(url(deal_a), {"amount": "1200.50", "region": "APAC"}, format="json")
    assert response.status_code == 200
    assert (response.json()["amount"], response.json()["region"]) == ("1200.50", "APAC")
    assert response.json()["name"] == "Acme secret merger"


def test_a_stage_change_is_recorded_in_the_stage_history(writer_a, tenant_a, deal_a):
    writer_a.patch(url(deal_a), {"stage": "Demo", "stage_entered_date": "2024-02-01"}, format="json")
    with tenant_context(tenant_a):
        change = DealStageChange.objects.get(deal=deal_a)
    assert (change.from_stage, change.to_stage, change.changed_on) == (
        "Qualified",
        "Demo",
        dt.date(2024, 2, 1),
    )
    assert change.source == "api"


def test_patch_can_move_the_deal_to_a_new_rep(writer_a, tenant_a, deal_a):
    response = writer_a.patch(url(deal_a), {"rep_crm_id": "rep_new", "rep_name": "Nia New"}, format="json")
    assert (response.json()["rep_crm_id"], response.json()["rep_name"]) == ("rep_new", "Nia New")


def test_an_unknown_stage_is_422_naming_the_field(writer_a, deal_a):
    response = writer_a.patch(url(deal_a), {"stage": "Wishful thinking"}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["stage"]


def test_winning_without_a_closed_date_is_422_and_changes_nothing(writer_a, tenant_a, deal_a):
    response = writer_a.patch(url(deal_a), {"status": "won"}, format="json")
    assert response.status_code == 422
    with tenant_context(tenant_a):
        assert Deal.objects.get(pk=deal_a.pk).status == "open"


def test_an_unknown_field_is_422(writer_a, deal_a):
    response = writer_a.patch(url(deal_a), {"crm_id": "NEW-ID"}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["crm_id"]


def test_a_read_key_cannot_patch(client_a, deal_a):
    response = client_a.patch(url(deal_a), {"stage": "Demo"}, format="json")
    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
