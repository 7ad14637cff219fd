"""Tenant isolation, twice: the fail-closed ORM manager and PostgreSQL row-level security."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, DataError, connection, transaction

from deals.models import Deal
from tenants.context import NoTenantError, tenant_context, user_context
from tenants.models import Tenant
from tenants.rls import tenant_owned_models


def make_deal(crm_id: str) -> Deal:
    return Deal.objects.create(
        crm_id=crm_id,
        created_date=dt.date(2024, 1, 1),
        stage="Qualified",
        amount=Decimal("1000"),
    )


@pytest.fixture
def two_tenants_with_deals(tenant_a: Tenant, tenant_b: Tenant) -> tuple[Tenant, Tenant]:
    with tenant_context(tenant_a):
        make_deal("A-1")
        make_deal("A-2")
    with tenant_context(tenant_b):
        make_deal("B-1")
    return tenant_a, tenant_b


def raw_crm_ids() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_id FROM deals_deal ORDER BY crm_id")
        return [row[0] for row in cursor.fetchall()]


def test_a_query_without_a_tenant_raises_instead_of_returning_everything(two_tenants_with_deals):
    with pytest.raises(NoTenantError):
        list(Deal.objects.all())


def test_the_orm_shows_only_the_active_tenants_rows(two_tenants_with_deals):
    tenant_a, tenant_b = two_tenants_with_deals
    with tenant_context(tenant_a):
        assert sorted(Deal.objects.values_list("crm_id", flat=True)) == ["A-1", "A-2"]
    with tenant_context(tenant_b):
        assert list(Deal.objects.values_list("crm_id", flat=True)) == ["B-1"]


def test_raw_sql_without_a_tenant_returns_no_rows_of_any_tenant(two_tenants_with_deals):
    assert raw_crm_ids() == []


def test_raw_sql_with_a_tenant_set_returns_only_that_tenants_rows(two_tenants_with_deals):
    tenant_a, _ = two_tenants_with_deals
    with tenant_context(tenant_a):
        assert raw_crm_ids() == ["A-1", "A-2"]


def test_the_unscoped_escape_hatch_is_still_bound_by_rls(two_tenants_with_deals):
    tenant_a, _ = two_tenants_with_deals
    assert Deal.unscoped.count() == 0
    with tenant_context(tenant_a):
        assert Deal.unscoped.count() == 2


def test_rls_refuses_inserting_another_tenants_row(two_tenants_with_deals):
    tenant_a, tenant_b = two_tenants_with_deals
    with (
        tenant_context(tenant_a),
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO deals_deal (tenant_id, crm_id, name, created_date, stage, amount, currency,"
            " status, extra, industry, region, product_type, lead_source, created_at, updated_at)"
            " VALUES (%s, 'X', '', '2024-01-01', 'Demo', 1, 'USD', 'open', '{}', '', '', '', '',"
            " now(), now())",
            [tenant_b.pk],
        )


def test_saving_a_row_of_another_tenant_is_refused(two_tenants_with_deals):
    tenant_a, tenant_b = two_tenants_with_deals
    with tenant_context(tenant_b):
        deal_b = Deal.objects.get(crm_id="B-1")
    with tenant_context(tenant_a), pytest.raises(ValidationError):
        deal_b.save()


def test_leaving_a_tenant_context_clears_the_database_setting(two_tenants_with_deals):
    tenant_a, _ = two_tenants_with_deals
    with tenant_context(tenant_a):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        assert cursor.fetchone()[0] in (None, "")


def _setting(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [name])
        return cursor.fetchone()[0]


def test_a_database_error_in_a_tenant_context_is_raised_as_itself(tenant_a, tenant_b):
    """Not as "current transaction is aborted" from restoring the setting afterwards."""
    with tenant_context(tenant_a):
        with (
            pytest.raises(DataError, match="division by zero"),
            tenant_context(tenant_b),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1 / 0")
        # The failed block's savepoint rolled back, and with it the block's tenant setting.
        assert _setting("app.tenant_id") == str(tenant_a.pk)
    with pytest.raises(DataError, match="division by zero"), user_context(7), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / 0")
    assert _setting("app.user_id") in (None, "")


def test_every_tenant_owned_table_has_forced_row_level_security(db):
    tables = [model._meta.db_table for model in tenant_owned_models()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            [tables],
        )
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
    assert set(flags) == set(tables)
    assert all(enabled and forced for enabled, forced in flags.values()), flags


def test_the_app_role_is_neither_superuser_nor_allowed_to_bypass_rls(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
