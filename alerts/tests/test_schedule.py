"""When jobs are due, per tenant time zone (pure), and the tick's once-per-period ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from alerts import schedule
from alerts.models import Alert, RunState, ScheduledRun
from alerts.tasks import schedule_tick
from alerts.tests.factories import deal_create, won_deal_with_history
from salesintel.celery import app
from tenants.context import tenant_context
from tenants.services import tenant_create

CONFIG = schedule.ScheduleConfig(
    daily_hour=6, digest_hour=7, monthly_day=1, monthly_hour=3, jitter_seconds=900
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def jobs_at(now: dt.datetime, zone: str) -> list[tuple[str, str]]:
    return [
        (job.job, job.period_key) for job in schedule.due_jobs(now_utc=now, timezone_name=zone, config=CONFIG)
    ]


def test_daily_checks_are_due_from_six_in_the_morning_in_the_tenants_time_zone():
    # 05:30 UTC is 06:30 in Paris (winter) but 00:30 in New York.
    now = utc(2025, 1, 14, 5, 30)

    assert ("daily_checks", "2025-01-14") in jobs_at(now, "Europe/Paris")
    assert [job for job, _ in jobs_at(now, "America/New_York") if job == "daily_checks"] == []


def test_a_tenant_east_of_utc_is_already_on_the_next_day():
    assert ("daily_checks", "2025-01-15") in jobs_at(utc(2025, 1, 14, 22, 0), "Asia/Tokyo")


def test_the_monthly_job_is_due_for_the_whole_month_after_its_start_so_a_missed_tick_catches_up():
    assert ("monthly", "2025-02") in jobs_at(utc(2025, 2, 1, 4, 0), "UTC")
    assert ("monthly", "2025-02") in jobs_at(utc(2025, 2, 17, 4, 0), "UTC")
    assert ("monthly", "2025-02") not in jobs_at(utc(2025, 2, 1, 2, 0), "UTC")


def test_the_jitter_is_stable_per_tenant_and_job_and_within_the_window():
    delays = {
        schedule.jitter_seconds(tenant_id=tenant_id, job="daily_checks", config=CONFIG)
        for tenant_id in range(200)
    }

    assert all(0 <= delay < 900 for delay in delays)
    assert len(delays) > 100
    assert schedule.jitter_seconds(tenant_id=7, job="daily_checks", config=CONFIG) == schedule.jitter_seconds(
        tenant_id=7, job="daily_checks", config=CONFIG
    )


def test_weekly_period_keys_are_iso_weeks():
    assert schedule.weekly_period_key(dt.date(2025, 1, 6)) == "2025-W02"
    assert schedule.weekly_period_key(dt.date(2024, 12, 30)) == "2025-W01"


@pytest.fixture
def eager_celery(settings) -> Iterator[None]:
    """Run enqueued tasks inline, so the tick's fan-out is visible in this test's transaction.

    The monthly job is moved to the 28th so these mid-month ticks run the daily checks only.
    """
    settings.ALERTS_SCHEDULE_JITTER_SECONDS = 0
    settings.ALERTS_MONTHLY_DAY = 28
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def paris_tenant_with_a_stalled_deal(db):
    tenant = tenant_create(slug="paris", name="Paris SAS", timezone="Europe/Paris")
    with tenant_context(tenant):
        for index in range(30):
            won_deal_with_history(
                created=dt.date(2024, 11, 1) + dt.timedelta(days=index),
                days_per_stage={"Qualified": 10, "Proposal": 10 + index % 5, "Negotiation": 5},
            )
        deal_create(created=dt.date(2024, 12, 1), stage="Proposal", stage_entered=dt.date(2024, 12, 20))
    return tenant


def test_a_tick_runs_the_daily_checks_of_a_tenant_whose_morning_has_come(
    paris_tenant_with_a_stalled_deal, eager_celery
):
    enqueued = schedule_tick(now_iso="2025-01-14T05:30:00+00:00")

    assert {"tenant": "paris", "job": "daily_checks", "period": "2025-01-14", "countdown": 0} in enqueued
    with tenant_context(paris_tenant_with_a_stalled_deal):
        assert Alert.objects.filter(kind="stall").count() == 1
        run = ScheduledRun.objects.get(job="daily_checks")
        assert run.state == RunState.DONE
        assert run.result["rules"]["stall"]["created"] == 1


def test_a_second_tick_in_the_same_period_enqueues_nothing(paris_tenant_with_a_stalled_deal, eager_celery):
    schedule_tick(now_iso="2025-01-14T05:30:00+00:00")

    again = schedule_tick(now_iso="2025-01-14T06:30:00+00:00")

    assert [item for item in again if item["job"] == "daily_checks"] == []
    with tenant_context(paris_tenant_with_a_stalled_deal):
        assert Alert.objects.count() == 2  # the stall and the cycle breach, once each


def test_a_claim_whose_worker_died_is_enqueued_again_after_a_while(
    paris_tenant_with_a_stalled_deal, eager_celery
):
    with tenant_context(paris_tenant_with_a_stalled_deal):
        ScheduledRun.objects.create(
            job="daily_checks",
            period_key="2025-01-14",
            queued_at=utc(2025, 1, 14, 1, 0),
            state=RunState.QUEUED,
        )

    enqueued = schedule_tick(now_iso="2025-01-14T05:30:00+00:00")

    assert any(item["job"] == "daily_checks" for item in enqueued)
