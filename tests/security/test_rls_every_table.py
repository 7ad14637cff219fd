"""Row-level security, proven on every tenant-owned table with raw SQL as the application's role.

Without ``app.tenant_id`` a table shows no row; with tenant A's id only A's rows; a row of B
cannot be inserted, and no row can be moved to B, under A's setting; B's rows cannot be updated
or deleted under it. The list of tables comes from tenants.rls.tenant_owned_models(), so a new
tenant-owned model is covered the day it is added (tests/security/tenant_world.py gives it rows).
"""

from __future__ import annotations

import json

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from tenants.context import tenant_context
from tenants.rls import tenant_owned_models

TABLES = sorted(model._meta.db_table for model in tenant_owned_models())


def tenant_ids_seen(table: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT tenant_id FROM "{table}"')
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def both_worlds(world_a, world_b):
    return world_a, world_b


def test_the_connection_is_the_application_role_without_superuser_or_bypassrls(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


def test_both_tenants_have_rows_in_every_tenant_owned_table(both_worlds):
    for world in both_worlds:
        with tenant_context(world.tenant):
            empty = [table for table in TABLES if not tenant_ids_seen(table)]
        assert empty == [], f"no rows for {world.tenant.slug} in {empty}: extend tenant_world.py"


def test_a_raw_select_without_the_tenant_setting_returns_no_rows(both_worlds):
    visible = {table: len(tenant_ids_seen(table)) for table in TABLES}
    assert {table: count for table, count in visible.items() if count} == {}


def test_a_raw_select_with_a_tenants_setting_returns_only_that_tenants_rows(both_worlds):
    for world in both_worlds:
        with tenant_context(world.tenant):
            seen = {table: set(tenant_ids_seen(table)) for table in TABLES}
        assert {table: ids for table, ids in seen.items() if ids != {world.tenant.pk}} == {}


def _a_row_of(table: str, tenant) -> dict:
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" AS t LIMIT 1')
        return json.loads(cursor.fetchone()[0])


def _refusal(statement: str, params: list) -> str | None:
    """Run ``statement`` in a savepoint; None when RLS refused it, else what happened instead."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    except DatabaseError as error:
        cause = error.__cause__
        if isinstance(cause, psycopg.errors.InsufficientPrivilege) and "row-level security" in str(cause):
            return None
        return f"refused, but not by row-level security: {cause!r}"
    return "accepted"


def test_inserting_a_row_of_b_under_as_setting_is_refused(both_worlds):
    world_a, world_b = both_worlds
    rows = {table: _a_row_of(table, world_b.tenant) for table in TABLES}
    outcomes = {}
    with tenant_context(world_a.tenant):
        for table, row in rows.items():
            if "id" in row:
                row["id"] = int(row["id"]) + 1_000_000  # a new row, not a clash with B's
            outcomes[table] = _refusal(
                f'INSERT INTO "{table}" SELECT * FROM json_populate_record(NULL::"{table}", %s::json)',
                [json.dumps(row)],
            )
    assert {table: outcome for table, outcome in outcomes.items() if outcome} == {}


def test_moving_as_rows_to_b_under_as_setting_is_refused(both_worlds):
    world_a, world_b = both_worlds
    with tenant_context(world_a.tenant):
        outcomes = {
            table: _refusal(f'UPDATE "{table}" SET tenant_id = %s', [world_b.tenant.pk]) for table in TABLES
        }
    assert {table: outcome for table, outcome in outcomes.items() if outcome} == {}


def test_bs_rows_can_be_neither_updated_nor_deleted_under_as_setting(both_worlds):
    world_a, world_b = both_worlds
    before = _counts_as(world_b.tenant)
    touched = {}
    with tenant_context(world_a.tenant), connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(
                f'UPDATE "{table}" SET tenant_id = tenant_id WHERE tenant_id = %s', [world_b.tenant.pk]
            )
            updated = cursor.rowcount
            cursor.execute(f'DELETE FROM "{table}" WHERE tenant_id = %s', [world_b.tenant.pk])
            if updated or cursor.rowcount:
                touched[table] = (updated, cursor.rowcount)
    assert touched == {}
    assert _counts_as(world_b.tenant) == before


def _counts_as(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        return {table: len(tenant_ids_seen(table)) for table in TABLES}
