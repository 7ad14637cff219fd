"""Load run: mixed page and API traffic at 32 connections against gunicorn on loopback.

Issue 9's long run (the bounded smoke is tests/load/test_load_smoke.py). It uses its own
database ``--database`` (default ``bench_load``, created and migrated on first use on the
embedded server or ``DATABASE_URL``'s) with the demo tenant (``manage.py seed_demo`` runs first
when the tenant is missing), collects static files, starts gunicorn (2 gthread workers × 16 threads) on a
free loopback port with production settings (``DEBUG=0``), and for ``--seconds`` sends requests
from ``--connections`` client threads, each cycling through the pages (diagnosis, risk board, a
deal, alerts, reps, segments, the CSV export) signed in as the demo admin and the API (deal list,
a deal, alerts) with a read key. Run ``make migrate`` first. Reports requests, errors, latency
percentiles, throughput, the gunicorn processes' RSS and the database's connection count before
and after, and the 1-minute load average, to stdout and ``bench/out/load_bench.json``. Errors
are counted by kind (5xx, other non-200 statuses, timeouts, connection errors). Exit status 1
when any request failed or connections leaked.

    .venv/bin/python bench/load_bench.py [--seconds 60] [--connections 32] [--database bench_load]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
OUT = BASE_DIR / "bench" / "out" / "load_bench.json"
sys.path.insert(0, str(BASE_DIR))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(database: str) -> dict[str, Any]:
    """Demo tenant, a read key, a deal id, and the database URL for gunicorn."""
    from bench.common import database_url

    os.environ["DATABASE_URL"] = database_url(database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from api.services import api_key_create
    from deals.demo_seed import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
    from deals.models import Deal, DealStatus
    from tenants.context import tenant_context
    from tenants.models import Tenant

    # Only the demo data may be missing (the schema was migrated just now).
    if not Tenant.objects.filter(slug="demo").exists():
        call_command("seed_demo")
    tenant = Tenant.objects.get(slug="demo")
    with tenant_context(tenant):
        key = api_key_create(name="load bench", scope="read").plaintext
        deal_id = Deal.objects.filter(status=DealStatus.OPEN).values_list("pk", flat=True).first()
    from salesintel.testing.celery import worker_database_url

    return {
        "email": DEMO_ADMIN_EMAIL,
        "password": DEMO_PASSWORD,
        "key": key,
        "deal_id": deal_id,
        "database_url": worker_database_url(),
        "database_name": settings.DATABASES["default"]["NAME"],
    }


def database_connections(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def gunicorn_rss_mib(master: subprocess.Popen) -> float:
    import psutil

    parent = psutil.Process(master.pid)
    processes = [parent, *parent.children(recursive=True)]
    return sum(process.memory_info().rss for process in processes) / 2**20


def start_gunicorn(port: int, database_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "salesintel.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plenty for 32 connections: the bench measures serving, not the limiter.
        "API_THROTTLE_RATE_KEY": "1000000/min",
        "API_THROTTLE_RATE_USER": "1000000/min",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    log = (BASE_DIR / "bench" / "out" / "load_gunicorn.log").open("wb")
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "salesintel.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "16",
        "--timeout", "120",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_up(url: str, timeout_s: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up; see bench/out/load_gunicorn.log")


def signed_in_cookies(url: str, email: str, password: str) -> Any:
    import requests

    session = requests.Session()
    session.get(f"{url}/login/", timeout=30)
    response = session.post(
        f"{url}/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{url}/login/"},
        timeout=30,
    )
    if "/login/" in response.url:
        raise SystemExit("could not sign in as the demo admin")
    return session.cookies


def run(url: str, setup: dict[str, Any], seconds: float, connections: int) -> dict[str, Any]:
    import requests

    cookies = signed_in_cookies(url, setup["email"], setup["password"])
    deal = setup["deal_id"]
    pages = ["/", "/deals/", f"/deals/{deal}/", "/alerts/", "/reps/", "/segments/", "/deals/export.csv"]
    api = ["/api/v1/deals", f"/api/v1/deals/{deal}", "/api/v1/alerts"]
    plan = [(path, {}) for path in pages] + [
        (path, {"Authorization": f"Bearer {setup['key']}"}) for path in api
    ]
    deadline = time.monotonic() + seconds

    def client(number: int) -> tuple[list[float], list[tuple[str, str]]]:
        latencies: list[float] = []
        errors: list[tuple[str, str]] = []  # (kind, what)
        session = requests.Session()
        session.cookies.update(cookies)
        for path, headers in itertools.islice(itertools.cycle(plan), number % len(plan), None):
            if time.monotonic() > deadline:
                break
            started = time.monotonic()
            try:
                response = session.get(f"{url}{path}", headers=headers, timeout=60, allow_redirects=False)
                if response.status_code >= 500:
                    errors.append(("5xx", f"{path}: {response.status_code}"))
                elif response.status_code != 200:
                    errors.append(("other_status", f"{path}: {response.status_code}"))
            except requests.Timeout as error:
                errors.append(("timeout", f"{path}: {error}"))
            except requests.RequestException as error:
                errors.append(("connection", f"{path}: {error}"))
            latencies.append(time.monotonic() - started)
        return latencies, errors

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        results = list(pool.map(client, range(connections)))
    elapsed = time.monotonic() - started
    latencies = sorted(value for found, _ in results for value in found)
    errors = [error for _, found in results for error in found]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "errors_by_kind": {
            kind: sum(1 for found, _ in errors if found == kind)
            for kind in ("5xx", "other_status", "timeout", "connection")
        },
        "first_errors": [what for _, what in errors[:10]],
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", default="bench_load")
    args = parser.parse_args()

    setup = prepare(args.database)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, setup["database_url"])
    try:
        wait_until_up(url)
        run(url, setup, seconds=3, connections=4)  # warm every worker's imports and caches
        connections_before = database_connections(setup["database_url"])
        rss_before = gunicorn_rss_mib(server)
        result = run(url, setup, seconds=args.seconds, connections=args.connections)
        load_average_1m = os.getloadavg()[0]
        rss_after = gunicorn_rss_mib(server)
        time.sleep(2)  # requests finished; let gunicorn's threads settle
        connections_after = database_connections(setup["database_url"])
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "connections": args.connections,
        **result,
        "rss_mib_before": round(rss_before, 1),
        "rss_mib_after": round(rss_after, 1),
        "db_connections_before": connections_before,
        "db_connections_after": connections_after,
        "load_average_1m": round(load_average_1m, 2),
        "database": setup["database_name"],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    # Each gunicorn thread may keep one persistent connection (CONN_MAX_AGE); more is a leak.
    leaked = connections_after > max(connections_before, 2 * 16 + 2)
    return 1 if report["errors"] or leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
