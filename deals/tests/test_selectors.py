"""Deal reads and the tenant data checksum."""

from __future__ import annotations

import datetime as dt

from deals.models import Deal
from deals.selectors import deal_list, import_run_summary, tenant_data_checksum
from deals.services import deal_create, deal_update, deals_upsert_records
from tenants.context import tenant_context


def make_deals() -> None:
    deals_upsert_records(
        records=[
            {
                "crm_id": "A1",
                "name": "Acme renewal",
                "created_date": "2024-01-01",
                "stage": "Demo",
                "amount": 1,
            },
            {"crm_id": "A2", "name": "Beta", "created_date": "2024-02-01", "stage": "Proposal", "amount": 2},
            {
                "crm_id": "A3",
                "name": "Gamma",
                "created_date": "2024-03-01",
                "stage": "Closed",
                "amount": 3,
                "status": "won",
                "closed_date": "2024-04-01",
                "rep_crm_id": "u1",
            },
        ]
    )


def test_deal_list_filters_by_status_stage_rep_and_search(in_tenant_a):
    make_deals()
    rep_id = Deal.objects.get(crm_id="A3").rep_id
    assert [deal.crm_id for deal in deal_list()] == ["A3", "A2", "A1"]
    assert [deal.crm_id for deal in deal_list(status="open")] == ["A2", "A1"]
    assert [deal.crm_id for deal in deal_list(stage="Demo")] == ["A1"]
    assert [deal.crm_id for deal in deal_list(rep_id=rep_id)] == ["A3"]
    assert [deal.crm_id for deal in deal_list(search="acme")] == ["A1"]


def test_the_checksum_is_stable_while_nothing_changes(in_tenant_a):
    make_deals()
    assert tenant_data_checksum() == tenant_data_checksum()


def test_the_checksum_changes_with_any_write(in_tenant_a):
    make_deals()
    before = tenant_data_checksum()
    deal_update(deal=Deal.objects.get(crm_id="A1"), name="Acme renewal!")
    assert tenant_data_checksum() != before


def test_the_checksum_covers_only_the_active_tenant(in_tenant_a, tenant_b):
    make_deals()
    before = tenant_data_checksum()
    with tenant_context(tenant_b):
        deal_create(crm_id="B1", created_date=dt.date(2024, 1, 1), stage="Demo", amount=1)
    assert tenant_data_checksum() == before


def test_the_import_summary_has_the_documented_keys(in_tenant_a):
    from deals.models import ImportRun

    deals_upsert_records(
        records=[{"crm_id": "A1", "created_date": "2024-01-01", "stage": "Demo", "amount": 1}]
    )
    summary = import_run_summary(import_run=ImportRun.objects.get())
    assert summary["status"] == "succeeded" and type(summary["status"]) is str
    assert (summary["created"], summary["errors"]) == (1, [])
