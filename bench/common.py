"""Shared pieces of the benchmark harness: the bench database, the machine, percentiles, EXPLAIN.

Nothing here imports Django at module level, so the harness can describe the machine and pick
its database before ``django.setup()``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import re
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# The demo generator's "today" in every bench (deals are generated relative to it).
ANCHOR = dt.date(2025, 11, 15)


def server_url() -> str:
    """The PostgreSQL server the benches use: ``DATABASE_URL``'s server, else the embedded one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from salesintel.devdb import embedded_database_url

    return embedded_database_url()


def database_url(name: str, *, base: str | None = None) -> str:
    """The URL of database ``name`` on the bench server, created (empty) on first use.

    Only the database name of ``base`` (default :func:`server_url`) is replaced, so a bench never
    writes into the development or test database it was started next to.
    """
    import psycopg

    base = base or server_url()
    with psycopg.connect(base, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@dataclass(frozen=True)
class Machine:
    """Where a run happened; every figure in docs/benchmarks.md is read against this."""

    cores: int
    cpu: str
    ram_gb: float
    load_average: tuple[float, float, float]
    os: str
    python: str
    postgresql: str = ""
    postgresql_settings: dict[str, str] = field(default_factory=dict)
    commit: str = ""
    # Seconds for CALIBRATION_ADDITIONS additions in a Python loop (python_speed_s): how fast
    # one core runs the interpreter. Machines of the same kind differ by 3× and more here.
    python_loop_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cores": self.cores,
            "cpu": self.cpu,
            "ram_gb": self.ram_gb,
            "load_average": list(self.load_average),
            "os": self.os,
            "python": self.python,
            "postgresql": self.postgresql,
            "postgresql_settings": self.postgresql_settings,
            "commit": self.commit,
            "python_loop_s": self.python_loop_s,
        }


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


CALIBRATION_ADDITIONS = 10_000_000


def python_speed_s() -> float:
    """The best of three timings of CALIBRATION_ADDITIONS additions in a plain loop (seconds)."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(CALIBRATION_ADDITIONS):
            total += number
        timings.append(time.perf_counter() - started)
    return round(min(timings), 2)


def machine_describe(*, postgresql_url: str | None = None) -> Machine:
    """Cores, CPU model and RAM from /proc, the load average now, and the server's version."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    version, settings = "", {}
    if postgresql_url:
        import psycopg

        with psycopg.connect(postgresql_url) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit"):
                settings[name] = str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return Machine(
        cores=os.cpu_count() or 1,
        cpu=cpu,
        ram_gb=round(mem_kb / 1024 / 1024, 1),
        load_average=load_average(),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        postgresql=version,
        postgresql_settings=settings,
        commit=commit,
        python_loop_s=python_speed_s(),
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in [0, 1]) of a non-empty sample."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(round(fraction * len(ordered), 9)))
    return ordered[min(rank, len(ordered)) - 1]


def median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


_INDEX_USE = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)")
_SEQ_SCAN = re.compile(r"Seq Scan on (\S+)")
_ACTUAL_ROWS = re.compile(r"actual time=\S+ rows=([\d.]+) loops=(\d+)")
_REMOVED = re.compile(r"Rows Removed by Filter: ([\d.]+)")
_BUFFERS = re.compile(r"Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?")
_EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


@dataclass(frozen=True)
class PlanSummary:
    """What one EXPLAIN (ANALYZE, BUFFERS) says about tenant scoping.

    ``indexes`` are the indexes the plan reads; ``seq_scans`` the tables it reads whole, each
    with the rows the scan read (returned plus removed by its filter, over all loops);
    ``top_buffers`` the top node's shared hits + reads (pages).
    """

    indexes: tuple[str, ...]
    seq_scans: tuple[tuple[str, int], ...]
    top_buffers: int
    execution_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "indexes": list(self.indexes),
            "seq_scans": [list(scan) for scan in self.seq_scans],
            "top_buffers": self.top_buffers,
            "execution_ms": self.execution_ms,
        }


def plan_summarise(plan_lines: Iterable[str]) -> PlanSummary:
    """Summarise EXPLAIN (ANALYZE, BUFFERS) text output (one line per element)."""
    lines = list(plan_lines)
    text = "\n".join(lines)
    indexes = tuple(dict.fromkeys(_INDEX_USE.findall(text)))
    seq_scans = []
    for number, line in enumerate(lines):
        scan = _SEQ_SCAN.search(line)
        if not scan:
            continue
        actual = _ACTUAL_ROWS.search(line)
        rows_read = float(actual.group(1)) * int(actual.group(2)) if actual else 0.0
        for detail in lines[number + 1 :]:
            if "->" in detail:
                break
            removed = _REMOVED.search(detail)
            if removed:
                rows_read += float(removed.group(1)) * (int(actual.group(2)) if actual else 1)
        seq_scans.append((scan.group(1), round(rows_read)))
    top_buffers = 0
    for line in lines:
        match = _BUFFERS.search(line)
        if match:
            top_buffers = int(match.group(1) or 0) + int(match.group(2) or 0)
            break
    execution = _EXECUTION.search(text)
    return PlanSummary(
        indexes=indexes,
        seq_scans=tuple(seq_scans),
        top_buffers=top_buffers,
        execution_ms=float(execution.group(1)) if execution else float("nan"),
    )


@dataclass(frozen=True)
class IndexInfo:
    """An index as the catalog describes it: its table, key columns in order, and uniqueness."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool


def indexes_describe(cursor: Any, index_names: Iterable[str]) -> dict[str, IndexInfo]:
    """The named indexes' tables and key columns (from pg_index), by index name."""
    names = list(index_names)
    if not names:
        return {}
    cursor.execute(
        """
        SELECT i.relname, t.relname, ix.indisunique, array_agg(a.attname ORDER BY k.position)
        FROM pg_index ix
        JOIN pg_class i ON i.oid = ix.indexrelid
        JOIN pg_class t ON t.oid = ix.indrelid
        CROSS JOIN LATERAL unnest(ix.indkey[0:ix.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, position)
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE i.relname = ANY(%s)
        GROUP BY i.relname, t.relname, ix.indisunique
        """,
        [names],
    )
    return {
        name: IndexInfo(
            name=name, table=table, columns=tuple(c or "<expression>" for c in columns), unique=unique
        )
        for name, table, unique, columns in cursor.fetchall()
    }


def foreign_key_columns(cursor: Any, tables: Iterable[str]) -> set[tuple[str, str]]:
    """(table, column) of every single-column foreign key on ``tables``."""
    cursor.execute(
        """
        SELECT t.relname, a.attname
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND t.relname = ANY(%s)
        """,
        [list(tables)],
    )
    return set(cursor.fetchall())


# The floor diagnose is measured against: one hand-written statement giving the headline numbers
# diagnose reports for each compared period — closed deals, won deals, amount and won amount
# (win rate = won / n; revenue-weighted win rate = won amount / amount). A deal in two ranges
# counts in the first, as in diagnose. The ranges are ORed, so the planner may read the
# (tenant_id, closed_date) covering index once per range.
HEADLINE_SQL = """
SELECT CASE
         WHEN closed_date >= %(start_0)s AND closed_date < %(end_0)s THEN 0
         WHEN closed_date >= %(start_1)s AND closed_date < %(end_1)s THEN 1
         ELSE 2
       END AS period,
       count(*) AS n,
       count(*) FILTER (WHERE status = 'won') AS won,
       sum(amount) AS amount,
       sum(amount) FILTER (WHERE status = 'won') AS won_amount
FROM deals_deal
WHERE tenant_id = %(tenant_id)s
  AND status IN ('won', 'lost')
  AND ((closed_date >= %(start_0)s AND closed_date < %(end_0)s)
    OR (closed_date >= %(start_1)s AND closed_date < %(end_1)s)
    OR (closed_date >= %(start_2)s AND closed_date < %(end_2)s))
GROUP BY 1
ORDER BY 1
"""

# The same, with every single dimension's segment rates too (GROUPING SETS): a wider floor that
# also covers the per-segment rates diagnose's decomposition starts from.
HEADLINE_SEGMENTS_SQL = """
WITH closed AS (
  SELECT CASE
           WHEN closed_date >= %(start_0)s AND closed_date < %(end_0)s THEN 0
           WHEN closed_date >= %(start_1)s AND closed_date < %(end_1)s THEN 1
           ELSE 2
         END AS period,
         status, amount, industry, region, product_type, lead_source, stage, rep_id
  FROM deals_deal
  WHERE tenant_id = %(tenant_id)s
    AND status IN ('won', 'lost')
    AND ((closed_date >= %(start_0)s AND closed_date < %(end_0)s)
      OR (closed_date >= %(start_1)s AND closed_date < %(end_1)s)
      OR (closed_date >= %(start_2)s AND closed_date < %(end_2)s))
)
SELECT period, industry, region, product_type, lead_source, stage, rep_id,
       count(*) AS n,
       count(*) FILTER (WHERE status = 'won') AS won,
       sum(amount) AS amount,
       sum(amount) FILTER (WHERE status = 'won') AS won_amount
FROM closed
GROUP BY GROUPING SETS ((period), (period, industry), (period, region), (period, product_type),
                        (period, lead_source), (period, stage), (period, rep_id))
"""


def headline_params(*, tenant_id: int, ranges: Sequence[tuple[dt.date, dt.date]]) -> dict[str, Any]:
    """Parameters for HEADLINE_SQL: three [start, end) close-date ranges (current, previous, year ago)."""
    if len(ranges) != 3:
        raise ValueError("HEADLINE_SQL takes exactly three ranges")
    params: dict[str, Any] = {"tenant_id": tenant_id}
    for index, (start, end) in enumerate(ranges):
        params[f"start_{index}"], params[f"end_{index}"] = start, end
    return params


_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def statement_profile(
    queries: Iterable[dict[str, Any]], *, skip: Sequence[str] = (), top: int = 6
) -> list[dict[str, Any]]:
    """The statements that cost most, from Django's captured queries (``CaptureQueriesContext``).

    Statements are grouped by their text with literals replaced by ``?`` (300 single-deal
    rescorings are one group); a statement containing any of ``skip`` is left out, and so is a
    ``COMMIT`` right after it (a bench's loading transaction commits its rows; that is not a
    cost of what is timed). ``queries`` must be in the order each connection ran them. ``COPY``
    data transfers are not captured by Django, so they count as the caller's own time.
    """
    groups: dict[str, dict[str, Any]] = {}
    skipped = False
    for query in queries:
        sql = " ".join(query["sql"].split())
        if any(marker in sql for marker in skip) or (skipped and sql.upper() == "COMMIT"):
            skipped = True
            continue
        skipped = False
        key = _LITERALS.sub("?", sql)[:160]
        group = groups.setdefault(key, {"statement": key, "calls": 0, "total_s": 0.0})
        group["calls"] += 1
        group["total_s"] += float(query["time"])
    ranked = sorted(groups.values(), key=lambda group: -group["total_s"])[:top]
    return [{**group, "total_s": round(group["total_s"], 2)} for group in ranked]
