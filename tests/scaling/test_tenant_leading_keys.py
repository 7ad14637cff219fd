"""Every tenant-owned table keys its rows by tenant first (read from PostgreSQL's catalog).

docs/scaling.md rests on this: a table distributed by ``tenant_id`` (Citus) can only enforce a
unique constraint that contains the distribution column, and a per-tenant query stays as cheap
among 200 tenants as alone only when the index it reads starts with ``tenant_id``. The tests
read the indexes PostgreSQL actually has after every migration, not the models' declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection

from tenants.rls import tenant_owned_models

pytestmark = pytest.mark.django_db

# Indexes that may lead with another column, each with the reason. Keyed by (table, columns).
NOT_TENANT_LEADING_ALLOWED: dict[tuple[str, tuple[str, ...]], str] = {
    ("api_apikey", ("key_prefix",)): (
        "a bearer key names its tenant: the key is found by its prefix before any tenant is active"
    ),
    ("tenants_membership", ("user_id",)): (
        "a signed-in user's tenants are found from the user before any tenant is active"
    ),
}


@dataclass(frozen=True)
class IndexInfo:
    table: str
    name: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool


def tenant_tables() -> list[str]:
    return sorted({model._meta.db_table for model in tenant_owned_models()})


def indexes_of(tables: list[str]) -> list[IndexInfo]:
    """Every index (unique constraints and primary keys included) on ``tables``, key columns in order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, i.relname, ix.indisunique, ix.indisprimary,
                   array_agg(a.attname ORDER BY k.position)
            FROM pg_index ix
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_class t ON t.oid = ix.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
            CROSS JOIN LATERAL unnest(ix.indkey[0:ix.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, position)
            LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
            WHERE t.relname = ANY(%s)
            GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary
            """,
            [tables],
        )
        return [
            IndexInfo(
                table=table,
                name=name,
                columns=tuple(column or "<expression>" for column in columns),
                unique=unique,
                primary=primary,
            )
            for table, name, unique, primary, columns in cursor.fetchall()
        ]


def foreign_keys(tables: list[str]) -> set[tuple[str, str]]:
    """(table, column) of every single-column foreign key on ``tables``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND t.relname = ANY(%s)
            """,
            [tables],
        )
        return set(cursor.fetchall())


def index_exception_reason(
    table: str, columns: tuple[str, ...], foreign_keys: set[tuple[str, str]]
) -> str | None:
    """Why an index that does not lead with ``tenant_id`` is acceptable, or None when it is not.

    Also used by bench/tenants_bench.py to judge the indexes its query plans read.
    """
    if columns[:1] == ("tenant_id",):
        return "leads with tenant_id"
    if columns == ("id",):
        return "the row's own globally unique id (primary key)"
    if (table, columns) in NOT_TENANT_LEADING_ALLOWED:
        return NOT_TENANT_LEADING_ALLOWED[(table, columns)]
    if len(columns) == 1 and (table, columns[0]) in foreign_keys:
        # Another row's globally unique id: as selective among many tenants as alone (the query
        # still filters tenant_id).
        return "a foreign key's globally unique id"
    return None


def test_there_are_tenant_owned_tables_to_check() -> None:
    tables = tenant_tables()

    assert {"deals_deal", "deals_dealstagechange", "scoring_currentscore", "alerts_alert"} <= set(tables)


def test_every_tenant_owned_table_has_a_not_null_tenant_id_column() -> None:
    tables = tenant_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND a.attnotnull
            WHERE c.relname = ANY(%s)
            """,
            [tables],
        )
        with_tenant = {row[0] for row in cursor.fetchall()}

    assert sorted(set(tables) - with_tenant) == []


def test_every_unique_constraint_of_a_tenant_owned_table_leads_with_tenant_id() -> None:
    unique = [index for index in indexes_of(tenant_tables()) if index.unique and not index.primary]

    offending = [
        f"{index.table}.{index.name} {index.columns}" for index in unique if index.columns[0] != "tenant_id"
    ]

    assert unique
    assert offending == []


def test_every_primary_key_of_a_tenant_owned_table_is_its_id_or_leads_with_tenant_id() -> None:
    # Django's foreign keys target one column, so most tables keep a bigint ``id`` key; a Citus
    # migration makes these (tenant_id, id) — see docs/scaling.md.
    primary = [index for index in indexes_of(tenant_tables()) if index.primary]

    offending = [
        f"{index.table}.{index.name} {index.columns}"
        for index in primary
        if index.columns != ("id",) and index.columns[0] != "tenant_id"
    ]

    assert len(primary) == len(tenant_tables())
    assert offending == []


def test_every_other_index_of_a_tenant_owned_table_leads_with_tenant_id_or_is_an_allowed_exception() -> None:
    tables = tenant_tables()
    keys = foreign_keys(tables)
    others = [index for index in indexes_of(tables) if not index.unique]

    offending = [
        f"{index.table}.{index.name} {index.columns}"
        for index in others
        if index_exception_reason(index.table, index.columns, keys) is None
    ]

    assert offending == []


def test_every_allowed_exception_still_exists_so_the_list_stays_true() -> None:
    present = {(index.table, index.columns) for index in indexes_of(tenant_tables())}

    assert sorted(set(NOT_TENANT_LEADING_ALLOWED) - present) == []
