"""When each tenant's scheduled jobs are due, in the tenant's own time zone.

Pure: no Django import. Celery beat runs one tick every few minutes (salesintel.settings.tasks);
the tick asks :func:`due_jobs` which jobs are due for each tenant and enqueues them with a
per-tenant delay (:func:`jitter_seconds`) so tenants in one time zone do not all hit the
database at the same second. A job is due from its local start time until the period ends,
so a tick missed while beat was down is caught up by the next one; the ledger
(alerts.models.ScheduledRun, one row per tenant, job and period) makes it run once.
"""

from __future__ import annotations

import datetime as dt
import zlib
import zoneinfo
from dataclasses import dataclass

DAILY_CHECKS = "daily_checks"
DIGESTS = "digests"
MONTHLY = "monthly"


@dataclass(frozen=True)
class ScheduleConfig:
    """Local start times: daily checks at ``daily_hour``, digests at ``digest_hour`` (weekly
    digests on ``digest_weekday``, 0 = Monday), monthly jobs on ``monthly_day`` at ``monthly_hour``."""

    daily_hour: int = 6
    digest_hour: int = 7
    digest_weekday: int = 0
    monthly_day: int = 1
    monthly_hour: int = 3
    jitter_seconds: int = 900


@dataclass(frozen=True)
class DueJob:
    """A job due for one tenant: its ledger period key and the tenant's local date for it."""

    job: str
    period_key: str
    local_date: dt.date


def local_now(*, now_utc: dt.datetime, timezone_name: str) -> dt.datetime:
    return now_utc.astimezone(zoneinfo.ZoneInfo(timezone_name))


def due_jobs(*, now_utc: dt.datetime, timezone_name: str, config: ScheduleConfig) -> list[DueJob]:
    """Jobs whose local start time for the current period has passed at ``now_utc``.

    Daily checks and digests have one period per local day (key ``2025-01-06``); the monthly
    job one per local month (key ``2025-01``). The digest job runs every day: it sends daily
    digests every day and weekly ones on ``digest_weekday`` only.
    """
    local = local_now(now_utc=now_utc, timezone_name=timezone_name)
    today = local.date()
    jobs: list[DueJob] = []
    if local.hour >= config.daily_hour:
        jobs.append(DueJob(DAILY_CHECKS, today.isoformat(), today))
    if local.hour >= config.digest_hour:
        jobs.append(DueJob(DIGESTS, today.isoformat(), today))
    if (local.day, local.hour) >= (config.monthly_day, config.monthly_hour):
        jobs.append(DueJob(MONTHLY, f"{today:%Y-%m}", today))
    return jobs


def jitter_seconds(*, tenant_id: int, job: str, config: ScheduleConfig) -> int:
    """A stable delay in [0, jitter_seconds) for this tenant and job (the same every day)."""
    if config.jitter_seconds <= 0:
        return 0
    return zlib.crc32(f"{tenant_id}:{job}".encode()) % config.jitter_seconds


def previous_month(day: dt.date) -> dt.date:
    """The first day of the month before ``day``'s month (the month the monthly job closes)."""
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def weekly_period_key(day: dt.date) -> str:
    """ISO week key, e.g. ``2025-W02``: one weekly digest per user and week."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
