"""The benchmark harness: every scale target measured on this machine in one run (``make bench``).

Areas, in order (``--only`` picks some):

1. ``import``   — CSV import through deals.services vs a raw COPY of the same file into a bare
                  table; peak RSS of a file and of one a tenth its size (bench/import_bench.py);
2. ``diagnose`` — insights.diagnose vs one hand-written SQL query computing the same headline
                  rates (common.HEADLINE_SQL), with an EXPLAIN (ANALYZE) split of where
                  diagnose's time goes (bench/diagnose_bench.py);
3. ``scoring``  — batch scoring + storing of every open deal, vs scikit-learn's predict plus a
                  raw COPY of the scores; single-deal rescoring p95 (bench/scoring_bench.py);
4. ``checks``   — the daily alert checks over every open deal (bench/checks_bench.py);
5. ``http``     — wrk against gunicorn (2 workers) on loopback: risk board, API deal list and
                  deal detail at 32 connections (bench/http_bench.py);
6. ``tenants``  — the headline queries of one tenant alone vs among ``--tenants`` tenants of
                  5,000 deals, with the indexes their plans read (bench/tenants_bench.py).

Everything runs in a dedicated database (``--database``, default ``bench_harness``; the tenant
comparison adds ``<database>_tenants_1`` and ``_<N>``) on the embedded server, or on
``DATABASE_URL``'s server when that is set — never in the development or test database. The
first run loads the demo generator's deals (minutes); later runs reuse them. The run is written
to ``bench/out/last-run.json`` and, unless ``--no-write``, added to ``docs/benchmarks.md``.
Exit status 1 when an area could not run (a missed target is reported, not an error).

    .venv/bin/python bench/run.py [--scale 1000000] [--tenants 200] [--http-seconds 60]
                                  [--only import,diagnose,...] [--smoke] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import io
import json
import os
import shlex
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import (  # noqa: E402
    ANCHOR,
    HEADLINE_SEGMENTS_SQL,
    HEADLINE_SQL,
    OUT,
    database_url,
    headline_params,
    load_average,
    machine_describe,
    median,
    plan_summarise,
    statement_profile,
)

AREAS = ("import", "diagnose", "scoring", "checks", "http", "tenants")
DOCUMENT = ROOT / "docs" / "benchmarks.md"
RUNS_START = "<!-- bench:runs:start (written by bench/run.py; edit above or below) -->"
RUNS_END = "<!-- bench:runs:end -->"
RUN_SEPARATOR = "<!-- bench:run -->"
RUNS_KEPT = 5
UNTHROTTLED = "100000000/min"


@dataclass(frozen=True)
class Settings:
    """What one run measures; ``--smoke`` shrinks every size so CI can run it in a couple of minutes."""

    scale: int
    tenants: int
    deals_per_tenant: int
    http_seconds: int
    connections: int
    diagnose_runs: int
    single_rescorings: int
    tenant_rounds: int
    database: str
    smoke: bool


@dataclass
class Row:
    """One line of the results table."""

    area: str
    measurement: str
    result: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: bool | None = None


# ---------------------------------------------------------------------------------------------
# Running a per-area bench script's main() in this process (one Django setup, one database).


class _Tee(io.StringIO):
    """Captures what is written and passes it on (progress lines stay visible)."""

    def __init__(self, passthrough: TextIO) -> None:
        super().__init__()
        self._passthrough = passthrough

    def write(self, text: str) -> int:
        self._passthrough.write(text)
        return super().write(text)


def bench_main(module_name: str, argv: list[str]) -> tuple[dict[str, Any], str]:
    """Run ``bench/<module_name>.py``'s CLI with ``argv`` here; its JSON output and its stderr."""
    module = importlib.import_module(module_name)
    saved = sys.argv
    sys.argv = [str(module.__file__), *argv]
    out, err = io.StringIO(), _Tee(sys.stderr)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            module.main()
    finally:
        sys.argv = saved
    text = out.getvalue().strip()
    try:
        return json.loads(text), err.getvalue()
    except json.JSONDecodeError:
        return json.loads(text.splitlines()[-1]), err.getvalue()


# Statements of the benches' own loaders and resets (ORM deletes), left out of the profiles.
_BENCH_SETUP = (
    "bench_load",
    "VACUUM",
    "ANALYZE ",
    "bench_pushed",
    'DELETE FROM "',
    "set_config",
    "bench-history",  # scoring_bench.grow_history
)


def bench_main_profiled(module_name: str, argv: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """:func:`bench_main` with every statement's time recorded; the statements that cost most
    (:func:`common.statement_profile`), the benches' own loading and resets left out.

    Statements on connections opened meanwhile (the chunked scoring pass's threads) count too,
    so a statement's total is summed over connections that may have run side by side.
    """
    from django.db import connection
    from django.db.backends.signals import connection_created
    from django.test.utils import CaptureQueriesContext

    opened: list[Any] = []

    def record(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.force_debug_cursor = True
        opened.append(connection)

    connection_created.connect(record)
    try:
        with CaptureQueriesContext(connection) as captured:
            result, _ = bench_main(module_name, argv)
    finally:
        connection_created.disconnect(record)
    others = {id(wrapper): wrapper for wrapper in opened if wrapper is not connection}.values()
    queries = [*captured.captured_queries, *(query for wrapper in others for query in wrapper.queries_log)]
    return result, statement_profile(queries, skip=_BENCH_SETUP)


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.1f}×" if baseline else "—"


# ---------------------------------------------------------------------------------------------
# The areas. Each returns (rows, raw figures for the JSON record).


def area_import(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    result, _ = bench_main("import_bench", ["--rows", str(settings.scale), "--json"])
    created = result["import_all_created"]
    again = result["import_all_unchanged"]
    tenth = result["import_tenth_size"]
    raw = float(result["raw_copy_seconds"])
    ratio = float(created["seconds"]) / raw
    rss_ratio = float(created["peak_rss_mb"]) / float(tenth["peak_rss_mb"])
    rows = [
        Row(
            "import",
            f"CSV import of {settings.scale:,} rows ({result['file_mb']} MB), all created",
            _seconds(created["seconds"]),
            f"raw COPY {_seconds(raw)}",
            _ratio(created["seconds"], raw),
            "≤ 3× raw COPY",
            ratio <= 3.0 and created["status"] == "succeeded",
        ),
        Row(
            "import",
            "same file again, all unchanged",
            _seconds(again["seconds"]),
            f"raw COPY {_seconds(raw)}",
            _ratio(again["seconds"], raw),
            "≤ 3× raw COPY",
            float(again["seconds"]) / raw <= 3.0 and again["status"] == "succeeded",
        ),
        Row(
            "import",
            f"peak RSS: {settings.scale:,}-row file vs a tenth the size",
            f"{created['peak_rss_mb']} MB vs {tenth['peak_rss_mb']} MB",
            "—",
            f"{rss_ratio:.2f}×",
            "flat in file size (≤ 1.5×)",
            rss_ratio <= 1.5,
        ),
    ]
    return rows, result


def _diagnose_profile(*, tenant: Any, as_of: dt.date) -> dict[str, Any]:
    """Where one diagnose call's time goes: each statement's own time (as the call ran it), the
    rest in Python; and the EXPLAIN (ANALYZE, BUFFERS) of the slowest statements (their plans'
    indexes and buffers — EXPLAIN's own timings carry instrumentation overhead, so not used).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from insights.services import diagnose
    from tenants.context import tenant_context

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        diagnose(tenant=tenant, as_of=as_of)
        wall_ms = (time.perf_counter() - started) * 1000
    statements = [
        (query["sql"], float(query["time"]) * 1000)
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith(("SELECT", "WITH")) and "set_config" not in query["sql"]
    ]
    all_ms = sum(float(query["time"]) * 1000 for query in captured.captured_queries)
    slowest = []
    with tenant_context(tenant), connection.cursor() as cursor:
        for sql, took_ms in sorted(statements, key=lambda item: -item[1])[:4]:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            plan = plan_summarise(row[0] for row in cursor.fetchall())
            slowest.append(
                {
                    "sql": " ".join(sql.split())[:90],
                    "ms": round(took_ms, 1),
                    "indexes": list(plan.indexes),
                    "buffers": plan.top_buffers,
                }
            )
    return {
        "wall_ms": round(wall_ms, 1),
        "statements": len(captured.captured_queries),
        "sql_ms": round(all_ms, 1),
        "python_ms": round(wall_ms - all_ms, 1),
        "slowest": slowest,
    }


def area_diagnose(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    from django.db import connection

    from insights.periods import PeriodKind, periods_compared
    from tenants.context import tenant_context
    from tenants.models import Tenant

    result, _ = bench_main(
        "diagnose_bench", ["--deals", str(settings.scale), "--runs", str(settings.diagnose_runs), "--json"]
    )
    tenant = Tenant.objects.get(slug=f"bench-{settings.scale}")
    as_of = ANCHOR.replace(month=(ANCHOR.month - 1) // 3 * 3 + 1, day=1)
    compared = periods_compared(as_of=as_of, kind=PeriodKind.QUARTER)
    ranges = [
        (period.start, period.end) for period in (compared.current, compared.previous, compared.year_ago)
    ]
    params = headline_params(tenant_id=tenant.pk, ranges=ranges)
    raw: dict[str, list[float]] = {"headline": [], "segments": []}
    with tenant_context(tenant), connection.cursor() as cursor:
        for sql in (HEADLINE_SQL, HEADLINE_SEGMENTS_SQL):
            cursor.execute(sql, params)  # warm
            cursor.fetchall()
        for _ in range(settings.diagnose_runs):
            for key, sql in (("headline", HEADLINE_SQL), ("segments", HEADLINE_SEGMENTS_SQL)):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                raw[key].append(time.perf_counter() - started)
        cursor.execute(HEADLINE_SQL, params)
        headline_rows = cursor.fetchall()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {HEADLINE_SQL}", params)
        headline_plan = plan_summarise(row[0] for row in cursor.fetchall())
    profile = _diagnose_profile(tenant=tenant, as_of=as_of)
    diagnose_s = float(result["median_s"])
    headline_s, segments_s = median(raw["headline"]), median(raw["segments"])
    current = next(row for row in headline_rows if row[0] == 0)
    figures = {
        **result,
        "headline_sql_median_s": round(headline_s, 3),
        "headline_segments_sql_median_s": round(segments_s, 3),
        "headline_sql_current_period": {
            "n": current[1],
            "won": current[2],
            "win_rate": current[2] / current[1],
        },
        "headline_sql_plan": headline_plan.as_dict(),
        "profile": profile,
    }
    rows = [
        Row(
            "diagnose",
            f"diagnose, {settings.scale:,} deals (median of {settings.diagnose_runs})",
            _seconds(diagnose_s),
            f"headline SQL {_seconds(headline_s)}",
            _ratio(diagnose_s, headline_s),
            "≤ 3× raw query and < 2 s",
            diagnose_s <= 3 * headline_s and diagnose_s < 2.0,
        ),
        Row(
            "diagnose",
            "same, against headline + every single dimension's segment rates (GROUPING SETS)",
            _seconds(diagnose_s),
            f"segment SQL {_seconds(segments_s)}",
            _ratio(diagnose_s, segments_s),
            "(context)",
            None,
        ),
    ]
    return rows, figures


def area_scoring(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    result, profile = bench_main_profiled(
        "scoring_bench",
        ["--open-deals", str(settings.scale), "--single", str(settings.single_rescorings), "--json"],
    )
    result["statement_profile"] = profile
    reference = float(result["reference_predict_plus_raw_copy"]["total_s"])
    p95 = float(result["single_deal_ms"]["p95"])
    baseline = f"sklearn predict + raw COPY {_seconds(reference)}"
    passes = [
        ("batch_first_pass", "first pass (every score and history row inserted)"),
        ("batch_unchanged_rerun", "rerun, nothing changed (no history row written)"),
        ("batch_every_score_changed", "a day later, every score changed (history row per deal)"),
    ]
    steady = result.get("batch_steady_state")
    if steady:
        passes.append(
            (
                "batch_steady_state",
                f"the daily pass in steady state: every score changed, after {steady['history_days']} "
                f"days of history ({steady['history_rows_before']:,} rows)",
            )
        )
    rows = [
        Row(
            "scoring",
            f"batch scoring + storing {result['open_deals']:,} open deals "
            f"({result['workers']} connection{'s' if result['workers'] != 1 else ''}), {label}",
            _seconds(float(result[key]["total_s"])),
            baseline,
            _ratio(float(result[key]["total_s"]), reference),
            "< 10 s",
            float(result[key]["total_s"]) < 10.0,
        )
        for key, label in passes
    ]
    rows += [
        Row(
            "scoring",
            f"single-deal rescoring, {result['single_samples']} deals one by one",
            f"p50 {result['single_deal_ms']['p50']} ms, p95 {p95} ms, "
            f"p99 {result['single_deal_ms']['p99']} ms",
            "—",
            "—",
            "p95 < 50 ms",
            p95 < 50.0,
        ),
    ]
    return rows, result


def area_checks(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    result, profile = bench_main_profiled("checks_bench", ["--open-deals", str(settings.scale), "--json"])
    result["statement_profile"] = profile
    rows = [
        Row(
            "checks",
            f"daily checks over {result['open_deals']:,} open deals, {label}",
            _seconds(result[key]),
            "—",
            "—",
            "< 10 s",
            float(result[key]) < 10.0,
        )
        for label, key in (
            ("first run (every alert new)", "first_run_s"),
            ("next day (2% of close dates pushed)", "next_day_run_s"),
            ("same day again (nothing to write)", "same_day_rerun_s"),
        )
    ]
    return rows, result


def area_http(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    import http_bench

    result = http_bench.measure(
        deals=settings.scale, seconds=settings.http_seconds, connections=settings.connections
    )
    floor = next(iter(result["endpoints"].values()))
    rows = []
    for label, run in result["endpoints"].items():
        rows.append(
            Row(
                "http",
                f"{label}, {result['connections']} connections × {result['seconds_each']} s",
                f"{run['requests_per_s']} req/s; p50 {run['p50_ms']} / p95 {run['p95_ms']} / "
                f"p99 {run['p99_ms']} ms; {run['errors']} errors",
                "—" if run is floor else f"healthz {floor['requests_per_s']} req/s",
                "—"
                if run is floor
                else f"{floor['requests_per_s'] / max(run['requests_per_s'], 0.01):.1f}× fewer req/s",
                "zero errors",
                run["errors"] == 0,
            )
        )
    return rows, result


def area_tenants(settings: Settings) -> tuple[list[Row], dict[str, Any]]:
    import tenants_bench
    from django.db import connection

    harness = os.environ["DATABASE_URL"]
    try:
        result = tenants_bench.measure(
            tenants=settings.tenants,
            deals_per_tenant=settings.deals_per_tenant,
            rounds=settings.tenant_rounds,
            database=f"{settings.database}_tenants",
        )
    finally:
        tenants_bench.use_database(harness)
        connection.ensure_connection()
    many = settings.tenants
    rows = []
    for label, figures in result["operations"].items():
        plan = figures["plan"]
        indexes = ", ".join(f"{name} ({column})" for name, column in plan["indexes"].items()) or "none"
        rows.append(
            Row(
                "tenants",
                f"{label}: 1 tenant vs {many} tenants × {settings.deals_per_tenant:,} deals "
                f"(indexes read: {indexes})",
                f"{figures[f'{many}_tenants_median_ms']} ms among {many}",
                f"{figures['one_tenant_median_ms']} ms alone",
                f"{figures['ratio']:.2f}×",
                f"≤ {result['ratio_target']}× and tenant_id-leading indexes",
                figures["met"],
            )
        )
    return rows, result


AREA_FUNCTIONS: dict[str, Callable[[Settings], tuple[list[Row], dict[str, Any]]]] = {
    "import": area_import,
    "diagnose": area_diagnose,
    "scoring": area_scoring,
    "checks": area_checks,
    "http": area_http,
    "tenants": area_tenants,
}


# ---------------------------------------------------------------------------------------------
# docs/benchmarks.md


def _mark(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: ""}[met]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def run_section(record: dict[str, Any]) -> str:
    """One run as Markdown: when, where, the command, and a table of every figure."""
    machine = record["machine"]
    load = record["load_average"]
    pg_settings = ", ".join(f"{name} {value}" for name, value in machine["postgresql_settings"].items())
    lines = [
        f"### Run of {record['started_at']} — `{record['command']}`",
        "",
        "| | |",
        "|---|---|",
        f"| Machine | {machine['cores']} cores ({machine['cpu']}), {machine['ram_gb']} GB RAM, "
        f"{machine['os']} |",
        f"| PostgreSQL | {machine['postgresql']} ({pg_settings}) |",
        f"| Python, commit | {machine['python']}, `{machine['commit']}` |",
        f"| Python speed | {machine.get('python_loop_s', 0):.2f} s for 10 million additions in a loop "
        "(best of 3; single-deal rescoring and diagnose's Python part scale with it) |",
        f"| Load average (1 min) | {load['start']:.1f} at the start, mean {load['mean']:.1f}, "
        f"max {load['max']:.1f} during the run (other jobs shared the machine) |",
        f"| Wall time | {record['wall_s'] / 60:.1f} min "
        + "("
        + ", ".join(f"{name} {area['seconds']:.0f} s" for name, area in record["areas"].items())
        + ") |",
        "",
        "| Area | Measurement | Result | Raw baseline | Ratio | Target | Met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        lines.append(
            "| "
            + " | ".join(
                _cell(str(value))
                for value in (
                    row["area"],
                    row["measurement"],
                    row["result"],
                    row["baseline"],
                    row["ratio"],
                    row["target"],
                    _mark(row["met"]),
                )
            )
            + " |"
        )
    failed = {name: area for name, area in record["areas"].items() if area["status"] != "ok"}
    for name, area in failed.items():
        lines.append(f"| {name} | could not run | {_cell(area['error'][-300:])} | | | | **failed** |")
    diagnose = record["areas"].get("diagnose", {}).get("result")
    if diagnose:
        profile = diagnose["profile"]
        slowest = "; ".join(
            f"{item['ms']:.0f} ms `{item['sql'][:60]}…` ({item['buffers']} buffers via "
            f"{', '.join(item['indexes']) or 'no index'})"
            for item in profile["slowest"][:3]
        )
        lines += [
            "",
            f"diagnose profile (one call): {profile['statements']} statements took "
            f"{profile['sql_ms']:.0f} ms, Python {profile['python_ms']:.0f} ms (of "
            f"{profile['wall_ms']:.0f} ms). Slowest: {slowest}. The headline query reads "
            f"{', '.join(diagnose['headline_sql_plan']['indexes']) or 'no index'} "
            f"({diagnose['headline_sql_plan']['top_buffers']} buffers).",
        ]
    scoring = record["areas"].get("scoring", {}).get("result")
    if scoring:
        for label, key in (
            ("first pass", "batch_first_pass"),
            ("unchanged rerun", "batch_unchanged_rerun"),
            ("every-score-changed pass", "batch_every_score_changed"),
            ("steady-state pass", "batch_steady_state"),
        ):
            if not scoring.get(key):
                continue
            steps = ", ".join(f"{step} {seconds:.2f} s" for step, seconds in scoring[key]["steps_s"].items())
            lines += ["", f"scoring {label} by step: {steps}."]
    imported = record["areas"].get("import", {}).get("result")
    if imported and imported["import_all_created"].get("statement_profile"):
        for label, key in (("fresh import", "import_all_created"), ("re-import", "import_all_unchanged")):
            run = imported[key]
            lines += [
                "",
                f"import, {label}: {run['seconds']:.2f} s, of which SQL statements "
                f"{run['statements_s']:.2f} s (COMMIT, where the deferred foreign-key checks run, "
                "included) and the rest Python (reading, validating) and the staging COPY. "
                "Longest statements:",
                "",
            ]
            lines += [
                f"- {group['total_s']:.2f} s in {group['calls']} call(s): `{group['statement'][:140]}…`"
                for group in run["statement_profile"][:3]
            ]
    for name in ("scoring", "checks"):
        area = record["areas"].get(name, {}).get("result")
        if area and area.get("statement_profile"):
            lines += [
                "",
                f"{name}: the statements that took longest over the whole bench script (every timed "
                "run, plus the script's setup statements that carry no setup marker; its loading, "
                "resets and history growth, with their commits, are left out; summed over "
                "connections, which the chunked scoring pass runs side by side):",
                "",
            ]
            lines += [
                f"- {group['total_s']:.2f} s in {group['calls']} call(s): `{group['statement'][:140]}…`"
                for group in area["statement_profile"]
            ]
    return "\n".join(lines) + "\n"


DOCUMENT_TEMPLATE = f"""# Benchmarks

Written by `make bench` (`bench/run.py`); see the module docstring for what each area measures.

{RUNS_START}
{RUNS_END}
"""


def document_write(section: str, *, path: Path = DOCUMENT) -> None:
    """Put ``section`` first among the runs in ``path``, keeping the previous runs (at most RUNS_KEPT)."""
    text = path.read_text() if path.exists() else DOCUMENT_TEMPLATE
    if RUNS_START not in text or RUNS_END not in text:
        text = text.rstrip() + f"\n\n{RUNS_START}\n{RUNS_END}\n"
    head, rest = text.split(RUNS_START, 1)
    runs, tail = rest.split(RUNS_END, 1)
    previous = [run.strip() for run in runs.split(RUN_SEPARATOR) if run.strip()]
    kept = [section.strip(), *previous][:RUNS_KEPT]
    body = "\n\n".join(f"{RUN_SEPARATOR}\n{run}" for run in kept)
    path.write_text(f"{head}{RUNS_START}\n{body}\n{RUNS_END}{tail}")


# ---------------------------------------------------------------------------------------------


class LoadSampler:
    """Samples the 1-minute load average every few seconds while the run lasts."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples = [load_average()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every_s,), daemon=True)
        self._thread.start()

    def _sample(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.samples.append(load_average()[0])

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return {
            "start": self.samples[0],
            "mean": round(statistics.fmean(self.samples), 2),
            "max": max(self.samples),
            "end": load_average()[0],
        }


def settings_from(args: argparse.Namespace) -> Settings:
    smoke = args.smoke
    return Settings(
        scale=args.scale or (10_000 if smoke else 1_000_000),
        tenants=args.tenants or (3 if smoke else 200),
        deals_per_tenant=args.deals_per_tenant or (2_000 if smoke else 5_000),
        http_seconds=args.http_seconds or (5 if smoke else 60),
        connections=args.connections,
        diagnose_runs=3 if smoke else 7,
        single_rescorings=30 if smoke else 300,
        tenant_rounds=3 if smoke else 20,
        database=args.database or ("bench_smoke" if smoke else "bench_harness"),
        smoke=smoke,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=None, help="deals in the one-tenant areas (1,000,000)")
    parser.add_argument("--tenants", type=int, default=None, help="tenants in the tenant comparison (200)")
    parser.add_argument("--deals-per-tenant", type=int, default=None, help="(5,000)")
    parser.add_argument("--http-seconds", type=int, default=None, help="wrk duration per endpoint (60)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--only", default=",".join(AREAS), help=f"comma-separated subset of {','.join(AREAS)}"
    )
    parser.add_argument("--smoke", action="store_true", help="10,000 deals, 3 tenants, 5 s of HTTP")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--database", default=None, help="bench database (bench_harness; smoke: bench_smoke)")
    parser.add_argument("--record", type=Path, default=None, help="where to write the run's JSON record")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(AREAS))
    if unknown:
        parser.error(f"unknown areas {unknown}; choose from {', '.join(AREAS)}")
    settings = settings_from(args)

    started_at = dt.datetime.now(dt.UTC)
    sampler = LoadSampler()
    url = database_url(settings.database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    os.environ["API_THROTTLE_RATE_KEY"] = UNTHROTTLED
    machine = machine_describe(postgresql_url=url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    OUT.mkdir(parents=True, exist_ok=True)

    rows: list[Row] = []
    areas: dict[str, dict[str, Any]] = {}
    for name in AREAS:
        if name not in only:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        area_started = time.perf_counter()
        try:
            area_rows, result = AREA_FUNCTIONS[name](settings)
            areas[name] = {"status": "ok", "result": result}
            rows += area_rows
        except (Exception, SystemExit):
            areas[name] = {"status": "failed", "error": traceback.format_exc()}
            print(traceback.format_exc(), file=sys.stderr)
        areas[name]["seconds"] = round(time.perf_counter() - area_started, 1)
        print(
            f"== {name}: {areas[name]['status']} in {areas[name]['seconds']} s", file=sys.stderr, flush=True
        )

    command = "make bench-smoke" if settings.smoke else "make bench"
    given = argv if argv is not None else sys.argv[1:]
    if given and given not in (["--smoke"], ["--smoke", "--no-write"], ["--no-write", "--smoke"]):
        command = "bench/run.py " + shlex.join(given)
    record = {
        "started_at": started_at.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "settings": asdict(settings),
        "machine": machine.as_dict(),
        "load_average": sampler.stop(),
        "wall_s": round((dt.datetime.now(dt.UTC) - started_at).total_seconds(), 1),
        "areas": areas,
        "rows": [asdict(row) for row in rows],
    }
    path = args.record or OUT / ("smoke-run.json" if settings.smoke else "last-run.json")
    path.write_text(json.dumps(record, indent=2, default=str))
    section = run_section(record)
    print(section)
    if not args.no_write:
        document_write(section)
        print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)
    return 0 if all(area["status"] == "ok" for area in areas.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
