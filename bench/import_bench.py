"""Benchmark: importing a 1,000,000-row CSV (standard schema) against a raw COPY of the same file.

Target: ``deals_import_file`` within 3x a raw ``COPY`` of the file into a bare table of text
columns, with memory flat in file size. Runs against a separate database (default
``bench_import`` on the embedded server, or ``DATABASE_URL`` when set).

1. generates ``bench/out/import_<rows>.csv`` (numpy, seeded; skipped when it exists);
2. times a raw COPY of it into a bare table (no indexes, no constraints);
3. in a child process per run (so peak RSS is the import's own): imports it into an empty
   tenant (all created), imports it again (all unchanged), and imports a file a tenth the
   size (to show peak memory does not grow with the file).

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

STAGES = ["Qualified", "Demo", "Proposal", "Negotiation", "Closed"]


def generate(path: Path, rows: int, *, seed: int = 7) -> None:
    """Write ``rows`` deals in the standard schema (10% open: empty outcome and close date)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    created = np.datetime64("2023-01-01") + rng.integers(0, 450, rows).astype("timedelta64[D]")
    cycle = rng.integers(5, 200, rows)
    is_open = rng.random(rows) < 0.10
    won = rng.random(rows) < 0.45
    closed = (created + cycle.astype("timedelta64[D]")).astype(str)
    frame = pd.DataFrame(
        {
            "deal_id": np.char.add("D", np.arange(1, rows + 1).astype(str)),
            "created_date": created.astype(str),
            "closed_date": np.where(is_open, "", closed),
            "sales_rep_id": np.char.add("rep_", rng.integers(1, 26, rows).astype(str)),
            "industry": rng.choice(["SaaS", "HealthTech", "FinTech", "EdTech", "Ecommerce"], rows),
            "region": rng.choice(["North America", "India", "APAC", "Europe"], rows),
            "product_type": rng.choice(["Enterprise", "Core", "Pro"], rows),
            "lead_source": rng.choice(["Referral", "Inbound", "Partner", "Outbound"], rows),
            "deal_stage": rng.choice(STAGES, rows),
            "deal_amount": rng.integers(1_000, 100_000, rows),
            "sales_cycle_days": np.where(is_open, "", cycle.astype(str)),
            "outcome": np.where(is_open, "", np.where(won, "Won", "Lost")),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


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
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _database_url(database)
    import django

    django.setup()


def raw_copy_seconds(path: Path) -> float:
    """COPY the file into a bare table of text columns (the floor any import is measured against)."""
    from django.db import connection, transaction

    header = path.open(encoding="utf-8").readline().strip().split(",")
    columns = ", ".join(f"{name} text" for name in header)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy")
        cursor.execute(f"CREATE TABLE bench_raw_copy ({columns})")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        path.open("rb") as file,
        cursor.copy("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)") as copy,
    ):
        while block := file.read(1 << 20):
            copy.write(block)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw_copy")
    return seconds


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child_import(path: Path, slug: str, fresh: bool) -> dict[str, object]:
    """Import ``path`` into tenant ``slug`` (emptied first when ``fresh``); report time and RSS."""
    from common import statement_profile
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deals.services import deals_import_file
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    tenant = tenant_create(slug=slug, name=slug)
    if fresh:
        with tenant_context(tenant), connection.cursor() as cursor:
            for table in ("deals_dealstagechange", "deals_deal", "deals_rep", "deals_importrun"):
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE deals_deal")
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    # Statement times (the COMMIT too: Django logs it), to tell the database's share from ours.
    with CaptureQueriesContext(connection) as captured, tenant_context(tenant):
        run = deals_import_file(file=path)
    seconds = time.perf_counter() - started
    statements = [query for query in captured.captured_queries if "set_config" not in query["sql"]]
    return {
        "seconds": round(seconds, 2),
        "status": run.status,
        "rows": run.rows_read,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "errors": run.errors[:3],
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_import_mb": rss_before,
        "statements_s": round(sum(float(query["time"]) for query in statements), 2),
        "statement_profile": statement_profile(statements, top=5),
    }


def _run_child(path: Path, slug: str, *, fresh: bool, database: str) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", str(path), "--slug", slug, "--database", database]
    if fresh:
        command.append("--fresh")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_import")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--slug", default="bench-import", help=argparse.SUPPRESS)
    parser.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    _setup_django(args.database)
    if args.child:
        print(json.dumps(child_import(args.child, args.slug, args.fresh)))
        return

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    big = OUT / f"import_{args.rows}.csv"
    small = OUT / f"import_{args.rows // 10}.csv"
    for path, rows in ((big, args.rows), (small, args.rows // 10)):
        if not path.exists():
            generate(path, rows)
    raw = raw_copy_seconds(big)
    first = _run_child(big, "bench-import", fresh=True, database=args.database)
    again = _run_child(big, "bench-import", fresh=False, database=args.database)
    tenth = _run_child(small, "bench-import-small", fresh=True, database=args.database)
    result = {
        "rows": args.rows,
        "file_mb": round(big.stat().st_size / 1024 / 1024, 1),
        "raw_copy_seconds": round(raw, 2),
        "import_all_created": first,
        "import_all_unchanged": again,
        "import_tenth_size": tenth,
        "ratio_import_to_raw_copy": round(float(first["seconds"]) / raw, 1),  # type: ignore[arg-type]
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.rows:,} rows, {result['file_mb']} MB")
    print(f"raw COPY into a bare table: {raw:.2f} s")
    for label, run in (("import (all created)", first), ("re-import (all unchanged)", again)):
        print(f"{label}: {run['seconds']} s, peak RSS {run['peak_rss_mb']} MB, {run}")
    print(f"import of a file a tenth the size: {tenth['seconds']} s, peak RSS {tenth['peak_rss_mb']} MB")
    print(f"import / raw COPY: {result['ratio_import_to_raw_copy']}x")


if __name__ == "__main__":
    main()
