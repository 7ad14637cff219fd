"""Celery tasks of the API app (thin: the work is in api.imports)."""

from __future__ import annotations

from celery import shared_task

from api.imports import import_job_run_queued, import_jobs_requeue
from tenants.tasks import TenantTask


@shared_task(base=TenantTask, bind=True, ignore_result=True)
def import_job_run(self: TenantTask, tenant_id: int, job_id: int) -> str:
    """Run a queued API import. Re-running a finished job does nothing (acks_late redelivery).

    The job's row is its result (clients poll it), so Celery keeps none: sending then needs
    only the broker, never a subscription to the result backend (which, with Redis down,
    blocks the sender for ~20 s before it fails).
    """
    return import_job_run_queued(job_id=job_id).status


@shared_task(name="api.import_jobs_requeue", acks_late=True, time_limit=120, soft_time_limit=100)
def import_jobs_requeue_task() -> list[int]:
    """Beat, every minute: send queued imports whose task never reached the broker again."""
    return import_jobs_requeue()
