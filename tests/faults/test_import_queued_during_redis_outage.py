"""An import queued while Redis (the broker) is down is accepted, kept, and runs exactly once
when Redis is back.

API: POST /api/v1/imports of a file above the inline limit → 202 with the job id and status
"queued" (never a 500 after the job row committed); the row and its spooled file are kept.
Redis and a worker start; the beat task ``api.import_jobs_requeue`` sends the job, and the job
also gets a second, duplicate delivery: it runs once (one ImportRun, each deal once).

Web wizard: the upload, the mapping step and the dry run's "start" go through with Redis down
(the status page says queued), and the dry run starts once Redis is back.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.imports import import_jobs_requeue
from api.models import ApiKeyScope, ImportJob, ImportJobStatus
from api.services import api_key_create
from api.tasks import import_job_run
from deals.models import Deal, ImportRun
from salesintel.testing.celery import eventually
from tenants.context import tenant_context

HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome\n"
)
RUN_ENDED = re.compile(r"api\.tasks\.import_job_run\[[0-9a-f-]+\] succeeded")
ROWS = 40
CSV = HEADER + "".join(
    f"OUT-{n},2024-01-05,2024-02-10,rep_{n % 3},SaaS,Europe,Core,Referral,Closed,{1000 + n},36,Won\n"
    for n in range(ROWS)
)


@pytest.fixture
def redis_backed(settings, private_redis, celery_on_private_redis, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "salesintel.cache.FailSafeRedisCache",
            "LOCATION": private_redis.url,
            "KEY_PREFIX": "salesintel",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.IMPORT_SPOOL_DIR = str(tmp_path / "spool")
    settings.WEB_UPLOAD_DIR = str(tmp_path / "uploads")
    settings.API_IMPORT_INLINE_MAX_BYTES = 100  # every test file is queued for the worker
    return private_redis


@pytest.mark.celery_worker
def test_an_api_import_posted_while_redis_is_down_is_kept_and_runs_once_when_it_returns(
    redis_backed, private_worker_factory, tenant_a
):
    with tenant_context(tenant_a):
        key = api_key_create(name="outage", scope=ApiKeyScope.WRITE).plaintext
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    redis_backed.stop()

    upload = SimpleUploadedFile("crm.csv", CSV.encode(), content_type="text/csv")
    response = api.post("/api/v1/imports", {"file": upload, "mapping": "standard"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["id"]
    with tenant_context(tenant_a):
        job = ImportJob.objects.get(pk=body["id"])
    assert job.status == ImportJobStatus.QUEUED and job.enqueued_at is None  # the send failed
    spooled = job.spool_path
    assert Path(spooled).read_bytes() == CSV.encode()
    assert api.get(f"/api/v1/imports/{job.pk}").json()["status"] == "queued"
    # While the broker is down the requeue finds nothing it can send, and keeps the job queued.
    assert import_jobs_requeue(now=timezone.now() + dt.timedelta(minutes=2)) == []
    with tenant_context(tenant_a):
        assert ImportJob.objects.get(pk=job.pk).enqueued_at is None

    redis_backed.start()
    # Not yet a minute old: not requeued (the send may still be on its way).
    assert import_jobs_requeue() == []
    worker = private_worker_factory()
    # Beat's requeue a minute later sends it; a duplicate delivery follows (e.g. a second beat).
    assert import_jobs_requeue(now=timezone.now() + dt.timedelta(minutes=2)) == [job.pk]
    import_job_run.delay(tenant_a.pk, job.pk)

    def finished() -> bool:
        with tenant_context(tenant_a):
            return ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.SUCCEEDED

    eventually(finished, timeout_s=90)
    # Both deliveries reached the worker and ended; the second found the job finished.
    eventually(lambda: len(RUN_ENDED.findall(worker.log())) == 2, timeout_s=60)
    with tenant_context(tenant_a):
        job.refresh_from_db()
        assert ImportRun.objects.count() == 1 and job.import_run_id is not None
        assert Deal.objects.count() == ROWS
        assert job.import_run.created == ROWS
    polled = api.get(f"/api/v1/imports/{job.pk}").json()
    assert (polled["status"], polled["result"]["created"]) == ("succeeded", ROWS)
    assert not Path(spooled).exists()
    # Finished jobs are never requeued.
    assert import_jobs_requeue(now=timezone.now() + dt.timedelta(days=1)) == []


@pytest.mark.celery_worker
def test_the_web_import_wizard_keeps_an_upload_while_redis_is_down_and_starts_it_when_it_returns(
    redis_backed, private_worker_factory, user_a, tenant_a
):
    browser = Client()
    browser.force_login(user_a)
    redis_backed.stop()

    upload = SimpleUploadedFile("crm.csv", CSV.encode(), content_type="text/csv")
    response = browser.post(
        reverse("settings_import_upload"), {"file": upload, "mapping": "standard", "encoding": "utf-8"}
    )
    assert response.status_code == 302, response.content
    upload_id = response["Location"].rstrip("/").split("/")[-2]
    mapped = browser.get(response["Location"])
    assert mapped.status_code == 200
    form = {f"target_{index}": column["target"] for index, column in enumerate(mapped.context["columns"])}
    response = browser.post(response["Location"], form)
    assert response.status_code == 302, response.content
    status = browser.get(response["Location"])
    assert status.status_code == 200
    assert status.context["job"]["phase"] == "queued"
    entry = browser.session["web_imports"][upload_id]
    assert entry["pending"], "the unsent dry run is remembered in the session"

    redis_backed.start()
    private_worker_factory()

    def done() -> dict:
        page = browser.get(reverse("settings_import_status", kwargs={"upload_id": upload_id}))
        assert page.status_code == 200
        job = page.context["job"]
        return job if job["phase"] == "done" else {}

    job = eventually(done, timeout_s=90, interval_s=0.5)
    assert job["summary"]["status"] == "succeeded" and job["summary"]["rows_read"] == ROWS
    assert not browser.session["web_imports"][upload_id]["pending"]
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()  # it was the dry run
