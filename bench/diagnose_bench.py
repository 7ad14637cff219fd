"""Benchmark: ``insights.diagnose`` on one tenant with 1,000,000 deals (target: under 2 s).

Runs against a separate database (default ``bench_insights`` on the embedded server, or
``DATABASE_URL`` when set) so it never touches development data. The first run loads the
demo generator's deals (900,000 closed over eight quarters, 100,000 open) and their stage
history with COPY, then ANALYZEs; later runs reuse them. Prints the timings (and JSON with
``--json``).

    .venv/bin/python bench/diagnose_bench.py [--deals 1000000] [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANCHOR = dt.date(2025, 11, 15)
OPEN_SHARE = 0.10


def _database_url(name: str) -> str:
    """The embedded server's URL for database ``name``, created on first use."""
    from salesintel.devdb import embedded_database_url

    base = embedded_database_url()
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def deal_rows_frame(frame: pd.DataFrame, *, tenant_id: int, rep_ids: dict[str, int]) -> pd.DataFrame:
    """The demo generator's frame as ``deals_deal`` rows, ready for a bulk COPY.

    ``frame`` is ``deals.demo.generate_deals`` output; ``rep_ids`` maps CRM rep ids to Rep pks.
    """
    now = dt.datetime.now(dt.UTC).isoformat()
    return pd.DataFrame(
        {
            "tenant_id": tenant_id,
            "crm_id": frame["deal_id"],
            "name": frame["deal_name"],
            "created_date": frame["created_date"].dt.date,
            "closed_date": frame["closed_date"].dt.date,
            "expected_close_date": frame["expected_close_date"].dt.date,
            "rep_id": frame["sales_rep_id"].map(rep_ids),
            "industry": frame["industry"],
            "region": frame["region"],
            "product_type": frame["product_type"],
            "lead_source": frame["lead_source"],
            "stage": frame["deal_stage"],
            "stage_entered_date": frame["stage_entered_date"].dt.date,
            "amount": frame["deal_amount"],
            "currency": "USD",
            "status": frame["outcome"].map({"Won": "won", "Lost": "lost"}).fillna("open"),
            "sales_cycle_days": frame["sales_cycle_days"],
            "extra": "{}",
            "created_at": now,
            "updated_at": now,
        }
    )


def _copy_frame(cursor: psycopg.Cursor, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """COPY ``frame``'s ``columns`` into ``table`` through a temporary table (other benches use it too).

    PostgreSQL refuses COPY FROM into a table with row-level security; INSERT … SELECT from
    an unprotected temporary copy still passes the policy's WITH CHECK.
    """
    buffer = io.StringIO()
    frame[columns].to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    column_list = ", ".join(columns)
    cursor.execute(
        f"CREATE TEMP TABLE bench_load ON COMMIT DROP AS SELECT {column_list} FROM {table} LIMIT 0"
    )
    with cursor.copy("COPY bench_load FROM STDIN WITH (FORMAT csv, NULL '\\N')") as copy:
        while chunk := buffer.read(8 << 20):
            copy.write(chunk)
    cursor.execute(f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM bench_load")
    cursor.execute("DROP TABLE bench_load")


def load(*, tenant_id: int, deals_total: int) -> None:
    """Replace the tenant's deals with the demo generator's, via COPY (seconds, not minutes)."""
    from django.db import connection

    from deals.demo import generate_deals, generate_stage_history
    from deals.models import Deal, DealStageChange, Rep

    n_open = int(deals_total * OPEN_SHARE)
    frame = generate_deals(seed=11, anchor=ANCHOR, n_closed=deals_total - n_open, n_open=n_open)
    DealStageChange.objects.all().delete()
    Deal.objects.all().delete()
    Rep.objects.all().delete()
    reps = Rep.objects.bulk_create(
        [Rep(tenant_id=tenant_id, crm_id=crm_id) for crm_id in sorted(frame["sales_rep_id"].unique())]
    )
    rep_ids = {rep.crm_id: rep.pk for rep in reps}
    now = dt.datetime.now(dt.UTC).isoformat()
    deals = deal_rows_frame(frame, tenant_id=tenant_id, rep_ids=rep_ids)
    with connection.cursor() as cursor:
        _copy_frame(cursor.cursor, "deals_deal", list(deals.columns), deals)
        cursor.execute("SELECT crm_id, id FROM deals_deal WHERE tenant_id = %s", [tenant_id])
        ids = dict(cursor.fetchall())
        history = generate_stage_history(frame)
        changes = pd.DataFrame(
            {
                "tenant_id": tenant_id,
                "deal_id": history["deal_id"].map(ids),
                "from_stage": history["from_stage"],
                "to_stage": history["to_stage"],
                "changed_on": history["changed_on"].dt.date,
                "source": "bench",
                "recorded_at": now,
            }
        )
        _copy_frame(cursor.cursor, "deals_dealstagechange", list(changes.columns), changes)


def vacuum() -> None:
    """VACUUM ANALYZE the loaded tables, as autovacuum would soon after a bulk load.

    Sets hint bits and the visibility map (index-only scans need it) and fresh statistics, so
    the timings reflect a settled database rather than the first reads after a load.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) deals_deal")
        cursor.execute("VACUUM (ANALYZE) deals_dealstagechange")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", default="bench_insights")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _database_url(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    from deals.models import Deal
    from insights.services import diagnose
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    call_command("migrate", verbosity=0)
    tenant = tenant_create(slug=f"bench-{args.deals}", name=f"Bench {args.deals:,} deals")
    with tenant_context(tenant):
        if Deal.objects.count() != args.deals:
            started = time.perf_counter()
            load(tenant_id=tenant.pk, deals_total=args.deals)
            print(f"loaded {args.deals:,} deals in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            loaded = True
        else:
            loaded = False
    if loaded:
        vacuum()

    as_of = dt.date(ANCHOR.year, (ANCHOR.month - 1) // 3 * 3 + 1, 1)
    diagnose(tenant=tenant, as_of=as_of)  # warm caches and connections
    timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        document = diagnose(tenant=tenant, as_of=as_of)
        timings.append(time.perf_counter() - started)
    result = {
        "benchmark": "insights.diagnose",
        "deals": args.deals,
        "closed_in_compared_periods": document["win_rate"]["current"]["n"]
        + document["win_rate"]["baseline"]["n"],
        "runs": args.runs,
        "median_s": round(statistics.median(timings), 3),
        "max_s": round(max(timings), 3),
        "min_s": round(min(timings), 3),
        "target_s": 2.0,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"diagnose on {args.deals:,} deals: median {result['median_s']} s, "
            f"min {result['min_s']} s, max {result['max_s']} s over {args.runs} runs (target 2 s)"
        )


if __name__ == "__main__":
    main()
