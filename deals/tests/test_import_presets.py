"""The salesforce and hubspot presets, and a mapping file, each on a small sample export."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from deals.mapping import mapping_load_file
from deals.models import Deal, ImportStatus, Rep
from deals.services import deals_import_file
from deals.tests.conftest import DATA


@pytest.fixture
def salesforce_import(in_tenant_a):
    return deals_import_file(file=DATA / "salesforce_opportunities.csv", mapping="salesforce")


@pytest.fixture
def hubspot_import(in_tenant_a):
    return deals_import_file(file=DATA / "hubspot_deals.csv", mapping="hubspot")


def test_the_salesforce_preset_imports_every_opportunity(salesforce_import):
    assert (salesforce_import.status, salesforce_import.created) == (ImportStatus.SUCCEEDED, 4)
    assert dict(Deal.objects.values_list("name", "status")) == {
        "Acme - 200 seats": "won",
        "Globex renewal": "lost",
        "Initech expansion": "open",
        "Umbrella pilot": "open",
    }


def test_salesforce_amounts_lose_their_currency_symbol_and_thousands_separator(salesforce_import):
    assert Deal.objects.get(crm_id="0065g00000AbCdEAAA").amount == Decimal("12500.00")


def test_salesforce_stages_map_onto_the_tenants_stages(salesforce_import):
    assert dict(Deal.objects.values_list("crm_id", "stage")) == {
        "0065g00000AbCdEAAA": "Closed",
        "0065g00000AbCdFAAA": "Closed",
        "0065g00000AbCdGAAA": "Negotiation",
        "0065g00000AbCdHAAA": "Qualified",
    }


def test_an_open_salesforce_opportunitys_close_date_is_its_expected_close_date(salesforce_import):
    deal = Deal.objects.get(crm_id="0065g00000AbCdGAAA")
    assert (deal.closed_date, deal.expected_close_date, deal.sales_cycle_days) == (
        None,
        dt.date(2024, 9, 30),
        None,
    )


def test_a_closed_salesforce_opportunity_gets_its_cycle_from_us_dates(salesforce_import):
    deal = Deal.objects.get(crm_id="0065g00000AbCdEAAA")
    assert (deal.created_date, deal.closed_date, deal.sales_cycle_days) == (
        dt.date(2024, 1, 5),
        dt.date(2024, 2, 15),
        41,
    )


def test_a_blank_salesforce_amount_takes_the_presets_default_of_zero(salesforce_import):
    assert Deal.objects.get(crm_id="0065g00000AbCdHAAA").amount == 0


def test_salesforce_owners_become_reps_named_after_them(salesforce_import):
    assert sorted(Rep.objects.values_list("crm_id", "name")) == [
        ("Ada Lovelace", "Ada Lovelace"),
        ("Grace Hopper", "Grace Hopper"),
    ]


def test_unmapped_salesforce_columns_are_kept_in_extra_including_a_quoted_newline(salesforce_import):
    extra = Deal.objects.get(crm_id="0065g00000AbCdGAAA").extra
    assert extra["Account Name"] == "Initech"
    assert extra["Next Step"] == "Legal review\nthen signature"
    assert set(extra) == {"Account Name", "Fiscal Period", "Probability (%)", "Age", "Next Step"}


def test_the_hubspot_preset_imports_every_deal(hubspot_import):
    assert (hubspot_import.status, hubspot_import.created) == (ImportStatus.SUCCEEDED, 3)
    assert dict(Deal.objects.values_list("crm_id", "status")) == {
        "9001": "won",
        "9002": "lost",
        "9003": "open",
    }


def test_hubspot_dates_with_times_become_dates(hubspot_import):
    deal = Deal.objects.get(crm_id="9001")
    assert (deal.created_date, deal.closed_date) == (dt.date(2024, 1, 10), dt.date(2024, 3, 28))


def test_hubspot_internal_stage_ids_and_labels_both_map(hubspot_import):
    assert dict(Deal.objects.values_list("crm_id", "stage")) == {
        "9001": "Closed",
        "9002": "Closed",
        "9003": "Negotiation",
    }
    assert Deal.objects.get(crm_id="9003").amount == Decimal("18000.50")


def test_a_mapping_file_reads_semicolons_day_first_dates_and_decimal_commas(in_tenant_a):
    spec = mapping_load_file(DATA / "european_crm_mapping.json")
    run = deals_import_file(file=DATA / "european_crm_deals.csv", mapping=spec)
    assert (run.status, run.created, run.mapping_name) == (ImportStatus.SUCCEEDED, 2, "european_crm_mapping")
    won = Deal.objects.get(crm_id="P-1")
    assert (won.name, won.amount, won.currency, won.status, won.stage) == (
        "Müller GmbH",
        Decimal("12500.50"),
        "EUR",
        "won",
        "Closed",
    )
    assert won.closed_date == dt.date(2024, 2, 20)
    open_deal = Deal.objects.get(crm_id="P-2")
    assert (open_deal.amount, open_deal.currency, open_deal.status) == (Decimal("7000"), "CHF", "open")


def test_a_spec_dict_can_be_passed_instead_of_a_name(in_tenant_a):
    spec = json.loads((DATA / "european_crm_mapping.json").read_text())
    run = deals_import_file(file=DATA / "european_crm_deals.csv", mapping=spec)
    assert run.created == 2


def test_a_new_salesforce_close_date_moves_an_open_deals_expected_close_date(salesforce_import, tmp_path):
    text = (DATA / "salesforce_opportunities.csv").read_text().replace('"9/30/2024"', '"10/31/2024"')
    changed = tmp_path / "later.csv"
    changed.write_text(text)
    run = deals_import_file(file=changed, mapping="salesforce")
    assert (run.updated, run.unchanged) == (1, 3)
    assert Deal.objects.get(crm_id="0065g00000AbCdGAAA").expected_close_date == dt.date(2024, 10, 31)
