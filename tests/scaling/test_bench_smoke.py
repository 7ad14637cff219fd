"""`bench/run.py --smoke` runs every benchmark area end to end (a small run; no timing asserted).

Benchmarks measure speed in `make bench`; this only keeps the harness working: each area's
script, the database it creates, gunicorn under wrk and the tenant comparison. It runs in its
own databases (named after this test run's database), never the test or development one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.bench_smoke

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900
AREAS = ("import", "diagnose", "scoring", "checks", "http", "tenants")


def test_the_smoke_run_of_every_benchmark_area_succeeds(tmp_path: Path) -> None:
    database = f"{settings.DATABASES['default']['TEST']['NAME']}_bench_smoke"
    record = tmp_path / "smoke-run.json"

    completed = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--smoke",
            "--no-write",
            "--database",
            database,
            "--record",
            str(record),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-4000:]
    run = json.loads(record.read_text())
    assert {name: area["status"] for name, area in run["areas"].items()} == dict.fromkeys(AREAS, "ok")
    assert {row["area"] for row in run["rows"]} == set(AREAS)
