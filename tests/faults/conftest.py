"""Fault-test fixtures: a private Redis this test may stop and start, and workers on it.

The session's Redis (salesintel.testing.celery) is shared by every test; these tests stop
their own server instead, on a port of their own, so nothing else notices.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from salesintel.paths import BASE_DIR
from salesintel.testing.celery import (
    READY_TIMEOUT_S,
    CeleryWorker,
    _celery_executable,
    _free_port,
    _reachable,
    _reset_connections,
    eventually,
    worker_database_url,
)


@dataclass
class PrivateRedis:
    directory: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        command = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        eventually(lambda: _reachable(self.url), timeout_s=15, interval_s=0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        eventually(lambda: not _reachable(self.url), timeout_s=10, interval_s=0.05)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(directory=tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@pytest.fixture
def celery_on_private_redis(private_redis: PrivateRedis) -> Iterator[Any]:
    """This process's Celery app sending to (and reading results from) the private Redis."""
    from salesintel.celery import app

    keys = ("broker_url", "result_backend", "broker_transport_options", "task_always_eager")
    saved = {key: app.conf.get(key) for key in keys}
    app.conf.update(
        broker_url=private_redis.url,
        result_backend=private_redis.url,
        broker_transport_options={"visibility_timeout": 3600},
        task_always_eager=False,
    )
    _reset_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_connections(app)


@pytest.fixture
def private_worker_factory(
    transactional_db: None, private_redis: PrivateRedis, celery_on_private_redis: Any, tmp_path: Path
) -> Iterator[Callable[..., CeleryWorker]]:
    """``start(env=None) -> CeleryWorker``: a solo-pool worker on the private Redis, answering pings."""
    workers: list[CeleryWorker] = []

    def start(env: dict[str, str] | None = None) -> CeleryWorker:
        nodename = f"fault-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log_path = tmp_path / f"{nodename.split('@')[0]}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "salesintel.settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": private_redis.url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        command = [
            _celery_executable(), "-A", "salesintel", "worker", "--pool=solo", "--loglevel=INFO",
            "--without-gossip", "--without-mingle", "-n", nodename,
        ]  # fmt: skip
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=environment, stdout=log_file, stderr=subprocess.STDOUT
            )
        worker = CeleryWorker(process=process, nodename=nodename, log_path=log_path)
        workers.append(worker)

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{worker.log()}")
            return bool(celery_on_private_redis.control.ping(destination=[nodename], timeout=0.5))

        eventually(answers, timeout_s=READY_TIMEOUT_S, interval_s=0.2)
        return worker

    yield start
    for worker in workers:
        worker.stop()
