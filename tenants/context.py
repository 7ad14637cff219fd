"""The active tenant: one context variable for the ORM scope, one transaction setting for RLS.

Everything that touches tenant-owned rows runs inside :func:`tenant_context`. It sets the
context variable read by :class:`tenants.models.TenantManager` and, inside a transaction, runs
``set_config('app.tenant_id', …, true)`` (``SET LOCAL``), which PostgreSQL's row-level security
policies read. Transaction-local settings are safe behind PgBouncer in transaction mode. On exit
both are restored, so a later task or request can never inherit this tenant.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from tenants.models import Tenant

_current_tenant_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_tenant_id", default=None
)


class NoTenantError(RuntimeError):
    """Raised when tenant-owned rows are queried with no active tenant (fail closed)."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tenant_id = _current_tenant_id.get()
    if tenant_id is None:
        raise NoTenantError(
            "No active tenant. Wrap the code in tenants.context.tenant_context(tenant), "
            "or use Model.unscoped for a deliberate cross-tenant job."
        )
    return tenant_id


def _set_db_setting(name: str, value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


@contextmanager
def tenant_context(tenant: Tenant | int, *, user_id: int | None = None) -> Iterator[None]:
    """Run the block as ``tenant``, inside a transaction (a savepoint if one is open).

    ``tenant`` is a Tenant or its id. ``user_id``, when given, also lets the RLS policy on
    memberships show that user's own rows.
    """
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    previous = _current_tenant_id.get()
    token = _current_tenant_id.set(tenant_id)
    try:
        with transaction.atomic():
            _set_db_setting("app.tenant_id", str(tenant_id))
            if user_id is not None:
                _set_db_setting("app.user_id", str(user_id))
            yield
            # SET LOCAL lasts until the outer transaction ends; restore it explicitly so a
            # nested or following block in the same transaction does not inherit it. A block
            # that raised needs nothing: its savepoint or transaction rolls back, setting
            # included, and a statement here would replace its error with "current
            # transaction is aborted".
            if not connection.needs_rollback:
                _set_db_setting("app.tenant_id", "" if previous is None else str(previous))
    finally:
        _current_tenant_id.reset(token)


@contextmanager
def user_context(user_id: int) -> Iterator[None]:
    """Let RLS show ``user_id``'s memberships (used before the tenant is known)."""
    with transaction.atomic():
        _set_db_setting("app.user_id", str(user_id))
        yield
        # As in tenant_context: restored on the way out, left to the rollback after an error.
        if not connection.needs_rollback:
            _set_db_setting("app.user_id", "")
