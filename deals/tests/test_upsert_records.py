"""deals_upsert_records: the API bulk upsert through the import engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from deals.models import Deal, DealStageChange, ImportRun, ImportStatus, Rep
from deals.selectors import tenant_data_checksum
from deals.services import deals_upsert_records


def record(crm_id: str = "A1", **changes):
    fields = {
        "crm_id": crm_id,
        "name": "Big deal",
        "created_date": "2024-03-01",
        "stage": "Demo",
        "amount": 1500,
        "rep_crm_id": "u1",
        "rep_name": "Ada",
    }
    fields.update(changes)
    return fields


def test_new_records_are_created_and_counted(in_tenant_a):
    result = deals_upsert_records(records=[record("A1"), record("A2")])
    assert (result.status, result.created, result.updated, result.unchanged) == (
        ImportStatus.SUCCEEDED,
        2,
        0,
        0,
    )
    assert Deal.objects.count() == 2
    assert Rep.objects.get().name == "Ada"
    assert sorted(result.deal_ids) == sorted(Deal.objects.values_list("pk", flat=True))


def test_records_accept_dates_decimals_and_floats(in_tenant_a):
    deals_upsert_records(
        records=[
            record("A1", created_date=dt.date(2024, 3, 1), amount=Decimal("10.50")),
            record("A2", created_date=dt.datetime(2024, 3, 2, 9, 30), amount=99.5),
        ]
    )
    assert dict(Deal.objects.values_list("crm_id", "amount")) == {
        "A1": Decimal("10.50"),
        "A2": Decimal("99.50"),
    }
    assert Deal.objects.get(crm_id="A2").created_date == dt.date(2024, 3, 2)


def test_a_known_deal_is_updated_only_when_something_differs(in_tenant_a):
    deals_upsert_records(records=[record("A1"), record("A2")])
    result = deals_upsert_records(records=[record("A1"), record("A2", amount=2000)])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)


def test_a_closing_record_moves_the_stage_and_records_the_move(in_tenant_a):
    deals_upsert_records(records=[record("A1")])
    deals_upsert_records(records=[record("A1", stage="Closed", status="won", closed_date="2024-04-01")])
    deal = Deal.objects.get()
    assert (deal.status, deal.closed_date, deal.sales_cycle_days) == ("won", dt.date(2024, 4, 1), 31)
    move = DealStageChange.objects.get()
    assert (move.from_stage, move.to_stage, move.source) == ("Demo", "Closed", "api")


def test_fields_no_record_carries_are_left_as_they_are(in_tenant_a):
    deals_upsert_records(records=[record("A1", industry="SaaS", extra={"score": 7})])
    deals_upsert_records(
        records=[{"crm_id": "A1", "created_date": "2024-03-01", "stage": "Proposal", "amount": 1500}]
    )
    deal = Deal.objects.select_related("rep").get()
    assert (deal.stage, deal.industry, deal.name, deal.rep.crm_id, deal.extra) == (
        "Proposal",
        "SaaS",
        "Big deal",
        "u1",
        {"score": 7},
    )


def test_per_item_errors_name_the_index_and_field_and_nothing_is_written(in_tenant_a):
    deals_upsert_records(records=[record("A0")])
    before = tenant_data_checksum()
    result = deals_upsert_records(
        records=[record("A1"), record("A2", amount=-5), record("A3", stage="Won it"), record("A0", amount=1)]
    )
    assert result.status == ImportStatus.REJECTED
    assert result.rejected == 2
    assert result.errors == [
        {"index": 1, "field": "amount", "reason": "amount is negative ('-5')"},
        {
            "index": 2,
            "field": "stage",
            "reason": "unknown stage 'Won it'; this workspace's stages are "
            "Qualified, Demo, Proposal, Negotiation, Closed",
        },
    ]
    assert tenant_data_checksum() == before


def test_unknown_fields_and_wrong_types_are_item_errors(in_tenant_a):
    result = deals_upsert_records(
        records=[record("A1", colour="red"), record("A2", amount=True), "not a dict"]
    )
    assert result.errors == [
        {"index": 0, "field": "colour", "reason": "unknown field"},
        {"index": 1, "field": "amount", "reason": "must be text, a number or a date, not true/false"},
        {"index": 2, "field": None, "reason": "each item must be an object of field → value"},
    ]


def test_a_repeated_crm_id_in_one_request_is_an_error_naming_both_items(in_tenant_a):
    result = deals_upsert_records(records=[record("A1"), record("A2"), record("A1", amount=3)])
    assert result.errors == [{"index": 2, "field": "crm_id", "reason": "deal id 'A1' also appears on item 0"}]


def test_an_upsert_is_recorded_as_an_import_run_of_its_source(in_tenant_a, user_a):
    result = deals_upsert_records(records=[record("A1")], source="api", user=user_a)
    run = ImportRun.objects.get(pk=result.import_run_id)
    assert (run.source, run.user, run.created, run.mapping_name) == ("api", user_a, 1, "api")


def test_an_empty_list_of_records_is_rejected_without_changes(in_tenant_a):
    result = deals_upsert_records(records=[])
    assert result.status == ImportStatus.REJECTED
    assert result.errors == [
        {"index": None, "field": None, "reason": "there are no rows to import; nothing was changed"}
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("created_date", "01/03/2024", "is not a valid date in the format %Y-%m-%d"),
        ("status", "maybe", "unknown outcome 'maybe'"),
        ("currency", "dollars", "is not a 3-letter code"),
        ("rep_email", "not-an-email", "is not an email address"),
        ("name", "x" * 301, "the limit is 300"),
        ("extra", ["a"], "extra must be an object"),
        ("name", "nul\x00byte", "contains a NUL character"),
    ],
)
def test_item_values_are_validated_like_csv_cells(in_tenant_a, field, value, reason):
    result = deals_upsert_records(records=[record("A1", **{field: value})])
    assert result.errors[0]["field"] == field
    assert reason in result.errors[0]["reason"]
