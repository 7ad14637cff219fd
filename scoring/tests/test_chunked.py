"""The chunked full pass (several connections at once) against the one-transaction pass.

The chunks run on their own threads and connections, so these tests commit their data
(transactional database) and run each pass in a tenant context of its own.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from django.db import OperationalError, connection, transaction

from deals.models import Deal, DealStatus
from scoring import selectors, services
from scoring.drivers import DriverTable
from scoring.models import CurrentScore, DealScore
from scoring.services import ScoringBatch, deal_scores_refresh, deal_scores_refresh_chunked, model_train
from scoring.tests.conftest import SMALL_MINIMUM
from scoring.tests.factories import ANCHOR, deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant

pytestmark = pytest.mark.django_db(transaction=True)

CHUNKS = 3


@pytest.fixture
def trained(tenant_a: Tenant) -> Tenant:
    """Tenant A with 400 closed and 40 open deals and an active model, committed; no scores."""
    with tenant_context(tenant_a):
        deals_seed()
        model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM, rescore=False)
    return tenant_a


def _chunked(tenant: Tenant, *, as_of: dt.date = ANCHOR, trigger: str = "chunked") -> ScoringBatch:
    with tenant_context(tenant):
        return deal_scores_refresh_chunked(trigger=trigger, as_of=as_of, workers=CHUNKS, min_deals=1)


def _one_transaction(tenant: Tenant, *, as_of: dt.date = ANCHOR, trigger: str = "single") -> ScoringBatch:
    with tenant_context(tenant):
        return deal_scores_refresh(trigger=trigger, as_of=as_of)


def _current(tenant: Tenant) -> dict[int, tuple[Any, ...]]:
    with tenant_context(tenant):
        return {
            row.deal_id: (
                row.score_id,
                row.model_version_id,
                row.probability,
                row.band,
                row.drivers_digest,
                row.risk_rank,
                row.safe_rank,
                row.previous_probability,
            )
            for row in CurrentScore.objects.all()
        }


def _open_ids(tenant: Tenant) -> list[int]:
    with tenant_context(tenant):
        return list(Deal.objects.filter(status=DealStatus.OPEN).order_by("id").values_list("id", flat=True))


def test_the_chunks_store_what_one_transaction_would(trained: Tenant, monkeypatch) -> None:
    # Ranks are decided over the whole pass, not per chunk: 7 riskiest and 7 safest of 40.
    monkeypatch.setattr(services, "RISK_RANKED", 7)

    batch = _chunked(trained)

    assert batch.scored == 40 and batch.written == 40 and batch.removed == 0
    assert batch.frame["deal_id"].tolist() == _open_ids(trained)
    stored = _current(trained)
    assert len(stored) == 40
    probabilities = sorted(row[2] for row in stored.values())
    assert sorted(row[5] for row in stored.values() if row[5] is not None) == probabilities[:7]
    assert sorted(row[6] for row in stored.values() if row[6] is not None) == probabilities[-7:]
    # The one-transaction pass finds nothing to change: same probabilities, drivers and ranks.
    rerun = _one_transaction(trained)
    assert rerun.written == 0 and rerun.removed == 0
    assert _current(trained) == stored
    assert np.allclose(rerun.frame["probability"], batch.frame["probability"])
    assert rerun.drivers is not None and batch.drivers is not None
    assert rerun.drivers.rows() == batch.drivers.rows()


def test_a_day_later_every_chunk_updates_its_scores_in_place(trained: Tenant) -> None:
    _one_transaction(trained)
    before = _current(trained)

    batch = _chunked(trained, as_of=ANCHOR + dt.timedelta(days=1), trigger="daily")

    assert batch.written == 40
    after = _current(trained)
    assert after.keys() == before.keys()
    for deal_id, row in after.items():
        assert row[0] != before[deal_id][0]  # a new history row
        assert row[7] == before[deal_id][2]  # the previous probability kept
    with tenant_context(trained):
        assert DealScore.objects.filter(trigger="daily").count() == 40
        assert DealScore.objects.count() == 80
    again = _chunked(trained, as_of=ANCHOR + dt.timedelta(days=1), trigger="again")
    assert again.written == 0 and _current(trained) == after


def test_each_chunk_drops_the_stale_scores_in_its_own_range(trained: Tenant) -> None:
    _one_transaction(trained)
    ids = _open_ids(trained)
    # The first and last open deal: in the first and the last chunk (each open on one side).
    closed = [ids[0], ids[-1]]
    with tenant_context(trained):
        Deal.objects.filter(pk__in=closed).update(status=DealStatus.LOST, closed_date=ANCHOR)

    batch = _chunked(trained)

    assert batch.scored == 38 and batch.removed == 2 and batch.written == 0
    assert set(_current(trained)) == set(ids) - set(closed)


def test_another_tenants_scores_are_left_alone(trained: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_b):
        deals_seed(prefix="B")
        model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM)
    theirs = _current(tenant_b)
    assert len(theirs) == 40

    batch = _chunked(trained, as_of=ANCHOR + dt.timedelta(days=2))

    assert batch.scored == 40
    assert _current(tenant_b) == theirs
    with tenant_context(tenant_b):
        assert not DealScore.objects.filter(trigger="chunked").exists()


def _until(found: Callable[[], Any], *, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := found()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def _blocked_by_us() -> int | None:
    """A backend waiting on a lock that this connection holds, if any."""
    with connection.cursor() as cursor:
        # Activity is read once per transaction unless its snapshot is cleared.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_a_failed_range_leaves_the_others_committed_and_a_rerun_completes(trained: Tenant) -> None:
    _one_transaction(trained)
    before = _current(trained)
    with tenant_context(trained):
        ranges = selectors.open_deal_plan(parts=CHUNKS).ranges
    last_after = ranges[-1][0]
    ids = _open_ids(trained)
    done_first = [deal_id for deal_id in ids if deal_id <= last_after]
    day = ANCHOR + dt.timedelta(days=1)
    failure: list[BaseException] = []

    def daily_pass() -> None:
        try:
            _chunked(trained, as_of=day, trigger="daily")
        except BaseException as error:  # handed to the test's thread
            failure.append(error)
        finally:
            connection.close()

    # Another writer holds the last range's last current score; that range's write waits for
    # it while the others commit, and is then cancelled, as an operator or a timeout would.
    with tenant_context(trained), transaction.atomic():
        list(CurrentScore.objects.select_for_update().filter(deal_id=ids[-1]))
        worker = threading.Thread(target=daily_pass)
        worker.start()
        waiter = _until(_blocked_by_us)
        _until(lambda: DealScore.objects.filter(trigger="daily").count() == len(done_first))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_cancel_backend(%s)", [waiter])
        worker.join(60)

    assert not worker.is_alive()
    [error] = failure
    assert isinstance(error, OperationalError) and "cancel" in str(error)
    after = _current(trained)
    assert [deal_id for deal_id in ids if after[deal_id][0] != before[deal_id][0]] == done_first
    assert {deal_id: after[deal_id] for deal_id in ids if deal_id > last_after} == {
        deal_id: before[deal_id] for deal_id in ids if deal_id > last_after
    }

    rerun = _chunked(trained, as_of=day, trigger="rerun")

    assert rerun.written == len(ids) - len(done_first)
    assert _one_transaction(trained, as_of=day).written == 0


def test_each_chunk_reads_between_the_lowest_and_highest_open_ids(trained: Tenant) -> None:
    ids = _open_ids(trained)
    with tenant_context(trained):
        plan = selectors.open_deal_plan(parts=CHUNKS)
        reads = [plan.read_range(id_range) for id_range in plan.ranges]
        read_ids = [selectors.open_deal_frame(id_range=bounds)["deal_id"].tolist() for bounds in reads]

    assert (plan.count, plan.lowest, plan.highest) == (len(ids), ids[0], ids[-1])
    # The writes' ranges keep their open ends; the reads close them at the open ids.
    assert plan.ranges[0][0] is None and plan.ranges[-1][1] is None
    assert reads[0][0] == ids[0] - 1 and reads[-1][1] == ids[-1]
    assert [bounds[1] for bounds in reads[:-1]] == [id_range[1] for id_range in plan.ranges[:-1]]
    assert [deal_id for chunk in read_ids for deal_id in chunk] == ids


def test_a_small_tenant_gets_the_one_transaction_pass(trained: Tenant) -> None:
    with tenant_context(trained):
        batch = deal_scores_refresh_chunked(trigger="small", as_of=ANCHOR, workers=CHUNKS)

    # Below CHUNKED_MIN_DEALS: the plain pass, whose step timings have no meeting point.
    assert batch.scored == 40 and batch.written == 40
    assert "wait" not in batch.timings_s


def test_driver_tables_concatenate_with_one_entry_each() -> None:
    first = {"feature": "lead_source", "label": "Partner lead source", "value": -0.4}
    second = {"feature": "stage", "label": "In Proposal", "value": 0.2}
    a = DriverTable(codes=np.array([[0, -1], [-1, -1]], dtype="int32"), entries=(first,))
    b = DriverTable(codes=np.array([[1, 0]], dtype="int32"), entries=(second, first))

    joined = DriverTable.concat([a, b])

    assert joined.entries == (first, second)
    assert joined.rows() == [[first], [], [first, second]]
