"""api.imports.import_jobs_requeue: which queued jobs it sends again, and that a job runs once.

The broker itself is tests/faults/test_import_queued_during_redis_outage.py's business; here
tasks run inline (eager), so "sent" means "run now".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from api.imports import import_jobs_requeue
from api.models import ImportJob, ImportJobStatus
from api.tasks import import_job_run
from deals.models import Deal, ImportRun
from salesintel.celery import app
from tenants.context import tenant_context

CSV = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome\n"
    "RQ-1,2024-01-05,2024-02-10,rep_1,SaaS,Europe,Core,Referral,Closed,4200,36,Won\n"
)


@pytest.fixture
def eager() -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def queued_job(
    tenant, tmp_path, *, name: str, age: dt.timedelta, enqueued_ago: dt.timedelta | None
) -> ImportJob:
    spool = tmp_path / f"{name}.csv"
    spool.write_text(CSV.replace("RQ-1", f"RQ-{name}"))
    now = timezone.now()
    with tenant_context(tenant):
        job = ImportJob.objects.create(
            file_name=f"{name}.csv",
            size_bytes=spool.stat().st_size,
            mapping_name="standard",
            spool_path=str(spool),
        )
        ImportJob.objects.filter(pk=job.pk).update(
            created_at=now - age, enqueued_at=None if enqueued_ago is None else now - enqueued_ago
        )
    return job


def status(tenant, job: ImportJob) -> str:
    with tenant_context(tenant):
        return ImportJob.objects.get(pk=job.pk).status


def test_only_unsent_jobs_older_than_a_minute_and_long_sent_ones_are_requeued(
    eager, tenant_a, tenant_b, tmp_path
):
    minute = dt.timedelta(minutes=1)
    unsent_old = queued_job(tenant_a, tmp_path, name="unsent-old", age=2 * minute, enqueued_ago=None)
    unsent_new = queued_job(tenant_a, tmp_path, name="unsent-new", age=minute / 6, enqueued_ago=None)
    sent_recently = queued_job(
        tenant_a, tmp_path, name="sent-recently", age=10 * minute, enqueued_ago=5 * minute
    )
    sent_long_ago = queued_job(
        tenant_b, tmp_path, name="sent-long-ago", age=90 * minute, enqueued_ago=60 * minute
    )

    assert sorted(import_jobs_requeue()) == sorted([unsent_old.pk, sent_long_ago.pk])
    assert status(tenant_a, unsent_old) == status(tenant_b, sent_long_ago) == ImportJobStatus.SUCCEEDED
    assert status(tenant_a, unsent_new) == status(tenant_a, sent_recently) == ImportJobStatus.QUEUED
    with tenant_context(tenant_b):
        assert list(Deal.objects.values_list("crm_id", flat=True)) == ["RQ-sent-long-ago"]
    # Finished jobs are never sent again.
    assert import_jobs_requeue(now=timezone.now() + dt.timedelta(minutes=5)) == [unsent_new.pk]


def test_a_job_delivered_twice_runs_once(eager, tenant_a, tmp_path):
    job = queued_job(tenant_a, tmp_path, name="twice", age=dt.timedelta(minutes=2), enqueued_ago=None)
    assert import_job_run.apply(args=[tenant_a.pk, job.pk]).get() == ImportJobStatus.SUCCEEDED
    assert import_job_run.apply(args=[tenant_a.pk, job.pk]).get() == ImportJobStatus.SUCCEEDED
    assert import_jobs_requeue(now=timezone.now() + dt.timedelta(days=1)) == []
    with tenant_context(tenant_a):
        assert ImportRun.objects.count() == 1
        assert Deal.objects.count() == 1
