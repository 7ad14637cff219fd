"""A bounded load smoke: a few seconds of mixed page and API traffic from concurrent clients
against the live server, with zero errors and no leaked database connections.

The long run (60 s at 32 connections against gunicorn) is bench/load_bench.py.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import time
from typing import Any

import psutil
import psycopg
import pytest
import requests

from salesintel.testing.celery import eventually, worker_database_url
from tests.security.tenant_world import tenant_world_build

DURATION_S = 6.0
CLIENTS = 8


def database_connections() -> int:
    with psycopg.connect(worker_database_url(), autocommit=True) as probe:
        row = probe.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def session_for(live_server: Any, email: str, password: str) -> requests.Session:
    session = requests.Session()
    login = f"{live_server.url}/login/"
    session.get(login, timeout=30)
    response = session.post(
        login,
        data={"username": email, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": login},
        timeout=30,
    )
    assert response.ok and "/login/" not in response.url
    return session


@pytest.mark.django_db(transaction=True)
def test_mixed_traffic_from_concurrent_clients_has_no_errors_and_leaks_no_connections(
    live_server, tenant_a, user_a, capsys
):
    world = tenant_world_build(tenant=tenant_a, user=user_a, marker="load")
    deal = world.first("deals.deal")
    pages = ["/", "/deals/", f"/deals/{deal.pk}/", "/alerts/", "/reps/", "/segments/", "/deals/export.csv"]
    api = ["/api/v1/deals", f"/api/v1/deals/{deal.pk}", "/api/v1/alerts", "/api/v1/imports"]
    browser = session_for(live_server, "ada@acme.test", "pw-acme-123")
    key_headers = {"Authorization": f"Bearer {world.api_key_plaintext}"}
    process = psutil.Process(os.getpid())
    rss_before = process.memory_info().rss
    connections_before = database_connections()

    plan = itertools.cycle([(path, "page") for path in pages] + [(path, "api") for path in api])
    deadline = time.monotonic() + DURATION_S

    def client(number: int) -> tuple[int, list[str]]:
        done, errors = 0, []
        session = requests.Session()
        session.cookies.update(browser.cookies)
        for path, kind in itertools.islice(plan, number, None, CLIENTS):
            if time.monotonic() > deadline:
                break
            headers = key_headers if kind == "api" else {}
            response = session.get(f"{live_server.url}{path}", headers=headers, timeout=60)
            done += 1
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code}")
        session.close()
        return done, errors

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    requests_done = sum(done for done, _ in results)
    errors = [error for _, found in results for error in found]
    settled = eventually(lambda: database_connections() <= connections_before + 1, timeout_s=30)
    rss_after = process.memory_info().rss
    with capsys.disabled():
        print(
            f"\nload smoke: {requests_done} requests in {DURATION_S:.0f} s from {CLIENTS} clients, "
            f"{len(errors)} errors; db connections {connections_before} → {database_connections()}; "
            f"RSS {rss_before / 2**20:.0f} → {rss_after / 2**20:.0f} MiB"
        )
    assert errors == []
    assert requests_done >= CLIENTS * 5
    assert settled
