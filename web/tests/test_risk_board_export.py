"""CSV export of the filtered risk board: every matching deal, formula-injection safe."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

from django.test import Client
from django.urls import reverse

from deals.models import Deal
from tenants.context import tenant_context


def exported(client: Client, **params: str) -> list[dict[str, str]]:
    response = client.get(reverse("risk_board_export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_holds_every_filtered_deal_not_only_the_first_page(admin_client: Client, pipeline_a):
    rows = exported(admin_client)
    assert len(rows) == 60
    europe = exported(admin_client, region="Europe")
    assert europe and all(row["region"] == "Europe" for row in europe)


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(admin_client: Client, tenant_a):
    with tenant_context(tenant_a):
        Deal.objects.create(
            crm_id="F-1",
            name='=HYPERLINK("http://evil.test","click")',
            created_date=dt.date(2025, 1, 1),
            stage="Demo",
            amount=Decimal("10"),
            industry="@SUM(A1)",
        )
    (row,) = exported(admin_client)
    assert row["name"] == '\'=HYPERLINK("http://evil.test","click")'
    assert row["industry"] == "'@SUM(A1)"
    assert row["amount"] == "10.00"


def test_the_export_contains_no_other_tenants_deals(admin_client: Client, open_deal_a, deal_b):
    rows = exported(admin_client)
    assert [row["deal_id"] for row in rows] == ["A-OPEN-1"]


def test_the_export_carries_each_deals_score_and_the_model_that_made_it(
    admin_client: Client, scored_pipeline_a
):
    rows = exported(admin_client)
    assert len(rows) == 61
    assert all(0 < float(row["win_probability"]) < 1 for row in rows)
    (model,) = {row["model"] for row in rows}
    assert re.fullmatch(r"v\d+ · Base rate \(baseline\)", model)
