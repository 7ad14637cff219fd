"""Real Celery workers on a real Redis, for tests marked ``celery_worker``.

Fixtures:

* ``redis_server_url`` (session) — ``REDIS_TEST_URL`` or ``REDIS_URL`` when set and reachable,
  else a private ``redis-server`` from PATH on a free port with its files in a temp dir, stopped
  at the end of the session. Skips the test when neither exists.
* ``celery_broker_url`` (session) — that server with a database number claimed for this session
  (``SET NX`` of a lock key), so parallel test sessions on one shared Redis never consume each
  other's tasks.
* ``celery_app_on_redis`` (function) — points this process's Celery app at that broker (sending
  tasks, reading results) and restores the previous broker afterwards.
* ``celery_worker_factory`` (function) — ``start(*extra_args, env=None) -> CeleryWorker`` starts
  ``celery -A salesintel worker --pool=solo`` as a subprocess against the *test* database
  (``DATABASE_URL`` built from ``settings.DATABASES`` after pytest-django created it) and the
  claimed Redis database; extra args such as ``-B`` (embedded beat) are appended. Every worker
  started is stopped with a warm shutdown (SIGTERM, then SIGKILL after a timeout) at teardown.
* ``celery_worker_process`` (function) — one default worker, already answering pings.

The worker is another process and another database connection, so it sees only committed rows:
these fixtures request ``transactional_db`` and tests using them run with committed data.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis

from salesintel.paths import BASE_DIR

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
LOCK_KEY = "salesintel:test-session-lock"
LOCK_TTL_S = 6 * 3600
REDIS_DATABASES = range(1, 16)

T = TypeVar("T")


def _reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _with_database(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


def eventually(check: Callable[[], T], *, timeout_s: float = 30.0, interval_s: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy and return it; AssertionError on timeout.

    For waiting on work done by another process (a worker writing rows), where there is no
    event to wait on.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s:.0f} s (last value: {result!r})")
        time.sleep(interval_s)


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for variable in ("REDIS_TEST_URL", "REDIS_URL"):
        url = os.environ.get(variable, "")
        if url and _reachable(url):
            yield url
            return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("No reachable REDIS_TEST_URL/REDIS_URL and no redis-server on PATH.")
    directory = tmp_path_factory.mktemp("redis")
    port = _free_port()
    command = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(directory),
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    try:
        eventually(lambda: server.poll() is not None or _reachable(url), timeout_s=15, interval_s=0.05)
        if server.poll() is not None:
            log = (directory / "redis.log").read_text(errors="replace")
            raise RuntimeError(f"redis-server exited with {server.returncode}:\n{log}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def celery_broker_url(redis_server_url: str) -> Iterator[str]:
    token = uuid.uuid4().hex
    for number in REDIS_DATABASES:
        url = _with_database(redis_server_url, number)
        client = redis.Redis.from_url(url)
        if client.set(LOCK_KEY, token, nx=True, ex=LOCK_TTL_S):
            # A crashed earlier session may have left queued tasks in this database.
            client.flushdb()
            client.set(LOCK_KEY, token, ex=LOCK_TTL_S)
            try:
                yield url
            finally:
                if client.get(LOCK_KEY) == token.encode():
                    client.flushdb()
            return
    first, last = REDIS_DATABASES.start, REDIS_DATABASES.stop - 1
    pytest.fail(f"Every Redis database {first}–{last} is claimed by another test session.")


def _reset_connections(app: Any) -> None:
    """Drop the app's cached broker pool and result backend so the next use reads the new URLs.

    Celery caches both lazily (``app._pool``, ``app.amqp._producer_pool``, the backend in
    ``app._backend_cache`` or thread-local ``app._local``); it resets the same attributes after
    a fork.
    """
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


@pytest.fixture
def celery_app_on_redis(celery_broker_url: str) -> Iterator[Any]:
    from salesintel.celery import app

    keys = ("broker_url", "result_backend", "broker_transport_options", "task_always_eager")
    saved = {key: app.conf.get(key) for key in keys}
    app.conf.update(
        broker_url=celery_broker_url,
        result_backend=celery_broker_url,
        broker_transport_options={"visibility_timeout": 3600},
        task_always_eager=False,
    )
    _reset_connections(app)
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_connections(app)


def worker_database_url() -> str:
    """``DATABASE_URL`` of the database pytest-django set up (settings point at it by now)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    user = quote(str(database.get("USER") or ""), safe="")
    password = quote(str(database.get("PASSWORD") or ""), safe="")
    # The embedded database gives its socket directory in OPTIONS, not HOST.
    host = str(database.get("HOST") or database.get("OPTIONS", {}).get("host") or "")
    port = str(database.get("PORT") or "")
    name = quote(str(database["NAME"]), safe="")
    credentials = f"{user}:{password}@" if user else ""
    if host.startswith("/"):
        # A Unix socket directory goes in the query, as salesintel.devdb writes it.
        query = f"host={quote(host, safe='/')}" + (f"&port={port}" if port else "")
        return f"postgresql://{credentials}/{name}?{query}"
    return f"postgresql://{credentials}{host}{':' + port if port else ''}/{name}"


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    nodename: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Warm shutdown: SIGTERM lets the running task finish; SIGKILL if it takes too long."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _celery_executable() -> str:
    beside_python = Path(sys.executable).parent / "celery"
    if beside_python.exists():
        return str(beside_python)
    return str(BASE_DIR / ".venv" / "bin" / "celery")


@pytest.fixture
def celery_worker_factory(
    transactional_db: None, celery_app_on_redis: Any, celery_broker_url: str, tmp_path: Path
) -> Iterator[Callable[..., CeleryWorker]]:
    workers: list[CeleryWorker] = []

    def start(*extra_args: str, env: dict[str, str] | None = None) -> CeleryWorker:
        nodename = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log_path = tmp_path / f"{nodename.split('@')[0]}.log"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "salesintel.settings",
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": celery_broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        command = [
            _celery_executable(),
            "-A", "salesintel",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-n", nodename,
            *extra_args,
        ]  # fmt: skip
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603
                command, cwd=BASE_DIR, env=environment, stdout=log_file, stderr=subprocess.STDOUT
            )
        worker = CeleryWorker(process=process, nodename=nodename, log_path=log_path)
        workers.append(worker)

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"Celery worker exited with {process.returncode}:\n{worker.log()}")
            return bool(celery_app_on_redis.control.ping(destination=[nodename], timeout=0.5))

        try:
            eventually(answers, timeout_s=READY_TIMEOUT_S, interval_s=0.2)
        except AssertionError as error:
            worker.stop()
            raise AssertionError(f"{error}\n--- worker log ---\n{worker.log()}") from None
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def celery_worker_process(celery_worker_factory: Callable[..., CeleryWorker]) -> CeleryWorker:
    return celery_worker_factory()
