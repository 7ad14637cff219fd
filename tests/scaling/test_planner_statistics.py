"""The planner estimates a tenant's open deals from that tenant's own rows.

It would otherwise multiply the tenant's share of the table by the table's open share, and
plan for the wrong row count when tenants differ (docs/scaling.md, "Statistics across tenants
of different shapes"). Deals migrations 0003 and 0005 give (tenant_id, status) extended
statistics; the estimate is read as the app role, under row-level security.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from scoring.tests.factories import deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _estimated_rows(sql: str, params: list[object]) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]["Plan Rows"]


def test_a_tenants_open_deals_are_estimated_from_its_own_share(tenant_a: Tenant, tenant_b: Tenant) -> None:
    # Tenant A is 10% open, tenant B 90%: the table as a whole is half open.
    with tenant_context(tenant_a):
        deals_seed(n_closed=900, n_open=100, prefix="A")
    with tenant_context(tenant_b):
        deals_seed(n_closed=100, n_open=900, prefix="B")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE deals_deal")

    with tenant_context(tenant_a):
        estimate = _estimated_rows(
            "SELECT id FROM deals_deal WHERE tenant_id = %s AND status = 'open'", [tenant_a.pk]
        )

    # As independent columns: 1,000 of 2,000 rows × half open = 500.
    assert 70 <= estimate <= 150, estimate
