"""Celery tasks of the API app (thin: the work is in api.imports)."""

from __future__ import annotations

from celery import shared_task

from api.imports import import_job_run_queued
from tenants.tasks import TenantTask


@shared_task(base=TenantTask, bind=True)
def import_job_run(self: TenantTask, tenant_id: int, job_id: int) -> str:
    """Run a queued API import. Re-running a finished job does nothing (acks_late redelivery)."""
    return import_job_run_queued(job_id=job_id).status
