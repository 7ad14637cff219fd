"""The foundation's acceptance: the reference file imports exactly, idempotently, all or nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import connection

from deals.models import Deal, DealStageChange, ImportStatus, Rep
from deals.selectors import tenant_data_checksum
from deals.services import deals_import_file
from salesintel.testing.data import SKYGENI_CSV
from tenants.context import tenant_context


def copy_with_change(tmp_path: Path, *, data_row: int, column: str, value: str) -> Path:
    """A copy of the reference file with one cell replaced (``data_row`` 1 = first data row)."""
    lines = SKYGENI_CSV.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[data_row].split(",")
    cells[header.index(column)] = value
    lines[data_row] = ",".join(cells)
    path = tmp_path / "changed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_importing_the_reference_file_creates_5000_deals_25_reps_2263_won_and_2737_lost(skygeni_tenant):
    with tenant_context(skygeni_tenant):
        assert Deal.objects.count() == 5000
        assert Rep.objects.count() == 25
        assert Deal.objects.filter(status="won").count() == 2263
        assert Deal.objects.filter(status="lost").count() == 2737


def test_the_import_run_records_5000_created_rows_and_the_file_hash(skygeni_tenant):
    with tenant_context(skygeni_tenant):
        run = skygeni_tenant.importrun_set.get()
    assert (run.status, run.rows_read, run.created, run.updated, run.unchanged, run.rejected) == (
        ImportStatus.SUCCEEDED,
        5000,
        5000,
        0,
        0,
        0,
    )
    assert len(run.file_sha256) == 64
    assert run.mapping_name == "standard"


def test_an_imported_deal_carries_every_column_of_its_row(skygeni_tenant):
    with tenant_context(skygeni_tenant):
        deal = Deal.objects.select_related("rep").get(crm_id="D00003")
    # D00003,2023-10-29,2023-12-10,rep_5,HealthTech,APAC,Core,Inbound,Proposal,10615,42,Lost
    assert (deal.created_date, deal.closed_date) == (dt.date(2023, 10, 29), dt.date(2023, 12, 10))
    assert (deal.rep.crm_id, deal.industry, deal.region, deal.product_type, deal.lead_source) == (
        "rep_5",
        "HealthTech",
        "APAC",
        "Core",
        "Inbound",
    )
    assert (deal.stage, deal.amount, deal.status, deal.sales_cycle_days) == ("Proposal", 10615, "lost", 42)
    assert deal.currency == "USD"


def test_sales_cycle_days_equal_closed_minus_created_for_every_deal(skygeni_tenant):
    with tenant_context(skygeni_tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM deals_deal WHERE tenant_id = %s"
            " AND sales_cycle_days IS DISTINCT FROM closed_date - created_date",
            [skygeni_tenant.pk],
        )
        assert cursor.fetchone()[0] == 0


def test_importing_the_same_file_again_leaves_all_5000_unchanged(skygeni_tenant):
    with tenant_context(skygeni_tenant):
        before = tenant_data_checksum()
        run = deals_import_file(file=SKYGENI_CSV)
        assert (run.status, run.created, run.updated, run.unchanged) == (ImportStatus.SUCCEEDED, 0, 0, 5000)
        assert tenant_data_checksum() == before


def test_a_changed_stage_on_reimport_updates_one_deal_and_records_its_stage_move(skygeni_tenant, tmp_path):
    # Data row 1 is D00001, stage Qualified.
    changed = copy_with_change(tmp_path, data_row=1, column="deal_stage", value="Demo")
    with tenant_context(skygeni_tenant):
        run = deals_import_file(file=changed)
        assert (run.created, run.updated, run.unchanged) == (0, 1, 4999)
        move = DealStageChange.objects.get()
        assert (move.deal.crm_id, move.from_stage, move.to_stage, move.source) == (
            "D00001",
            "Qualified",
            "Demo",
            "import",
        )
        assert Deal.objects.get(crm_id="D00001").stage_entered_date == move.changed_on


def test_a_changed_amount_on_reimport_updates_the_deal_without_a_stage_move(skygeni_tenant, tmp_path):
    changed = copy_with_change(tmp_path, data_row=2, column="deal_amount", value="4000")
    with tenant_context(skygeni_tenant):
        run = deals_import_file(file=changed)
        assert (run.updated, run.unchanged) == (1, 4999)
        assert Deal.objects.get(crm_id="D00002").amount == 4000
        assert not DealStageChange.objects.exists()


def test_one_bad_row_among_thousands_rejects_the_file_naming_its_row_and_column(skygeni_tenant, tmp_path):
    # Data row 2999 is spreadsheet row 3000 (the header is row 1).
    bad = copy_with_change(tmp_path, data_row=2999, column="deal_amount", value="-5")
    with tenant_context(skygeni_tenant):
        run = deals_import_file(file=bad)
    assert run.status == ImportStatus.REJECTED
    assert run.rejected == 1
    assert run.errors == [{"row": 3000, "column": "deal_amount", "reason": "amount is negative ('-5')"}]


def test_one_bad_row_among_thousands_leaves_the_tenants_data_byte_for_byte_unchanged(
    skygeni_tenant, tmp_path
):
    bad = copy_with_change(tmp_path, data_row=2999, column="created_date", value="2023-02-31")
    changed_and_bad = bad.read_text().replace("D00001,2023-11-24", "D00001,2023-11-23")
    bad.write_text(changed_and_bad)
    with tenant_context(skygeni_tenant):
        before = tenant_data_checksum()
        run = deals_import_file(file=bad)
        assert run.status == ImportStatus.REJECTED
        assert tenant_data_checksum() == before


def test_two_tenants_importing_the_same_file_each_see_only_their_own_rows(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            assert deals_import_file(file=SKYGENI_CSV).created == 5000
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tenant_id FROM deals_deal")
            assert cursor.fetchall() == [(tenant.pk,)]
            cursor.execute("SELECT DISTINCT tenant_id FROM deals_rep")
            assert cursor.fetchall() == [(tenant.pk,)]
            assert Deal.objects.count() == 5000


def test_a_reimport_into_one_tenant_does_not_touch_the_other(tenant_a, tenant_b, tmp_path):
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            deals_import_file(file=SKYGENI_CSV)
    with tenant_context(tenant_b):
        before_b = tenant_data_checksum()
    changed = copy_with_change(tmp_path, data_row=1, column="deal_stage", value="Demo")
    with tenant_context(tenant_a):
        assert deals_import_file(file=changed).updated == 1
    with tenant_context(tenant_b):
        assert tenant_data_checksum() == before_b
