"""Celery routes scoring, checks and digests to queues the environment names (docs/scaling.md)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from celery.app.routes import Router, prepare

import salesintel.settings.tasks as task_settings
from salesintel.celery import app

QUEUES_BY_ENVIRONMENT = {
    "CELERY_QUEUE_SCORING": "scoring",
    "CELERY_QUEUE_CHECKS": "checks",
    "CELERY_QUEUE_DIGESTS": "digests",
}


@pytest.fixture
def settings_with_named_queues(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The task settings module re-read with a queue named for each kind of work."""
    for name, queue in QUEUES_BY_ENVIRONMENT.items():
        monkeypatch.setenv(name, queue)
    yield importlib.reload(task_settings)
    monkeypatch.undo()
    importlib.reload(task_settings)


def test_every_routed_task_is_a_registered_celery_task() -> None:
    app.loader.import_default_modules()

    assert sorted(set(task_settings.TASK_QUEUE_OF) - set(app.tasks)) == []


def test_by_default_every_routed_task_goes_to_the_default_queue_so_one_worker_runs_everything() -> None:
    queues = {task: app.amqp.router.route({}, task)["queue"].name for task in task_settings.TASK_QUEUE_OF}

    assert set(queues.values()) == {"celery"}


def test_named_queues_separate_scoring_checks_and_digests(settings_with_named_queues: object) -> None:
    routes = settings_with_named_queues.CELERY_TASK_ROUTES  # type: ignore[attr-defined]
    router = Router(prepare(routes), app.amqp.queues, create_missing=True, app=app)

    def queue_of(task: str) -> str:
        return router.route({}, task)["queue"].name

    assert queue_of("scoring.score_deals") == "scoring"
    assert queue_of("alerts.models_retrain") == "scoring"
    assert queue_of("alerts.daily_checks") == "checks"
    assert queue_of("insights.segment_metrics_refresh") == "checks"
    assert queue_of("alerts.digest_send_one") == "digests"
    assert queue_of("alerts.schedule_tick") == "celery"
