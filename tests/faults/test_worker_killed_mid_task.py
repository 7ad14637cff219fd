"""A Celery worker is killed (SIGKILL) in the middle of a scoring task: the task runs again on
another worker, exactly once to the end, and leaves no duplicate scores.

The task is caught mid-flight deterministically: a second connection holds the tenant's scoring
lock (``pg_advisory_xact_lock``, taken inside the task's transaction), so the worker is inside
the task, in its transaction, when it is killed. Tasks are acknowledged late
(``CELERY_TASK_ACKS_LATE``), so the killed worker's message goes back to the queue; the second
worker runs with a short visibility timeout to get it back in seconds rather than an hour.
"""

from __future__ import annotations

import datetime as dt
import random
import signal
from decimal import Decimal

import psycopg
import pytest
from django.db.models import Count, F

from deals.models import Deal, DealStatus
from salesintel.testing.celery import eventually, worker_database_url
from scoring.models import CurrentScore, DealScore
from scoring.services import _SCORE_LOCK, model_train
from scoring.tasks import score_deals
from tenants.context import tenant_context

OPEN_DEALS = 30


def seed_deals(tenant, *, closed: int = 240, seed: int = 11) -> None:
    rng = random.Random(seed)
    today = dt.date.today()
    with tenant_context(tenant):
        for number in range(closed + OPEN_DEALS):
            is_open = number >= closed
            created = today - dt.timedelta(days=rng.randint(30, 700))
            source = rng.choice(["Inbound", "Partner", "Outbound"])
            won = rng.random() < (0.25 if source == "Partner" else 0.55)
            Deal.objects.create(
                crm_id=f"K-{number}",
                name=f"Deal {number}",
                created_date=created,
                closed_date=None if is_open else created + dt.timedelta(days=rng.randint(10, 90)),
                stage=rng.choice(["Qualified", "Demo", "Proposal"]) if is_open else "Closed",
                stage_entered_date=created if is_open else None,
                amount=Decimal(rng.randint(1, 90) * 1000),
                lead_source=source,
                industry=rng.choice(["SaaS", "Retail"]),
                status=DealStatus.OPEN if is_open else (DealStatus.WON if won else DealStatus.LOST),
            )


def lock_waiters(connection: psycopg.Connection) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s",
        [_SCORE_LOCK],
    ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.celery_worker
def test_a_task_killed_mid_run_reruns_on_another_worker_without_duplicate_scores(
    private_worker_factory, celery_on_private_redis, tenant_a, settings
):
    settings.SCORING_MIN_WON = settings.SCORING_MIN_LOST = 40
    seed_deals(tenant_a)
    with tenant_context(tenant_a):
        model_train()  # the first batch: one score per open deal
        assert DealScore.objects.count() == OPEN_DEALS
        # The score history records changes (docs/scoring.md): every open deal's amount moves
        # (update() sends no signal, so nothing rescores now), so the rerun below has exactly one
        # new score per deal to write, and a duplicate or a half-committed batch would show.
        Deal.objects.filter(status=DealStatus.OPEN).update(amount=F("amount") * 2)
    celery_on_private_redis.control.purge()  # the per-deal tasks the seeding queued

    first = private_worker_factory()
    with psycopg.connect(worker_database_url()) as blocker:
        blocker.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_SCORE_LOCK, tenant_a.pk])
        result = score_deals.delay(tenant_a.pk, None, "fault-test")
        eventually(lambda: lock_waiters(blocker) == 1, timeout_s=60)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        # Its database session dies with it (PostgreSQL would notice the closed socket on its next
        # write; terminating it now keeps the test from waiting on that).
        blocker.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = %s",
            [_SCORE_LOCK],
        )
        blocker.rollback()  # releases the lock

    second = private_worker_factory(env={"CELERY_VISIBILITY_TIMEOUT_SECONDS": "3"})
    outcome = result.get(timeout=120)
    assert outcome["scored"] == OPEN_DEALS
    assert second.log().count(f"[{result.id}] succeeded in") == 1

    with tenant_context(tenant_a):
        # The killed run committed nothing; the rerun appended exactly one batch.
        assert DealScore.objects.count() == 2 * OPEN_DEALS
        per_deal = DealScore.objects.values("deal").annotate(n=Count("id")).values_list("n", flat=True)
        assert set(per_deal) == {2}
        assert CurrentScore.objects.count() == OPEN_DEALS
