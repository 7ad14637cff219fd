"""The shared real-worker fixture (salesintel.testing.celery) works end to end."""

from __future__ import annotations

import pytest
from django.db import connection

from salesintel.testing.celery import CeleryWorker, worker_database_url

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_runs_a_task_sent_through_redis(celery_worker_process: CeleryWorker) -> None:
    from salesintel.celery import app

    result = app.tasks["celery.accumulate"].delay(1, 2)

    assert result.get(timeout=30) == [1, 2]


def test_the_worker_is_pointed_at_the_test_database(celery_worker_process: CeleryWorker) -> None:
    assert connection.settings_dict["NAME"] in worker_database_url()
    assert connection.settings_dict["NAME"].startswith("test_")


def test_the_worker_stops_cleanly_when_asked(celery_worker_process: CeleryWorker) -> None:
    celery_worker_process.stop()

    assert celery_worker_process.process.returncode == 0
