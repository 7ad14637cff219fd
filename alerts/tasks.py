"""Celery tasks: the schedule's tick, and thin per-tenant wrappers around alerts' services.

Per-tenant tasks derive from :class:`tenants.tasks.TenantTask`: the tenant id is the first
argument and the body runs inside that tenant's context and transaction, restored afterwards.
Each is idempotent (safe to run twice; the schedule's ledger and the alerts' dedup keys
guarantee it), acknowledged late, retried with exponential backoff on transient errors, and
time-limited.

The tick (:func:`schedule_tick`, run by Celery beat every ``ALERTS_TICK_SECONDS``) is the only
task that looks at several tenants, and only at the Tenant table (not tenant-owned): for each
tenant it asks :mod:`alerts.schedule` which jobs are due in the tenant's time zone, claims the
job's ledger row, and enqueues the job with the tenant's jitter as countdown.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from typing import Any

from celery import chain, shared_task
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from alerts import rules, schedule
from alerts.models import RunState, ScheduledRun
from alerts.webhooks import WebhookTransientError
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.tasks import TenantTask

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OperationalError,
    InterfaceError,
)
# A claimed job that has not finished after this long is enqueued again (its worker died).
STALE_CLAIM = dt.timedelta(hours=3)

_task_options: dict[str, Any] = {
    "base": TenantTask,
    "bind": True,
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 5,
}


def schedule_config() -> schedule.ScheduleConfig:
    return schedule.ScheduleConfig(
        daily_hour=settings.ALERTS_DAILY_CHECK_HOUR,
        digest_hour=settings.ALERTS_DIGEST_HOUR,
        digest_weekday=settings.ALERTS_DIGEST_WEEKDAY,
        monthly_day=settings.ALERTS_MONTHLY_DAY,
        monthly_hour=settings.ALERTS_MONTHLY_HOUR,
        jitter_seconds=settings.ALERTS_SCHEDULE_JITTER_SECONDS,
    )


# --- the ledger ------------------------------------------------------------------------------


def run_claim(*, job: str, period_key: str, now: dt.datetime) -> bool:
    """Claim (tenant, job, period) in the ledger; False when it is done or claimed recently.

    Runs in the active tenant's context. The unique constraint makes two concurrent ticks
    (e.g. two beat processes by mistake) claim it once.
    """
    run = ScheduledRun.objects.filter(job=job, period_key=period_key).first()
    if run is None:
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job, period_key=period_key, queued_at=now)
        except IntegrityError:
            return False
        return True
    if run.state == RunState.DONE:
        return False
    if run.state == RunState.FAILED or run.queued_at < now - STALE_CLAIM:
        ScheduledRun.objects.filter(pk=run.pk).update(state=RunState.QUEUED, queued_at=now)
        return True
    return False


def _run_start(job: str, period_key: str) -> ScheduledRun:
    run, _ = ScheduledRun.objects.get_or_create(job=job, period_key=period_key)
    run.state = RunState.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["state", "started_at"])
    return run


def _run_finish(run: ScheduledRun, result: dict[str, Any]) -> None:
    run.state = RunState.DONE
    run.finished_at = timezone.now()
    run.result = result
    run.save(update_fields=["state", "finished_at", "result"])


# --- the tick --------------------------------------------------------------------------------


def _enqueue(tenant: Tenant, due: schedule.DueJob, countdown: int) -> None:
    tenant_id, day = tenant.pk, due.local_date.isoformat()
    if due.job == schedule.DAILY_CHECKS:
        chain(
            daily_checks.si(tenant_id, day, due.period_key),
            deliver_alerts.si(tenant_id),
        ).apply_async(countdown=countdown)
    elif due.job == schedule.DIGESTS:
        digests_send.apply_async((tenant_id, day, due.period_key), countdown=countdown)
    elif due.job == schedule.MONTHLY:
        month = schedule.previous_month(due.local_date).isoformat()
        chain(
            segment_metrics_refresh.si(tenant_id, month),
            monthly_checks.si(tenant_id, day, due.period_key),
            deliver_alerts.si(tenant_id),
        ).apply_async(countdown=countdown)
        models_retrain.apply_async((tenant_id,), countdown=countdown)


@shared_task(name="alerts.schedule_tick", acks_late=True, time_limit=120, soft_time_limit=100)
def schedule_tick(now_iso: str | None = None) -> list[dict[str, Any]]:
    """Enqueue every tenant's due jobs once per period. Returns what it enqueued."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    config = schedule_config()
    enqueued: list[dict[str, Any]] = []
    for tenant in Tenant.objects.order_by("pk"):
        jobs = schedule.due_jobs(now_utc=now, timezone_name=tenant.timezone, config=config)
        for due in jobs:
            with tenant_context(tenant):
                claimed = run_claim(job=due.job, period_key=due.period_key, now=now)
            if not claimed:
                continue
            countdown = schedule.jitter_seconds(tenant_id=tenant.pk, job=due.job, config=config)
            # The claim has committed (tenant_context's transaction ended), so the job's ledger
            # row exists before the job can run.
            _enqueue(tenant, due, countdown)
            enqueued.append(
                {"tenant": tenant.slug, "job": due.job, "period": due.period_key, "countdown": countdown}
            )
    if enqueued:
        logger.info("schedule tick enqueued %s", enqueued)
    return enqueued


# --- per-tenant jobs -------------------------------------------------------------------------


@shared_task(name="alerts.daily_checks", time_limit=15 * 60, soft_time_limit=14 * 60, **_task_options)
def daily_checks(self: Any, tenant_id: int, as_of_iso: str, period_key: str | None = None) -> dict[str, Any]:
    """The daily rules (stall, cycle breach, score drop, slip) over all open deals."""
    from alerts.services import alert_checks_run

    run = _run_start(schedule.DAILY_CHECKS, period_key) if period_key else None
    report = alert_checks_run(as_of=dt.date.fromisoformat(as_of_iso), kinds=rules.DAILY_RULES)
    result = report.as_dict()
    if run is not None:
        _run_finish(run, result)
    return result


@shared_task(name="alerts.monthly_checks", time_limit=15 * 60, soft_time_limit=14 * 60, **_task_options)
def monthly_checks(
    self: Any, tenant_id: int, as_of_iso: str, period_key: str | None = None
) -> dict[str, Any]:
    """The monthly rule (segment deterioration), after the month's segment metrics are stored."""
    from alerts.services import alert_checks_run

    run = _run_start(schedule.MONTHLY, period_key) if period_key else None
    report = alert_checks_run(as_of=dt.date.fromisoformat(as_of_iso), kinds=rules.MONTHLY_RULES)
    result = report.as_dict()
    if run is not None:
        _run_finish(run, result)
    return result


@shared_task(
    name="alerts.segment_metrics_refresh", time_limit=30 * 60, soft_time_limit=28 * 60, **_task_options
)
def segment_metrics_refresh(self: Any, tenant_id: int, month_iso: str) -> dict[str, Any]:
    """Store the closed month's SegmentMetric rows (insights; idempotent per tenant and month)."""
    from insights.services import segment_metrics_refresh as refresh

    result = refresh(month=dt.date.fromisoformat(month_iso))
    return {"month": month_iso, "result": result if isinstance(result, (int, dict)) else str(result)}


@shared_task(name="alerts.models_retrain", time_limit=60 * 60, soft_time_limit=58 * 60, **_task_options)
def models_retrain(self: Any, tenant_id: int) -> dict[str, Any]:
    """Monthly retraining: train, backtest and maybe promote the tenant's scoring model."""
    from scoring.services import model_train_and_promote

    outcome = model_train_and_promote(tenant=Tenant.objects.get(pk=tenant_id))
    return outcome if isinstance(outcome, dict) else {"result": str(outcome)}


@shared_task(
    name="alerts.deliver_alerts",
    time_limit=5 * 60,
    soft_time_limit=4 * 60,
    **{**_task_options, "autoretry_for": (*TRANSIENT_ERRORS, WebhookTransientError), "max_retries": 8},
)
def deliver_alerts(self: Any, tenant_id: int) -> dict[str, Any]:
    """Push new alerts to the tenant's webhook (in-app delivery needs nothing: the inbox reads them)."""
    from alerts.webhooks import alerts_deliver

    delivery = alerts_deliver(tenant_name=Tenant.objects.get(pk=tenant_id).name)
    return {"delivered": delivery.delivered, "skipped": delivery.skipped_reason}


@shared_task(name="alerts.digests_send", time_limit=30 * 60, soft_time_limit=28 * 60, **_task_options)
def digests_send(self: Any, tenant_id: int, on_iso: str, period_key: str | None = None) -> dict[str, Any]:
    """Plan the digests due on ``on_iso`` and enqueue one send per user.

    The content (diagnosis, risk deals, alerts) is built once here; each user's email then goes
    out in its own task and transaction, so one failure or retry never resends the others.
    """
    from alerts.digest import digest_plan

    run = _run_start(schedule.DIGESTS, period_key) if period_key else None
    plan = digest_plan(on=dt.date.fromisoformat(on_iso))
    sends = [(int(user.pk), frequency) for user, frequency in plan.recipients]
    for user_id, frequency in sends:
        # After commit: the children must see this transaction's ledger row.
        transaction.on_commit(
            lambda u=user_id, f=frequency: digest_send_one.delay(tenant_id, u, f, on_iso, plan.contents[f])
        )
    result = {"on": on_iso, "enqueued": len(sends)}
    if run is not None:
        _run_finish(run, result)
    return result


@shared_task(
    name="alerts.digest_send_one",
    time_limit=5 * 60,
    soft_time_limit=4 * 60,
    **{
        **_task_options,
        "autoretry_for": (*TRANSIENT_ERRORS, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError),
    },
)
def digest_send_one(
    self: Any, tenant_id: int, user_id: int, frequency: str, on_iso: str, content: dict[str, Any]
) -> dict[str, Any]:
    """Send one user's digest (skipped when the ledger says this period's was already sent)."""
    from django.contrib.auth import get_user_model

    from alerts.digest import digest_send

    user = get_user_model().objects.get(pk=user_id)
    delivery = digest_send(user=user, frequency=frequency, on=dt.date.fromisoformat(on_iso), content=content)
    return {"user_id": user_id, "sent": delivery is not None}
