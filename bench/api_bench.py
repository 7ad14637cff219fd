"""Benchmark: the REST API's bulk upsert of 10,000 deals and the deal list at 1,000,000 deals.

Targets (issue 7): a bulk upsert of 10,000 deals in under 5 s; ``GET /api/v1/deals`` p95 under
100 ms with 1,000,000 deals in the tenant. Every call goes through the whole Django stack
in-process (middleware, key lookup, throttle, JSON), without a network hop. Runs against a
separate database (default ``bench_api`` on the embedded server, or ``DATABASE_URL`` when set).

1. bulk upsert, three times: 10,000 new deals, the same again (unchanged), all amounts changed;
2. fills the tenant to 1,000,000 deals with one set-based INSERT (skipped when already there);
3. times ``--requests`` calls of each list query (first pages, filtered, sorted, and walking
   50 pages deep with the cursor) and reports p50 / p95 / max.

    .venv/bin/python bench/api_bench.py [--deals 1000000] [--requests 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench-api"
LIST_QUERIES: dict[str, dict[str, Any]] = {
    "first page (crm_id order)": {},
    "open deals in one region": {"status": "open", "region": "Europe"},
    "recently updated first": {"ordering": "-updated_at"},
    "amount range": {"amount_min": 40000, "amount_max": 60000},
    "one rep, won": {"rep": "rep_7", "status": "won"},
}


def _database_url(name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from salesintel.devdb import embedded_database_url

    base = embedded_database_url()
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def _setup_django(database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    # Measure the API, not the rate limiter's refusals.
    os.environ.setdefault("API_THROTTLE_RATE_KEY", "1000000/min")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _database_url(database)
    import django

    django.setup()


def _client(key: str) -> Any:
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def bulk_items(count: int, *, amount: int, prefix: str = "BULK") -> list[dict[str, Any]]:
    stages = ["Qualified", "Demo", "Proposal", "Negotiation"]
    return [
        {
            "crm_id": f"{prefix}-{index:06d}",
            "name": f"Bulk deal {index}",
            "created_date": "2024-03-01",
            "stage": stages[index % 4],
            "amount": str(amount + index % 1000),
            "rep_crm_id": f"rep_{index % 25}",
            "industry": ["SaaS", "FinTech", "EdTech"][index % 3],
            "region": ["Europe", "APAC", "North America", "India"][index % 4],
            "product_type": "Core",
            "lead_source": "Referral",
        }
        for index in range(count)
    ]


def time_bulk(client: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"deals": items})
    started = time.perf_counter()
    response = client.post("/api/v1/deals/bulk", body, content_type="application/json")
    seconds = time.perf_counter() - started
    result = response.json()
    assert response.status_code == 200, result
    return {"seconds": round(seconds, 2), "body_mb": round(len(body) / 1024 / 1024, 1), **result}


def fill(tenant_id: int, target: int) -> int:
    """Insert synthetic deals until the tenant has ``target``; returns the count."""
    from django.db import connection

    from deals.models import Deal, Rep
    from tenants.context import tenant_context

    with tenant_context(tenant_id):
        have = Deal.objects.count()
        if have >= target:
            return have
        reps = [
            Rep.objects.get_or_create(crm_id=f"rep_{n}", defaults={"name": f"Rep {n}"})[0] for n in range(25)
        ]
        rep_ids = "ARRAY[" + ",".join(str(rep.pk) for rep in reps) + "]::bigint[]"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO deals_deal (tenant_id, crm_id, name, created_date, closed_date,
                    expected_close_date, rep_id, industry, region, product_type, lead_source, stage,
                    stage_entered_date, amount, currency, status, sales_cycle_days, extra,
                    created_at, updated_at)
                SELECT %(tenant)s, 'FILL-' || lpad(n::text, 7, '0'), 'Deal ' || n,
                    DATE '2022-01-01' + (n %% 900),
                    CASE WHEN n %% 10 < 6 THEN DATE '2022-01-01' + (n %% 900) + 40 END,
                    NULL, ({rep_ids})[1 + n %% 25],
                    (ARRAY['SaaS','FinTech','EdTech','HealthTech','Ecommerce'])[1 + n %% 5],
                    (ARRAY['Europe','APAC','North America','India'])[1 + (n / 5) %% 4],
                    (ARRAY['Core','Pro','Enterprise'])[1 + n %% 3],
                    (ARRAY['Referral','Inbound','Partner','Outbound'])[1 + (n / 3) %% 4],
                    (ARRAY['Qualified','Demo','Proposal','Negotiation','Closed'])[1 + n %% 5], NULL,
                    1000 + (n::bigint * 7919) %% 99000, 'USD',
                    CASE WHEN n %% 10 < 3 THEN 'won' WHEN n %% 10 < 6 THEN 'lost' ELSE 'open' END,
                    CASE WHEN n %% 10 < 6 THEN 40 END, '{{}}'::jsonb,
                    now() - make_interval(secs => n), now() - make_interval(secs => n)
                FROM generate_series(%(start)s, %(stop)s) AS n
                """,
                {"tenant": tenant_id, "start": have + 1, "stop": target},
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE deals_deal")
    return target


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(p95 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def time_list(client: Any, query: dict[str, Any], requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/api/v1/deals", query)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
    return percentiles(samples)


def time_cursor_walk(client: Any, pages: int) -> dict[str, float]:
    samples = []
    url, query = "/api/v1/deals", {"ordering": "-updated_at"}
    for _ in range(pages):
        started = time.perf_counter()
        response = client.get(url, query)
        samples.append(time.perf_counter() - started)
        url, query = response.json()["next"], {}
    return percentiles(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database", default="bench_api")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    _setup_django(args.database)

    from django.core.management import call_command
    from django.db import connection

    from api.models import ApiKey
    from api.services import api_key_create
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    call_command("migrate", verbosity=0)
    tenant = tenant_create(slug=SLUG, name="API benchmark")
    with tenant_context(tenant):
        ApiKey.objects.all().delete()
        key = api_key_create(name="bench", scope="write").plaintext
        with connection.cursor() as cursor:
            # Bulk upserts start from no BULK-* deals, so "created" means 10,000 new rows.
            cursor.execute(
                "DELETE FROM deals_dealstagechange WHERE tenant_id = %s AND deal_id IN "
                "(SELECT id FROM deals_deal WHERE tenant_id = %s AND crm_id LIKE 'BULK-%%')",
                [tenant.pk, tenant.pk],
            )
            cursor.execute(
                "DELETE FROM deals_deal WHERE tenant_id = %s AND crm_id LIKE 'BULK-%%'", [tenant.pk]
            )
    client = _client(key)
    # A web process has its modules loaded and connection open; pay that once, untimed.
    time_bulk(client, bulk_items(10, amount=1, prefix="BULK-WARM"))

    bulk = {
        "new": time_bulk(client, bulk_items(10_000, amount=5_000)),
        "unchanged": time_bulk(client, bulk_items(10_000, amount=5_000)),
        "all_updated": time_bulk(client, bulk_items(10_000, amount=7_000)),
    }
    total = fill(tenant.pk, args.deals)
    client.get("/api/v1/deals")  # warm the connection and caches once
    lists = {label: time_list(client, query, args.requests) for label, query in LIST_QUERIES.items()}
    lists["cursor walk, 50 pages by -updated_at"] = time_cursor_walk(client, 50)
    result = {
        "bulk_upsert_10000": bulk,
        "deals_in_tenant": total,
        "list_requests_each": args.requests,
        "list": lists,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for label, run in bulk.items():
        print(f"bulk upsert 10,000 ({label}): {run['seconds']} s, body {run['body_mb']} MB, {run}")
    print(f"GET /api/v1/deals with {total:,} deals in the tenant, {args.requests} calls each:")
    for label, stats in lists.items():
        print(f"  {label}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms, max {stats['max_ms']} ms")
    print(f"(1-minute load average at the end: {result['load_average_1m']})")


if __name__ == "__main__":
    main()
