"""Redis stops: pages and the API keep serving; once Redis is back, tasks run again.

Redis is the cache (API rate limits, sign-in throttling) and Celery's broker. A private
redis-server is stopped and started on the same port while a real worker stays up.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.test import Client

from api.models import ApiKeyScope
from api.services import api_key_create
from deals.models import Deal
from scoring.tasks import score_deals
from tenants.context import tenant_context

# A request must not wait on a dead Redis for long (the cache's socket timeouts are 0.5 s).
MAX_SECONDS_PER_REQUEST = 5.0


@pytest.fixture
def redis_backed(settings, private_redis, celery_on_private_redis):
    settings.CACHES = {
        "default": {
            "BACKEND": "salesintel.cache.FailSafeRedisCache",
            "LOCATION": private_redis.url,
            "KEY_PREFIX": "salesintel",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    return private_redis


@pytest.fixture
def deal_a(tenant_a):
    with tenant_context(tenant_a):
        return Deal.objects.create(
            crm_id="R-1", name="Outage deal", created_date=dt.date.today() - dt.timedelta(days=9),
            stage="Demo", amount=Decimal("1200"),
        )  # fmt: skip


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_pages_and_the_api_keep_serving(redis_backed, user_a, tenant_a, deal_a):
    with tenant_context(tenant_a):
        key = api_key_create(name="outage", scope=ApiKeyScope.WRITE).plaintext
    browser = Client()
    browser.force_login(user_a)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    redis_backed.stop()

    calls = {
        "GET /": lambda: browser.get("/"),
        "GET /deals/": lambda: browser.get("/deals/"),
        "GET /alerts/": lambda: browser.get("/alerts/"),
        f"GET /deals/{deal_a.pk}/": lambda: browser.get(f"/deals/{deal_a.pk}/"),
        "GET /api/v1/deals": lambda: api.get("/api/v1/deals"),
        f"GET /api/v1/deals/{deal_a.pk}": lambda: api.get(f"/api/v1/deals/{deal_a.pk}"),
        "sign in": lambda: Client().post("/login/", {"username": "ada@acme.test", "password": "pw-acme-123"}),
    }
    for name, call in calls.items():
        response, seconds = timed(call)
        assert response.status_code in (200, 302), name
        assert seconds < MAX_SECONDS_PER_REQUEST, f"{name} took {seconds:.1f} s"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_write_whose_task_cannot_be_queued_still_succeeds(redis_backed, tenant_a, deal_a):
    with tenant_context(tenant_a):
        key = api_key_create(name="outage", scope=ApiKeyScope.WRITE).plaintext
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    redis_backed.stop()
    response, seconds = timed(
        lambda: api.patch(f"/api/v1/deals/{deal_a.pk}", {"amount": "2500"}, content_type="application/json")
    )
    assert response.status_code == 200, response.content
    assert seconds < MAX_SECONDS_PER_REQUEST * 2
    with tenant_context(tenant_a):
        assert Deal.objects.get(pk=deal_a.pk).amount == Decimal("2500")


@pytest.mark.celery_worker
def test_once_redis_is_back_the_same_worker_runs_tasks_again(
    redis_backed, private_worker_factory, celery_on_private_redis, tenant_a, deal_a
):
    worker = private_worker_factory()
    redis_backed.stop()
    time.sleep(2)  # the worker notices the lost connection and starts retrying it
    redis_backed.start()
    result = score_deals.apply_async(args=[tenant_a.pk], retry=True)
    outcome = result.get(timeout=90)
    assert worker.process.poll() is None, worker.log()
    assert "model_version" in outcome
