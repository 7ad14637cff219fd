"""The database connection dies in the middle of an import: nothing is kept, and a re-run completes
with exactly the result of an import that never failed.

The connection is really terminated (``pg_terminate_backend`` from a second connection of the
same role) while the import is reading its file, after it has begun writing in its transaction.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection

from deals.models import Deal, ImportRun, ImportStatus, Rep
from deals.services import deals_import_file
from salesintel.testing.celery import worker_database_url
from tenants.context import tenant_context
from tenants.services import tenant_create

HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome"
)
ROWS = 6000


def export_csv() -> bytes:
    start = dt.date(2023, 1, 1)
    lines = [HEADER]
    for number in range(ROWS):
        created = start + dt.timedelta(days=number % 500)
        closed = created + dt.timedelta(days=20 + number % 60)
        outcome = "Won" if number % 3 else "Lost"
        lines.append(
            f"F{number:05d},{created},{closed},rep_{number % 12},SaaS,Europe,Core,Inbound,Closed,"
            f"{1000 + number},{(closed - created).days},{outcome}"
        )
    return ("\n".join(lines) + "\n").encode()


class TerminatedWhileReading(io.BytesIO):
    """The export as a file that, on its second read, has the importing connection terminated."""

    def __init__(self, data: bytes, backend_pid: int) -> None:
        super().__init__(data)
        self.backend_pid = backend_pid
        self.reads = 0
        self.name = "export.csv"

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        if self.reads == 2:
            with psycopg.connect(worker_database_url(), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [self.backend_pid])
        return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def deal_rows() -> list[tuple[Any, ...]]:
    return sorted(
        Deal.objects.values_list(
            "crm_id", "amount", "status", "stage", "created_date", "closed_date", "rep__crm_id", "industry"
        )
    )


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_connection_dies_keeps_nothing_and_a_rerun_matches_a_clean_import(tenant_a):
    data = export_csv()
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    broken = TerminatedWhileReading(data, backend_pid)

    # Django wraps most driver errors; the import's COPY talks to psycopg directly.
    with pytest.raises((DatabaseError, psycopg.Error)), tenant_context(tenant_a):
        deals_import_file(file=broken, file_name="export.csv")
    assert broken.reads >= 2
    connection.close()  # the dead connection; the next query opens a new one

    with tenant_context(tenant_a):
        assert Deal.objects.count() == 0 and Rep.objects.count() == 0
        assert not ImportRun.objects.filter(status=ImportStatus.SUCCEEDED).exists()
        rerun = deals_import_file(file=io.BytesIO(data), file_name="export.csv")
        assert rerun.status == ImportStatus.SUCCEEDED and rerun.created == ROWS
        after_rerun = deal_rows()

    reference = tenant_create(slug="reference", name="Reference")
    with tenant_context(reference):
        clean = deals_import_file(file=io.BytesIO(data), file_name="export.csv")
        assert (clean.created, clean.updated, clean.rejected) == (
            rerun.created,
            rerun.updated,
            rerun.rejected,
        )
        assert deal_rows() == after_rerun
