"""Benchmark: HTTP under load — ``wrk`` against gunicorn (2 sync workers) on loopback.

Three endpoints of the diagnose bench's tenant (``--deals`` of the demo generator's deals, 90%
closed with stage history, 10% open and every open deal scored), each for ``--seconds`` at
``--connections`` connections:

* ``GET /deals/`` — the risk board's first page, signed in (session cookie);
* ``GET /api/v1/deals`` — the API deal list's first page (API key);
* ``GET /api/v1/deals/<id>`` — one deal (API key);

plus ``GET /healthz`` (one ``SELECT 1``, no session) as the floor of gunicorn + Django on this
machine. Reports requests/s, p50/p95/p99 latency and every error wrk counts (connect, read,
write, timeout, and any status other than 2xx/3xx). Each endpoint is fetched once before the
load, and anything but a 200 with the expected content aborts the run, so a redirect to the
sign-in page can never pass as a fast risk board.

The server runs with ``DEBUG=0`` (static files from ``collectstatic``'s manifest) and a per-key
API rate limit far above what the run sends: this measures the API, not its refusals. wrk, the
two workers and PostgreSQL share the machine's cores.

Runs against a separate database (default ``bench_http`` on the embedded server, or
``DATABASE_URL`` when set); loads and scores the tenant on first use.

    .venv/bin/python bench/http_bench.py [--deals 1000000] [--seconds 60] [--connections 32] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import OUT, database_url, load_average  # noqa: E402

EMAIL = "bench-http@example.com"
KEY_NAME = "bench-http"
# API rate limit for the server under test: far above anything one run can send.
UNTHROTTLED = "100000000/min"

# wrk reports through this script: one JSON line with the percentiles wrk's own summary lacks (p95).
WRK_REPORT_LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "mean_us": %.1f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
    .. '"status_errors": %d, "timeouts": %d}\\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout))
end
"""


@dataclass(frozen=True)
class Endpoint:
    """One URL under load, the header that signs it in, and text its 200 response must contain."""

    label: str
    path: str
    header: str
    expect: str


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    import django

    django.setup()


def tenant_prepare(*, deals: int) -> Any:
    """The diagnose bench's tenant with ``deals`` deals, every open deal scored (loaded when missing).

    Scores come from the web risk-board bench's SQL (random probabilities, one model version):
    the page's cost, not its truth, without training a model on 900,000 closed deals.
    """
    import diagnose_bench
    import risk_board_bench

    from deals.models import Deal
    from scoring.models import CurrentScore
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    tenant = tenant_create(slug=f"bench-{deals}", name=f"Bench {deals:,} deals")
    with tenant_context(tenant):
        loaded = Deal.objects.count() != deals
        if loaded:
            started = time.perf_counter()
            diagnose_bench.load(tenant_id=tenant.pk, deals_total=deals)
            print(f"loaded {deals:,} deals in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        if CurrentScore.objects.count() != Deal.objects.filter(status="open").count():
            started = time.perf_counter()
            scored = risk_board_bench.score_open_deals(tenant_id=tenant.pk)
            print(f"scored {scored:,} open deals in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if loaded:
        diagnose_bench.vacuum()
    return tenant


def credentials(*, tenant: Any) -> tuple[str, str, int]:
    """A signed-in session cookie, a fresh read API key, and an open deal's id for ``tenant``."""
    from django.conf import settings
    from django.test import Client

    from api.models import ApiKey
    from api.services import api_key_create
    from deals.models import Deal
    from tenants.context import tenant_context
    from tenants.models import Role
    from tenants.services import membership_grant, user_ensure

    user = user_ensure(email=EMAIL, password=None)
    membership_grant(tenant=tenant, user=user, role=Role.VIEWER)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with tenant_context(tenant):
        ApiKey.objects.filter(name=KEY_NAME).delete()
        key = api_key_create(name=KEY_NAME, scope="read").plaintext
        deal_id = Deal.objects.filter(status="open").order_by("id").values_list("id", flat=True).first()
    assert deal_id is not None, "the tenant has no open deal"
    return session, key, deal_id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def static_files_current() -> bool:
    """Whether collectstatic's manifest is newer than every static file it would collect."""
    from django.conf import settings
    from django.contrib.staticfiles import finders

    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            if Path(storage.path(path)).stat().st_mtime > built:
                return False
    return True


def server_start(*, workers: int, database: str) -> tuple[subprocess.Popen[bytes], str]:
    """collectstatic, then gunicorn on a free loopback port; returns the process and base URL."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DEBUG": "0",
        "API_THROTTLE_RATE_KEY": UNTHROTTLED,
        "API_THROTTLE_RATE_USER": UNTHROTTLED,
    }
    python = str(Path(sys.executable))
    subprocess.run([python, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = (OUT / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [
            gunicorn,
            "salesintel.wsgi:application",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {OUT / 'gunicorn.log'}")
        try:
            # base is the loopback http:// URL built above, never user input.
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return server, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    server_stop(server)
    raise RuntimeError("gunicorn did not answer /healthz within 120 s")


def server_stop(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers (its own process group, started by us)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def endpoint_check(base: str, endpoint: Endpoint) -> None:
    """One request: a 200 whose body contains ``endpoint.expect``, else RuntimeError."""
    name, _, value = endpoint.header.partition(": ")
    request = urllib.request.Request(  # noqa: S310 (loopback http:// URL built by server_start)
        base + endpoint.path, headers={name: value} if name else {}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=120) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, body = error.code, ""
    if status != 200 or endpoint.expect not in body:
        raise RuntimeError(
            f"{endpoint.label}: {base + endpoint.path} answered {status}, not the page expected"
        )


def wrk_path() -> str:
    """wrk's path, installing Debian's package first when it is missing and we may (root, apt)."""
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise RuntimeError("wrk is not installed: run 'sudo apt-get install -y wrk' (Debian package)")
    print("installing Debian's wrk for the HTTP benchmark…", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run([apt, "update", "-qq"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return wrk


def wrk_run(
    base: str, endpoint: Endpoint, *, seconds: int, connections: int, threads: int = 2
) -> dict[str, Any]:
    """Load ``endpoint`` with wrk; requests/s, latency percentiles (ms) and error counts."""
    wrk = wrk_path()
    script = OUT / "wrk_report.lua"
    script.write_text(WRK_REPORT_LUA)
    command = [
        wrk,
        f"--threads={min(threads, connections)}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=60s",
        f"--script={script}",
    ]
    if endpoint.header:
        command += ["--header", endpoint.header]
    output = subprocess.run(
        [*command, base + endpoint.path], capture_output=True, text=True, check=True, timeout=seconds + 120
    ).stdout
    report = json.loads(output.strip().splitlines()[-1])
    errors = sum(
        report[name]
        for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return {
        "requests": report["requests"],
        "requests_per_s": round(report["requests"] / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 1),
        "p95_ms": round(report["p95_us"] / 1000, 1),
        "p99_ms": round(report["p99_us"] / 1000, 1),
        "max_ms": round(report["max_us"] / 1000, 1),
        "errors": errors,
        "error_kinds": {
            name: report[name]
            for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
            if report[name]
        },
        "mean_response_kb": round(report["bytes"] / max(report["requests"], 1) / 1024, 1),
    }


def measure(*, deals: int, seconds: int, connections: int, workers: int = 2) -> dict[str, Any]:
    """Prepare the tenant, start gunicorn, and load each endpoint in turn (Django already set up)."""
    from django.db import connection

    tenant = tenant_prepare(deals=deals)
    session, key, deal_id = credentials(tenant=tenant)
    from django.conf import settings

    bearer = f"Authorization: Bearer {key}"
    endpoints = [
        Endpoint("healthz (SELECT 1, no session)", "/healthz", "", "ok"),
        Endpoint(
            "risk board, first page (session)",
            "/deals/",
            f"Cookie: {settings.SESSION_COOKIE_NAME}={session}",
            "Win prob.",
        ),
        Endpoint("API deal list, first page (key)", "/api/v1/deals", bearer, '"results"'),
        Endpoint("API deal detail (key)", f"/api/v1/deals/{deal_id}", bearer, f'"id":{deal_id}'),
    ]
    database = str(connection.settings_dict.get("NAME"))
    url = os.environ["DATABASE_URL"]
    connection.close()
    started = time.perf_counter()
    server, base = server_start(workers=workers, database=url)
    print(f"gunicorn answering after {time.perf_counter() - started:.1f} s", file=sys.stderr)
    results: dict[str, Any] = {}
    try:
        for endpoint in endpoints:
            endpoint_started = time.perf_counter()
            # Concurrent first requests, so every worker has its connection, templates and cached
            # menus before any timing (a worker's first risk board builds the filter menus).
            with ThreadPoolExecutor(max_workers=2 * workers) as pool:
                list(pool.map(endpoint_check, [base] * 2 * workers, [endpoint] * 2 * workers))
            wrk_run(base, endpoint, seconds=2 if seconds >= 10 else 1, connections=connections)
            results[endpoint.label] = {
                "path": endpoint.path.replace(str(deal_id), "<id>"),
                **wrk_run(base, endpoint, seconds=seconds, connections=connections),
                "load_average_1m_after": load_average()[0],
            }
            print(f"{endpoint.label}: {time.perf_counter() - endpoint_started:.1f} s", file=sys.stderr)
    finally:
        server_stop(server)
    return {
        "benchmark": "http",
        "database": database,
        "tenant": tenant.slug,
        "deals": deals,
        "gunicorn_workers": workers,
        "connections": connections,
        "seconds_each": seconds,
        "endpoints": results,
        "errors": sum(result["errors"] for result in results.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", default="bench_http")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = database_url(args.database)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    result = measure(
        deals=args.deals,
        seconds=args.seconds,
        connections=args.connections,
        workers=args.workers,
    )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.deals:,} deals, gunicorn {args.workers} workers, {args.connections} connections, "
        f"{args.seconds} s each"
    )
    for label, run in result["endpoints"].items():
        print(
            f"  {label}: {run['requests_per_s']} req/s, p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
            f"p99 {run['p99_ms']} ms, errors {run['errors']} {run['error_kinds'] or ''}"
        )


if __name__ == "__main__":
    main()
