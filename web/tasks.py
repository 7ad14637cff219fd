"""The import wizard's background work: a dry run or the import of an uploaded CSV, with progress.

Progress goes through Celery's result backend (custom state PROGRESS with bytes read of the
file), so the page polling it works whether the worker is another process or the task ran
inline. The import itself is deals.services.deals_import_file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

from celery import Task, shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from deals.mapping import MappingError
from deals.services import deals_import_file
from tenants.tasks import TenantTask

PROGRESS = "PROGRESS"
# Report progress at most this often; each report is a write to the result backend.
PROGRESS_EVERY_SECONDS = 0.5
ERRORS_SHOWN = 100
EMPTY_SUMMARY: dict[str, Any] = {
    "status": "rejected",
    "import_run_id": None,
    "rows_read": 0,
    "created": 0,
    "updated": 0,
    "unchanged": 0,
    "rejected": 0,
    "errors": [],
}


class ProgressReader:
    """A read-only binary file that reports how much of it has been read.

    ``report(bytes_read, bytes_total)`` is called at most every PROGRESS_EVERY_SECONDS. ``size``
    lets the import check the size limit without seeking.
    """

    def __init__(self, raw: IO[bytes], *, size: int, report: Any) -> None:
        self._raw = raw
        self.size = size
        self.name = getattr(raw, "name", "upload.csv")
        self._read = 0
        self._report = report
        self._last = 0.0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._read += len(data)
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_SECONDS or not data:
            self._last = now
            self._report(self._read, self.size)
        return data

    def readable(self) -> bool:
        return True


def _summary(run: Any, *, tenant_id: int, dry_run: bool) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "dry_run": dry_run,
        "status": run.status,
        "import_run_id": None if dry_run else run.pk,
        "file_name": run.file_name,
        "rows_read": run.rows_read,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "rejected": run.rejected,
        "errors": list(run.errors)[:ERRORS_SHOWN],
        "duration_ms": run.duration_ms,
    }


@shared_task(
    bind=True, base=TenantTask, name="web.import_upload", time_limit=60 * 60, soft_time_limit=55 * 60
)
def import_upload(
    self: Task,
    tenant_id: int,
    *,
    path: str,
    file_name: str,
    mapping: str | dict[str, Any],
    user_id: int | None,
    dry_run: bool,
) -> dict[str, Any]:
    """Import (or, with ``dry_run``, validate and roll back) the uploaded file at ``path``.

    Returns the run's summary: status, counts and up to 100 row errors, with ``tenant_id`` so
    the web can refuse to show another tenant's job. A real import deletes the upload after.
    Not retried on failure: an import is all or nothing, and the user can simply run it again.
    """
    upload = Path(path)
    size = upload.stat().st_size

    def report(done: int, total: int) -> None:
        self.update_state(
            state=PROGRESS,
            meta={"tenant_id": tenant_id, "dry_run": dry_run, "bytes_read": done, "bytes_total": total},
        )

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        with upload.open("rb") as raw, transaction.atomic():
            run = deals_import_file(
                file=ProgressReader(raw, size=size, report=report),  # type: ignore[arg-type]
                file_name=file_name,
                mapping=mapping,
                user=user,
                source="ui",
            )
            summary = _summary(run, tenant_id=tenant_id, dry_run=dry_run)
            if dry_run:
                # Everything the dry run wrote (deals, reps, its ImportRun) is undone here.
                transaction.set_rollback(True)
    except MappingError as problem:
        errors = [{"row": None, "column": None, "reason": reason} for reason in problem.problems]
        return {**EMPTY_SUMMARY, "tenant_id": tenant_id, "dry_run": dry_run, "errors": errors}
    if not dry_run:
        upload.unlink(missing_ok=True)
    return summary
