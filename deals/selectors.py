"""Reads for deals and imports. Every function reads the active tenant's rows only."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from deals.models import Deal, ImportRun
from tenants.context import require_tenant_id


def deal_list(
    *,
    status: str | None = None,
    stage: str | None = None,
    rep_id: int | None = None,
    search: str | None = None,
    order_by: tuple[str, ...] = ("-created_date", "crm_id"),
) -> QuerySet[Deal]:
    """The active tenant's deals with their rep, filtered by whichever arguments are given.

    ``search`` matches the CRM id or the name (case-insensitive substring).
    """
    deals = Deal.objects.select_related("rep")
    if status:
        deals = deals.filter(status=status)
    if stage:
        deals = deals.filter(stage=stage)
    if rep_id is not None:
        deals = deals.filter(rep_id=rep_id)
    if search:
        deals = deals.filter(Q(crm_id__icontains=search) | Q(name__icontains=search))
    return deals.order_by(*order_by)


def import_run_list(*, limit: int = 50) -> QuerySet[ImportRun]:
    """The active tenant's most recent import runs, newest first."""
    return ImportRun.objects.select_related("user").order_by("-started_at", "-id")[:limit]


def import_run_summary(*, import_run: ImportRun) -> dict[str, Any]:
    """The stable JSON summary of an import (``import_deals --json`` prints exactly this)."""
    return {
        "import_run_id": import_run.pk,
        "status": str(import_run.status),
        "file_name": import_run.file_name,
        "file_sha256": import_run.file_sha256,
        "mapping": import_run.mapping_name,
        "rows_read": import_run.rows_read,
        "created": import_run.created,
        "updated": import_run.updated,
        "unchanged": import_run.unchanged,
        "rejected": import_run.rejected,
        "errors": list(import_run.errors),
        "duration_ms": import_run.duration_ms,
    }


# Tables whose rows make up "the tenant's data" for the checksum (import runs are a log).
_CHECKSUM_TABLES = ("deals_rep", "deals_deal", "deals_dealstagechange")


def tenant_data_checksum() -> str:
    """MD5 over an ordered text dump of the active tenant's reps, deals and stage changes.

    Equal checksums mean the rows are byte-for-byte the same (every column, including
    timestamps and ids). Computed in SQL; reads only the active tenant's rows.
    """
    tenant_id = require_tenant_id()
    digest = hashlib.md5(usedforsecurity=False)
    with connection.cursor() as cursor:
        for table in _CHECKSUM_TABLES:
            cursor.execute(
                f"SELECT count(*), COALESCE(md5(string_agg(t::text, E'\\n' ORDER BY t.id)), '')"
                f" FROM {table} t WHERE t.tenant_id = %s",
                [tenant_id],
            )
            count, table_md5 = cursor.fetchone()
            digest.update(f"{table}:{count}:{table_md5};".encode())
    return digest.hexdigest()
