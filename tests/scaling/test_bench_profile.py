"""The benches' statement profile (bench/common.py) leaves the benches' own setup out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# bench/ is scripts, not a package: load its common module by path, leaving sys.path alone.
_SPEC = importlib.util.spec_from_file_location(
    "bench_common", Path(__file__).resolve().parents[2] / "bench" / "common.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_COMMON = sys.modules["bench_common"] = importlib.util.module_from_spec(_SPEC)  # dataclasses need it there
_SPEC.loader.exec_module(_COMMON)
statement_profile = _COMMON.statement_profile


def _query(sql: str, seconds: float) -> dict[str, str]:
    return {"sql": sql, "time": f"{seconds:.3f}"}


def test_a_setup_statement_and_the_commit_right_after_it_are_left_out() -> None:
    queries = [
        _query("INSERT INTO deals_deal SELECT * FROM bench_load", 30.0),
        _query("COMMIT", 20.0),  # the loading transaction's commit
        _query("UPDATE scoring_currentscore SET probability = 0.5 WHERE deal_id = 7", 1.5),
        _query("COMMIT", 0.25),
        _query("UPDATE scoring_currentscore SET probability = 0.25 WHERE deal_id = 8", 1.0),
        _query("COMMIT", 0.25),
    ]

    profile = statement_profile(queries, skip=("bench_load",))

    assert profile == [
        {
            "statement": "UPDATE scoring_currentscore SET probability = ? WHERE deal_id = ?",
            "calls": 2,
            "total_s": 2.5,
        },
        {"statement": "COMMIT", "calls": 2, "total_s": 0.5},
    ]
