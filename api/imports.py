"""Imports started through the API: run a small upload now, queue a big one for the worker.

Both end in deals.services.deals_import_file, the same import as the CLI and the UI.

A queued job survives a broker outage: the upload and the job row are committed first, the
task is sent after commit, and a failed send is logged, not raised (the client still gets 202).
``import_jobs_requeue`` (run by beat every minute) sends every queued job that has not reached
the broker again; a job runs at most once however often it is sent (its row lock and status).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from api.models import ApiKey, ImportJob, ImportJobStatus
from deals.models import ImportStatus
from deals.services import deals_import_file
from tenants.context import tenant_context
from tenants.models import Tenant

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
    settings.IMPORT_SPOOL_DIR (which the worker must share) and the task is sent on commit; if
    the broker is down the job stays queued and import_jobs_requeue sends it later.
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
    # Noted now, in the job's transaction: once sent, a worker may hold the row for the import.
    job.enqueued_at = timezone.now()
    job.save(update_fields=["spool_path", "enqueued_at"])
    tenant_id, job_id = job.tenant_id, job.pk
    transaction.on_commit(lambda: _send([job_id], tenant_id=tenant_id))
    return job


def _send(job_ids: list[int], *, tenant_id: int) -> list[int]:
    """Send the worker's task for each committed queued job; return the ids sent.

    With the broker unreachable, log and stop: the unsent jobs stay queued with no
    enqueued_at, and import_jobs_requeue sends them once the broker is back.
    """
    from api.tasks import import_job_run

    for index, job_id in enumerate(job_ids):
        try:
            import_job_run.delay(tenant_id, job_id)
        except (BrokerError, RedisError, ConnectionError, TimeoutError):
            unsent = job_ids[index:]
            logger.warning(
                "broker unavailable: API import job(s) %s of tenant %s stay queued until requeued",
                unsent,
                tenant_id,
                exc_info=True,
            )
            with tenant_context(tenant_id):
                unsent_jobs = ImportJob.objects.filter(pk__in=unsent, status=ImportJobStatus.QUEUED)
                unsent_jobs.update(enqueued_at=None)
            return job_ids[:index]
    return job_ids


def import_jobs_requeue(*, now: dt.datetime | None = None) -> list[int]:
    """Send again every queued job of every tenant that the broker may not hold; return their ids.

    A job qualifies when it is still queued (not being run: a running job's row is locked and
    skipped) and either was never sent and is older than IMPORT_REQUEUE_AFTER_SECONDS (its send
    failed, or its web process died before sending), or was sent longer ago than
    IMPORT_RESEND_AFTER_SECONDS (the message may have been lost with a restarted broker).
    Sending twice is harmless: import_job_run_queued runs a job once.
    """
    now = now or timezone.now()
    never_sent_before = now - dt.timedelta(seconds=settings.IMPORT_REQUEUE_AFTER_SECONDS)
    sent_before = now - dt.timedelta(seconds=settings.IMPORT_RESEND_AFTER_SECONDS)
    requeued: list[int] = []
    for tenant_id in Tenant.objects.order_by("pk").values_list("pk", flat=True):
        with tenant_context(tenant_id):
            due = list(
                ImportJob.objects.select_for_update(skip_locked=True)
                .filter(status=ImportJobStatus.QUEUED)
                .exclude(spool_path="")
                .filter(
                    models.Q(enqueued_at__isnull=True, created_at__lt=never_sent_before)
                    | models.Q(enqueued_at__lt=sent_before)
                )
                .order_by("created_at")
                .values_list("pk", flat=True)
            )
            ImportJob.objects.filter(pk__in=due).update(enqueued_at=now)
        sent = _send(due, tenant_id=tenant_id)
        requeued += sent
        if len(sent) < len(due):
            break  # the broker is down again: the next run tries the rest
    if requeued:
        logger.info("requeued %d API import job(s): %s", len(requeued), requeued)
    return requeued


def import_job_run_queued(*, job_id: int) -> ImportJob:
    """The worker's half: import the spooled file of a queued job, at most once.

    The job's row stays locked (select_for_update, in the task's transaction) while it runs, so
    a second delivery of the same job (requeued, or redelivered after acks_late) waits and then
    finds it finished. A worker killed mid-run rolls back to queued, and the next delivery runs it.
    """
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
