"""Benchmark: the headline queries of one tenant, alone in its database vs among 200 tenants.

Two databases on the bench server: ``<database>_1`` holds one tenant with ``--deals-per-tenant``
deals, ``<database>_<tenants>`` holds ``--tenants`` tenants with as many deals each (the first
run loads them with the demo generator and COPY; later runs reuse them). Every tenant gets the
same generated deals (the diagnose bench's loader), so every tenant's queries do the same work
and only the size of the shared tables differs.

The headline operations, each timed in the tenant's context as the app runs them:

* ``diagnose`` (insights.services.diagnose, the whole document);
* the hand-written headline query (common.HEADLINE_SQL, win rates of the compared periods);
* the risk board's first page (web.selectors.risk_board_page, unfiltered);
* the API deal list's first page (``GET /api/v1/deals`` through Django's test client, API key).

Rounds alternate between the two databases (one call of each operation on the lone tenant,
then on the next sampled tenant of the 200), so a change of machine load hits both sides
alike. Reported: medians per operation on each side and their ratio (target: the ratio does not
grow, i.e. ≤ 1.5 on a shared machine), plus an EXPLAIN (ANALYZE, BUFFERS) of every statement an
operation issues on the 200-tenant side, summarised to the indexes it reads, their first
column, and any sequential scan of a tenant-owned table reading more than 1,000 rows.

    .venv/bin/python bench/tenants_bench.py [--tenants 200] [--deals-per-tenant 5000] [--rounds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    ANCHOR,
    HEADLINE_SQL,
    database_url,
    foreign_key_columns,
    headline_params,
    indexes_describe,
    median,
    percentile,
    plan_summarise,
)

RATIO_TARGET = 1.5
# A sequential scan of a tenant-owned table that reads more rows than this reads other tenants'
# rows too (its cost grows with the tenants); below it, a scan of a small table is the cheap plan.
SEQ_SCAN_ROWS_ALLOWED = 1_000
SLUG_PREFIX = "bench-tenant"
KEY_NAME = "bench-tenants"


def use_database(url: str) -> None:
    """Point Django's default connection at ``url`` (closing the current one) and forget caches."""
    import dj_database_url
    from django.contrib.contenttypes.models import ContentType
    from django.core.cache import cache
    from django.db import connection

    connection.close()
    parsed = dj_database_url.parse(url)
    for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        connection.settings_dict[key] = parsed[key]  # type: ignore[literal-required]
    cache.clear()
    ContentType.objects.clear_cache()


def tenants_ensure(*, count: int, deals_per_tenant: int) -> list[Any]:
    """``count`` tenants with ``deals_per_tenant`` deals each in the current database."""
    import diagnose_bench

    from deals.models import Deal
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    tenants = []
    loaded = 0
    started = time.perf_counter()
    for number in range(1, count + 1):
        tenant = tenant_create(slug=f"{SLUG_PREFIX}-{number:03d}", name=f"Bench tenant {number}")
        with tenant_context(tenant):
            if Deal.objects.count() != deals_per_tenant:
                diagnose_bench.load(tenant_id=tenant.pk, deals_total=deals_per_tenant)
                loaded += 1
        tenants.append(tenant)
    if loaded:
        diagnose_bench.vacuum()
        print(
            f"loaded {loaded} tenants × {deals_per_tenant:,} deals in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return tenants


def operations(tenant: Any) -> dict[str, Callable[[], object]]:
    """The headline operations for ``tenant``, each a call that runs in the tenant's context."""
    from django.db import connection
    from django.test import Client

    from api.models import ApiKey
    from api.services import api_key_create
    from insights.periods import PeriodKind, periods_compared
    from insights.services import diagnose
    from tenants.context import tenant_context
    from web.forms import RiskBoardFilterForm
    from web.selectors import risk_board_page

    as_of = ANCHOR.replace(month=(ANCHOR.month - 1) // 3 * 3 + 1, day=1)
    compared = periods_compared(as_of=as_of, kind=PeriodKind.QUARTER)
    ranges = [
        (period.start, period.end) for period in (compared.current, compared.previous, compared.year_ago)
    ]
    with tenant_context(tenant):
        ApiKey.objects.filter(name=KEY_NAME).delete()
        key = api_key_create(name=KEY_NAME, scope="read").plaintext
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def headline() -> object:
        with tenant_context(tenant), connection.cursor() as cursor:
            cursor.execute(HEADLINE_SQL, headline_params(tenant_id=tenant.pk, ranges=ranges))
            return cursor.fetchall()

    def board() -> object:
        with tenant_context(tenant):
            return risk_board_page(filters=RiskBoardFilterForm({}).filters(), today=ANCHOR)

    def deal_list() -> object:
        response = client.get("/api/v1/deals")
        assert response.status_code == 200, response.content[:300]
        return response

    return {
        "diagnose": lambda: diagnose(tenant=tenant, as_of=as_of),
        "headline SQL": headline,
        "risk board first page": board,
        "API deal list first page": deal_list,
    }


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def plans(*, tenant: Any, calls: dict[str, Callable[[], object]]) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT each operation issues, summarised.

    Each index read on a tenant-owned table is judged by the rule of
    tests/scaling/test_tenant_leading_keys.py: it leads with tenant_id, or is keyed by a
    globally unique id, or is a listed exception; ``unscoped_indexes`` lists any other.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.context import tenant_context
    from tenants.rls import tenant_owned_models
    from tests.scaling.test_tenant_leading_keys import index_exception_reason

    tenant_tables = {model._meta.db_table for model in tenant_owned_models()}
    summary: dict[str, Any] = {}
    for label, call in calls.items():
        with CaptureQueriesContext(connection) as captured:
            call()
        statements = [
            query["sql"]
            for query in captured.captured_queries
            if query["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
            and "set_config" not in query["sql"]
            and any(table in query["sql"] for table in tenant_tables)
        ]
        used: dict[str, str] = {}
        unscoped: list[str] = []
        seq_scans: list[list[Any]] = []
        buffers = 0
        with tenant_context(tenant), connection.cursor() as cursor:
            keys = foreign_key_columns(cursor, tenant_tables)
            for sql in statements:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = plan_summarise(row[0] for row in cursor.fetchall())
                buffers += plan.top_buffers
                seq_scans += [
                    [table, rows]
                    for table, rows in plan.seq_scans
                    if table in tenant_tables and rows > SEQ_SCAN_ROWS_ALLOWED
                ]
                for name, index in indexes_describe(cursor, plan.indexes).items():
                    if index.table not in tenant_tables:
                        continue
                    used[name] = ",".join(index.columns)
                    if index_exception_reason(index.table, index.columns, keys) is None:
                        unscoped.append(name)
        summary[label] = {
            "statements": len(statements),
            "indexes": used,
            "unscoped_indexes": sorted(set(unscoped)),
            "seq_scans_of_tenant_tables": seq_scans,
            "shared_buffers_touched": buffers,
        }
    return summary


def measure(*, tenants: int, deals_per_tenant: int, rounds: int, database: str) -> dict[str, Any]:
    """Load (when missing) and time both sides; Django is set up, any database may be current."""
    from django.core.management import call_command

    sides: dict[str, dict[str, Any]] = {}
    for count in (1, tenants):
        url = database_url(f"{database}_{count}")
        use_database(url)
        call_command("migrate", verbosity=0)
        loaded = tenants_ensure(count=count, deals_per_tenant=deals_per_tenant)
        rows = count * deals_per_tenant  # tenants_ensure checked every tenant's count
        # Sample tenants spread over the load order (first and last included).
        step = max(1, (len(loaded) - 1) // max(1, rounds - 1))
        sample = loaded[::step][:rounds] if count > 1 else loaded
        sides[str(count)] = {"url": url, "sample": sample, "deals_in_table": rows}

    samples: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    prepared: dict[str, list[dict[str, Callable[[], object]]]] = {}
    for side, info in sides.items():
        use_database(info["url"])
        prepared[side] = [operations(tenant) for tenant in info["sample"]]
        for calls in prepared[side]:
            for call in calls.values():
                call()  # warm: connection, caches, the API key's first use
    for round_number in range(rounds):
        for side in sides:
            use_database(sides[side]["url"])
            calls = prepared[side][round_number % len(prepared[side])]
            for label, call in calls.items():
                samples[side].setdefault(label, []).append(timed(call))

    use_database(sides[str(tenants)]["url"])
    explained = plans(tenant=sides[str(tenants)]["sample"][-1], calls=prepared[str(tenants)][-1])
    results = {}
    for label in samples["1"]:
        alone, shared = samples["1"][label], samples[str(tenants)][label]
        ratio = median(shared) / median(alone)
        results[label] = {
            "one_tenant_median_ms": round(median(alone), 1),
            "one_tenant_p95_ms": round(percentile(alone, 0.95), 1),
            f"{tenants}_tenants_median_ms": round(median(shared), 1),
            f"{tenants}_tenants_p95_ms": round(percentile(shared, 0.95), 1),
            "ratio": round(ratio, 2),
            "met": ratio <= RATIO_TARGET
            and not explained[label]["unscoped_indexes"]
            and not explained[label]["seq_scans_of_tenant_tables"],
            "plan": explained[label],
        }
    return {
        "benchmark": "tenants",
        "tenants": tenants,
        "deals_per_tenant": deals_per_tenant,
        "deals_in_table": {side: info["deals_in_table"] for side, info in sides.items()},
        "rounds": rounds,
        "sampled_tenants": len(sides[str(tenants)]["sample"]),
        "ratio_target": RATIO_TARGET,
        "operations": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--deals-per-tenant", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", default="bench_tenants", help="prefix of the two databases")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    os.environ.setdefault("API_THROTTLE_RATE_KEY", "100000000/min")
    # Settings need a database URL; measure() points the connection at its own databases.
    os.environ.setdefault("DATABASE_URL", database_url(f"{args.database}_1"))
    import django

    django.setup()
    result = measure(
        tenants=args.tenants,
        deals_per_tenant=args.deals_per_tenant,
        rounds=args.rounds,
        database=args.database,
    )
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.deals_per_tenant:,} deals per tenant; 1 tenant vs {args.tenants} tenants "
        f"({result['deals_in_table']} deals in the table), {args.rounds} rounds"
    )
    for label, figures in result["operations"].items():
        plan = figures["plan"]
        print(
            f"  {label}: {figures['one_tenant_median_ms']} ms alone, "
            f"{figures[f'{args.tenants}_tenants_median_ms']} ms among {args.tenants} "
            f"(x{figures['ratio']}); indexes {plan['indexes']}; "
            f"seq scans {plan['seq_scans_of_tenant_tables']}"
        )


if __name__ == "__main__":
    main()
