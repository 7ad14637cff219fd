"""diagnose on thin data: nothing to compare, tiny segments, another tenant's deals."""

from __future__ import annotations

import datetime as dt
import json

from insights.services import diagnose
from insights.tests.factories import DealSpec, deals_create
from tenants.context import tenant_context
from tenants.models import Tenant


def test_a_tenant_without_deals_gets_a_complete_document_of_empty_values(tenant_a: Tenant) -> None:
    document = diagnose(tenant=tenant_a, as_of=dt.date(2024, 7, 1))
    json.dumps(document, allow_nan=False)
    assert document["win_rate"]["current"]["rate"] is None
    assert (
        document["win_rate"]["verdict"]
        == "Win rate: not enough closed deals in one of the periods to compare."
    )
    assert document["top_contributors"] == [] and document["reps"] == []


def test_segments_below_the_minimum_sample_are_never_top_contributors(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        deals_create(
            [DealSpec(dt.date(2024, 2, 5), status="won", lead_source="Inbound")] * 40
            + [DealSpec(dt.date(2024, 2, 5), status="lost", lead_source="Inbound")] * 40
            + [DealSpec(dt.date(2024, 5, 5), status="won", lead_source="Inbound")] * 40
            + [DealSpec(dt.date(2024, 5, 5), status="lost", lead_source="Inbound")] * 30
            + [DealSpec(dt.date(2024, 5, 5), status="lost", lead_source="Partner")] * 10
        )
    document = diagnose(tenant=tenant_a, as_of=dt.date(2024, 7, 1))
    lead = next(item for item in document["decomposition"] if item["dimension"] == "lead_source")
    partner = next(segment for segment in lead["segments"] if segment["value"] == "Partner")
    assert partner["below_min_sample"]
    assert all(item["value"] != "Partner" for item in document["top_contributors"])


def test_diagnose_never_counts_another_tenants_deals(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_b):
        deals_create([DealSpec(dt.date(2024, 5, 5), status="won")] * 50)
    with tenant_context(tenant_a):
        deals_create([DealSpec(dt.date(2024, 5, 5), status="lost")] * 7)
    document = diagnose(tenant=tenant_a, as_of=dt.date(2024, 7, 1))
    assert (document["win_rate"]["current"]["n"], document["win_rate"]["current"]["won"]) == (7, 0)


def test_for_years_the_previous_and_year_ago_periods_are_the_same(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        deals_create([DealSpec(dt.date(2023, 5, 5), status="won")] * 4 + [DealSpec(dt.date(2024, 5, 5))] * 2)
    win_rate = diagnose(tenant=tenant_a, as_of=dt.date(2025, 1, 1), period="year")["win_rate"]
    assert win_rate["previous"] == win_rate["year_ago"]
    assert (win_rate["previous"]["period"], win_rate["previous"]["n"]) == ("2023", 4)
