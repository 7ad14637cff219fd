"""Shared pytest fixtures; see conftest.py (pytest_plugins)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from salesintel.paths import BASE_DIR
from tenants.models import Tenant
from tenants.services import tenant_create

# The public reference data set (5,000 closed deals); read by path, never copied into the project.
SKYGENI_CSV = BASE_DIR.parent / "shared" / "data" / "skygeni_sales_data.csv"

# The demo tenant's fixed "today" in tests: Q0 = 2026Q4 (to Nov 15), Q-1 = 2026Q3, Q-2 = 2026Q2.
DEMO_ANCHOR = dt.date(2026, 11, 15)


@pytest.fixture
def demo_tenant(db: None) -> Tenant:
    """Tenant ``demo`` seeded the way ``seed_demo`` seeds it, anchored on DEMO_ANCHOR.

    5,000 closed and 600 open deals carrying the effects in deals.demo.PLANTED, imported
    through the import service, plus their stage histories (about 14,500 moves).
    """
    from deals.demo_seed import DEMO_TENANT, demo_seed

    tenant = tenant_create(
        slug=DEMO_TENANT.slug,
        name=DEMO_TENANT.name,
        timezone=DEMO_TENANT.timezone,
        currency=DEMO_TENANT.currency,
    )
    demo_seed(
        tenant=tenant,
        anchor=DEMO_ANCHOR,
        variant=DEMO_TENANT.variant,
        n_closed=DEMO_TENANT.n_closed,
        n_open=DEMO_TENANT.n_open,
    )
    return tenant


@pytest.fixture
def demo_deals() -> pd.DataFrame:
    """The generated frame behind ``demo_tenant`` (same arguments, so the same deals), with the
    oracle columns true_win_probability and planted_stall; join on deal_id = Deal.crm_id."""
    from deals.demo import generate_deals
    from deals.demo_seed import DEMO_TENANT

    return generate_deals(
        anchor=DEMO_ANCHOR,
        n_closed=DEMO_TENANT.n_closed,
        n_open=DEMO_TENANT.n_open,
        tenant_variant=DEMO_TENANT.variant,
    )


@pytest.fixture
def skygeni_tenant(db: None) -> Tenant:
    """Tenant ``skygeni`` with ../shared/data/skygeni_sales_data.csv imported (``standard``).

    5,000 closed deals (2,263 won, 2,737 lost) owned by 25 reps; no open deals, no stage history.
    """
    from deals.models import ImportStatus
    from deals.services import deals_import_file
    from tenants.context import tenant_context

    tenant = tenant_create(slug="skygeni", name="SkyGeni sample")
    with tenant_context(tenant):
        run = deals_import_file(file=SKYGENI_CSV, source="test")
    assert run.status == ImportStatus.SUCCEEDED, run.errors[:5]
    return tenant
