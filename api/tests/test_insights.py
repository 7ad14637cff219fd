"""/api/v1/insights/*: the diagnosis document, segment metrics and rep win rates."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from api.tests.conftest import deal_make
from tenants.context import tenant_context

AS_OF = "2024-07-01"


@pytest.fixture
def closed_deals_a(tenant_a):
    """Q2 2024 in tenant A: 3 won, 2 lost, in two regions and with two reps."""
    with tenant_context(tenant_a):
        for index, (status, region, rep) in enumerate(
            [
                ("won", "Europe", "rep_a1"),
                ("won", "Europe", "rep_a1"),
                ("won", "APAC", "rep_a2"),
                ("lost", "APAC", "rep_a2"),
                ("lost", "Europe", "rep_a1"),
            ]
        ):
            deal_make(
                f"A-Q2-{index}",
                status=status,
                region=region,
                rep=rep,
                stage="Closed",
                created_date=dt.date(2024, 3, 1),
                closed_date=dt.date(2024, 5, 1 + index),
                amount=Decimal("5000"),
            )


def test_the_diagnosis_is_the_same_document_as_the_command(client_a, tenant_a, closed_deals_a):
    query = {"as_of": AS_OF, "compare": "year_ago", "period": "quarter", "min_sample": 2}
    response = client_a.get("/api/v1/insights/diagnosis", query)
    assert response.status_code == 200
    out = io.StringIO()
    call_command(
        "diagnose",
        "--tenant",
        "acme",
        "--as-of",
        AS_OF,
        "--compare",
        "year_ago",
        "--min-sample",
        "2",
        "--json",
        stdout=out,
    )
    assert response.json() == json.loads(out.getvalue())
    assert response.json()["win_rate"]["current"]["n"] == 5


def test_an_impossible_as_of_is_400_naming_the_parameter(client_a):
    response = client_a.get("/api/v1/insights/diagnosis", {"as_of": "2024-02-31"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["as_of"]


def test_an_unknown_compare_is_400(client_a):
    response = client_a.get("/api/v1/insights/diagnosis", {"compare": "last_century"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["compare"]


def test_segments_break_the_period_down_by_the_requested_dimension(client_a, closed_deals_a):
    response = client_a.get("/api/v1/insights/segments", {"as_of": AS_OF, "dimensions": "region"})
    assert response.status_code == 200
    rows = {row["value"]: (row["n"], row["won"]) for row in response.json()["segments"]}
    assert rows["Europe"] == (3, 2)
    assert rows["APAC"] == (2, 1)
    assert response.json()["period"]["start"] == "2024-04-01"


def test_segments_accept_a_pair_of_dimensions(client_a, closed_deals_a):
    response = client_a.get("/api/v1/insights/segments", {"as_of": AS_OF, "dimensions": "region+rep"})
    keys = {row["dimension_key"] for row in response.json()["segments"]}
    assert keys == {"all", "region+rep"}


def test_an_unknown_dimension_is_400(client_a):
    response = client_a.get("/api/v1/insights/segments", {"dimensions": "star_sign"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["dimensions[0]"]


def test_reps_lists_each_reps_win_rate(client_a, closed_deals_a):
    response = client_a.get("/api/v1/insights/reps", {"as_of": AS_OF})
    assert response.status_code == 200
    reps = {rep["name"]: (rep["n"], rep["won"]) for rep in response.json()["reps"]}
    assert reps == {"rep_a1": (3, 2), "rep_a2": (2, 1)}


def test_tenant_b_sees_none_of_tenant_as_closed_deals(writer_b, closed_deals_a):
    for path in ("/api/v1/insights/diagnosis", "/api/v1/insights/segments", "/api/v1/insights/reps"):
        response = writer_b.get(path, {"as_of": AS_OF})
        assert response.status_code == 200
        assert "rep_a1" not in response.content.decode()
        assert "Europe" not in response.content.decode()


def test_insights_need_credentials(db):
    assert APIClient().get("/api/v1/insights/diagnosis").status_code == 401
