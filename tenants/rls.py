"""PostgreSQL row-level security for every tenant-owned table.

Applied after every ``migrate`` (post_migrate), so a new TenantOwned model cannot be forgotten.
The policy is false when ``app.tenant_id`` is unset, and ``FORCE`` makes it apply to the table
owner too (the app role owns its tables but is never a superuser).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connection

from tenants.models import TenantOwned

TENANT_MATCH = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
POLICY_NAME = "tenant_isolation"


def tenant_owned_models() -> list[type[TenantOwned]]:
    return [model for model in apps.get_models() if issubclass(model, TenantOwned) and not model._meta.proxy]


def policy_sql(model: type[TenantOwned]) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)
    using = TENANT_MATCH
    if model.rls_extra_condition:
        using = f"({TENANT_MATCH}) OR ({model.rls_extra_condition})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        # Rows may be seen through the extra condition but only written for the active tenant.
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({using}) WITH CHECK ({TENANT_MATCH})",
    ]


def apply_row_level_security(**kwargs: Any) -> None:
    """post_migrate receiver: (re)create the policy on every tenant-owned table.

    post_migrate is sent once per app after the whole migration run; acting on the tenants
    app's signal alone is enough because every table exists by then.
    """
    app_config = kwargs.get("app_config")
    if app_config is not None and app_config.name != "tenants":
        return
    using = kwargs.get("using", "default")
    from django.db import connections

    existing = set(connections[using].introspection.table_names())
    with connections[using].cursor() as cursor:
        for model in tenant_owned_models():
            if model._meta.db_table in existing:
                for statement in policy_sql(model):
                    cursor.execute(statement)
