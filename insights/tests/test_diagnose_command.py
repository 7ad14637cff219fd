"""python manage.py diagnose: JSON document or a human summary."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from insights.tests.factories import DealSpec, deals_create
from tenants.context import tenant_context
from tenants.models import Tenant


@pytest.fixture
def tenant_with_deals(tenant_a: Tenant) -> Tenant:
    with tenant_context(tenant_a):
        deals_create(
            [DealSpec(dt.date(2024, 2, 10), status="won")] * 30
            + [DealSpec(dt.date(2024, 2, 11), status="lost")] * 30
            + [DealSpec(dt.date(2024, 5, 10), status="won")] * 20
            + [DealSpec(dt.date(2024, 5, 11), status="lost")] * 40
        )
    return tenant_a


def test_json_output_is_the_diagnosis_document(tenant_with_deals: Tenant) -> None:
    out = io.StringIO()
    call_command("diagnose", "--tenant", "acme", "--as-of", "2024-07-01", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["period"]["current"]["label"] == "2024Q2"
    assert document["win_rate"]["current"]["n"] == 60
    assert document["win_rate"]["change"] == pytest.approx(20 / 60 - 30 / 60, abs=1e-6)


def test_without_json_it_prints_the_summary(tenant_with_deals: Tenant) -> None:
    out = io.StringIO()
    call_command("diagnose", "--tenant", "acme", "--as-of", "2024-07-01", stdout=out)
    text = out.getvalue()
    assert text.startswith("Acme Corp: 2024Q2 vs 2024Q1")
    assert "Win rate fell 16.7 pts (50.0% → 33.3%)" in text


def test_compare_year_ago_sets_the_baseline(tenant_with_deals: Tenant) -> None:
    out = io.StringIO()
    call_command(
        "diagnose", "--tenant", "acme", "--as-of", "2024-07-01", "--compare", "year_ago", "--json", stdout=out
    )
    document = json.loads(out.getvalue())
    assert document["period"]["baseline"]["label"] == "2023Q2"
    assert document["win_rate"]["baseline"]["n"] == 0
    assert document["win_rate"]["change"] is None


def test_an_unknown_tenant_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("diagnose", "--tenant", "nope")
