"""Imports started through the API: run a small upload now, queue a big one for the worker.

Both end in deals.services.deals_import_file, the same import as the CLI and the UI.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, ImportJob, ImportJobStatus
from deals.models import ImportStatus
from deals.services import deals_import_file

logger = logging.getLogger(__name__)

_FINAL = {
    ImportStatus.SUCCEEDED: ImportJobStatus.SUCCEEDED,
    ImportStatus.REJECTED: ImportJobStatus.REJECTED,
    ImportStatus.FAILED: ImportJobStatus.FAILED,
}


def import_job_start(
    *, upload: UploadedFile, mapping_name: str, encoding: str, api_key: ApiKey | None, user: object | None
) -> ImportJob:
    """Create the job for ``upload`` in the active tenant; run it now when small, else queue it.

    Small means at most settings.API_IMPORT_INLINE_MAX_BYTES. A queued upload is written to
    settings.IMPORT_SPOOL_DIR (which the worker must share) and the task is sent on commit.
    """
    job = ImportJob.objects.create(
        file_name=Path(upload.name or "upload.csv").name[:300],
        size_bytes=upload.size or 0,
        mapping_name=mapping_name,
        encoding=encoding,
        api_key=api_key,
        created_by=user if getattr(user, "pk", None) else None,
    )
    if job.size_bytes <= settings.API_IMPORT_INLINE_MAX_BYTES:
        _run(job, file=upload)
        return job
    spool_dir = Path(settings.IMPORT_SPOOL_DIR)
    spool_dir.mkdir(parents=True, exist_ok=True)
    spool_path = spool_dir / f"{uuid.uuid4().hex}.csv"
    with spool_path.open("wb") as spooled:
        for chunk in upload.chunks():
            spooled.write(chunk)
    job.spool_path = str(spool_path)
    job.save(update_fields=["spool_path"])

    from api.tasks import import_job_run

    tenant_id, job_id = job.tenant_id, job.pk
    transaction.on_commit(lambda: import_job_run.delay(tenant_id, job_id))
    return job


def import_job_run_queued(*, job_id: int) -> ImportJob:
    """The worker's half: import the spooled file of a queued job (idempotent once finished)."""
    job = ImportJob.objects.select_for_update().get(pk=job_id)
    if job.status not in (ImportJobStatus.QUEUED, ImportJobStatus.RUNNING):
        return job
    path = Path(job.spool_path)
    try:
        _run(job, file=path)
    finally:
        if job.status != ImportJobStatus.RUNNING:
            path.unlink(missing_ok=True)
    return job


def _run(job: ImportJob, *, file: UploadedFile | Path) -> None:
    job.status = ImportJobStatus.RUNNING
    job.save(update_fields=["status"])
    try:
        run = deals_import_file(
            file=file,
            file_name=job.file_name,
            mapping=job.mapping_name,
            user=job.created_by,
            source="api",
            encoding=job.encoding,
        )
    except Exception as error:
        logger.exception("API import job %s failed", job.pk)
        job.status = ImportJobStatus.FAILED
        job.failure = f"{type(error).__name__}: the import could not run; it changed nothing."
    else:
        job.import_run = run
        job.status = _FINAL.get(ImportStatus(run.status), ImportJobStatus.FAILED)
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "import_run", "failure", "finished_at"])
