"""The schedule end to end: Celery beat and a real worker on Redis, against the test database.

Beat ticks every second; the worker's settings make the daily checks due at any hour in the
tenant's time zone and keep digests and the monthly job out of the way (their own tests cover
them). Both run in one process (``worker -B``), as scripts/run.sh starts them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from alerts.models import Alert, RunState, ScheduledRun
from alerts.services import alert_checks_run
from alerts.tasks import daily_checks
from alerts.tests.factories import deal_create, won_deal_with_history
from deals.models import Deal
from salesintel.testing.celery import CeleryWorker, eventually
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import tenant_create

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

SCHEDULE_ENV = {
    "ALERTS_TICK_SECONDS": "1",
    "ALERTS_SCHEDULE_JITTER_SECONDS": "0",
    "ALERTS_DAILY_CHECK_HOUR": "0",
    "ALERTS_DIGEST_HOUR": "24",  # never
    "ALERTS_MONTHLY_DAY": "32",  # never
}


@pytest.fixture
def start_worker_with_beat(celery_worker_factory, tmp_path) -> Callable[[], CeleryWorker]:
    def start() -> CeleryWorker:
        return celery_worker_factory("-B", f"--schedule={tmp_path / 'beat-schedule'}", env=SCHEDULE_ENV)

    return start


@dataclass(frozen=True)
class SeededDemo:
    tenant: Tenant
    planted_stalls: set[str]


@pytest.fixture
def demo_on_redis(celery_app_on_redis) -> SeededDemo:
    """The demo tenant as seed_demo makes it, anchored on today (the day beat will check), seeded
    once the app sends to the test Redis (so its import's tasks never reach another broker)."""
    from deals.demo_seed import DEMO_TENANT, demo_seed

    tenant = tenant_create(slug=DEMO_TENANT.slug, name=DEMO_TENANT.name, timezone="UTC")
    seeded = demo_seed(tenant=tenant, anchor=dt.datetime.now(dt.UTC).date())
    # The import queued scoring's first training; these tests do not need it, and on a busy
    # machine it would hold the single worker for minutes before the schedule's first tick.
    celery_app_on_redis.control.purge()
    return SeededDemo(
        tenant=tenant, planted_stalls=set(seeded.deals.loc[seeded.deals["planted_stall"], "deal_id"])
    )


def daily_run(tenant) -> ScheduledRun | None:
    with tenant_context(tenant):
        return ScheduledRun.objects.filter(job="daily_checks", state=RunState.DONE).first()


def alert_keys(tenant) -> list[str]:
    with tenant_context(tenant):
        return sorted(Alert.objects.values_list("dedup_key", flat=True))


def ticks_done(worker: CeleryWorker) -> int:
    return len(re.findall(r"Task alerts\.schedule_tick\[[^\]]+\] succeeded", worker.log()))


def test_beat_runs_the_daily_checks_that_raise_the_demo_tenants_alerts(demo_on_redis, start_worker_with_beat):
    demo = demo_on_redis.tenant
    start_worker_with_beat()

    run = eventually(lambda: daily_run(demo), timeout_s=300)

    with tenant_context(demo):
        flagged = set(
            Alert.objects.filter(kind__in=["stall", "cycle_breach"]).values_list("deal__crm_id", flat=True)
        )
        # The scheduled run created exactly what the rules say: checking again creates nothing.
        again = alert_checks_run(as_of=dt.date.fromisoformat(run.period_key))
    assert demo_on_redis.planted_stalls <= flagged
    assert run.result["share_alerted"] <= 0.15
    assert run.result["created"] == len(alert_keys(demo))
    assert again.created == 0


def test_a_restarted_beat_runs_nothing_twice_and_creates_no_duplicate_alerts(
    demo_on_redis, start_worker_with_beat
):
    demo = demo_on_redis.tenant
    first = start_worker_with_beat()
    run = eventually(lambda: daily_run(demo), timeout_s=300)
    before = alert_keys(demo)
    first.stop()

    second = start_worker_with_beat()
    eventually(lambda: ticks_done(second) >= 3, timeout_s=120)
    rerun = daily_checks.delay(demo.pk, run.period_key).get(timeout=300)

    assert alert_keys(demo) == before
    assert rerun["created"] == 0
    with tenant_context(demo):
        assert ScheduledRun.objects.filter(job="daily_checks").count() == 1


def stalled_tenant_deals(count: int) -> None:
    for index in range(30):
        won_deal_with_history(
            created=dt.date(2024, 1, 1) + dt.timedelta(days=index),
            days_per_stage={"Qualified": 10, "Proposal": 10 + index % 5, "Negotiation": 5},
        )
    for _ in range(count):
        deal_create(created=dt.date(2024, 5, 1), stage="Proposal", stage_entered=dt.date(2024, 5, 1))


def test_a_task_for_tenant_b_after_one_for_tenant_a_in_the_same_worker_sees_only_b(
    celery_worker_process, tenant_a, tenant_b
):
    with tenant_context(tenant_a):
        stalled_tenant_deals(2)
    with tenant_context(tenant_b):
        stalled_tenant_deals(1)

    report_a = daily_checks.delay(tenant_a.pk, "2024-06-01").get(timeout=300)
    report_b = daily_checks.delay(tenant_b.pk, "2024-06-01").get(timeout=300)

    assert (report_a["tenant_id"], report_a["open_deals_checked"], report_a["created"]) == (tenant_a.pk, 2, 4)
    assert (report_b["tenant_id"], report_b["open_deals_checked"], report_b["created"]) == (tenant_b.pk, 1, 2)
    with tenant_context(tenant_b):
        b_deals = set(Deal.objects.values_list("pk", flat=True))
        assert {alert.deal_id for alert in Alert.objects.all()} <= b_deals
    assert len(alert_keys(tenant_a)) == 4


MONTHLY_ENV = {
    **SCHEDULE_ENV,
    "ALERTS_DAILY_CHECK_HOUR": "24",
    "ALERTS_MONTHLY_DAY": "1",
    "ALERTS_MONTHLY_HOUR": "0",
}


def monthly_state(tenant) -> tuple[int, int, int, int] | None:
    from insights.models import SegmentMetric
    from scoring.models import ModelVersion

    with tenant_context(tenant):
        if not ScheduledRun.objects.filter(job="monthly", state=RunState.DONE).exists():
            return None
        versions = ModelVersion.objects.count()
        if not versions:
            return None
        return (
            SegmentMetric.objects.count(),
            versions,
            Alert.objects.filter(kind="segment_deterioration").count(),
            ScheduledRun.objects.filter(job="monthly").count(),
        )


def test_the_monthly_job_stores_segment_metrics_and_retrains_once_even_when_beat_restarts(
    demo_on_redis, celery_worker_factory, tmp_path
):
    demo = demo_on_redis.tenant
    first = celery_worker_factory("-B", f"--schedule={tmp_path / 'beat-1'}", env=MONTHLY_ENV)
    after_first = eventually(lambda: monthly_state(demo), timeout_s=300)
    retrained = eventually(
        lambda: re.search(r"Task alerts\.models_retrain\[[^\]]+\] succeeded", first.log()), timeout_s=300
    )
    first.stop()

    second = celery_worker_factory("-B", f"--schedule={tmp_path / 'beat-2'}", env=MONTHLY_ENV)
    eventually(lambda: ticks_done(second) >= 3, timeout_s=120)

    metrics, _, _, runs = after_first
    assert retrained
    assert metrics > 0
    assert runs == 1
    assert monthly_state(demo) == after_first
