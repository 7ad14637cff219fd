"""The app keeps no session state in PostgreSQL, so PgBouncer can pool in transaction mode.

Under transaction pooling a client gets a server connection for one transaction only; anything
that outlives the transaction (a session ``SET``, a session advisory lock, a temporary table
kept past commit) would leak to another client. These tests read the application's source
(migrations and tests excluded) for each such construct — docs/scaling.md relies on them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("tenants", "deals", "insights", "scoring", "alerts", "web", "api", "salesintel")


def app_sources() -> dict[str, str]:
    sources = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if {"tests", "migrations", "testing"} & set(relative.parts):
                continue
            sources[str(relative)] = path.read_text(encoding="utf-8")
    return sources


def matches(pattern: str, *, flags: int = 0) -> list[str]:
    compiled = re.compile(pattern, flags)
    return [
        f"{name}:{text.count(chr(10), 0, found.start()) + 1}: {found.group(0)[:80]}"
        for name, text in app_sources().items()
        for found in compiled.finditer(text)
    ]


def test_the_scan_reads_the_app_packages() -> None:
    sources = app_sources()

    assert "tenants/context.py" in sources
    assert "scoring/services.py" in sources


def test_every_setting_the_app_changes_is_transaction_local() -> None:
    # set_config(name, value, true) is SET LOCAL; false, or a bare SET, would outlive the transaction.
    session_set_config = matches(r"set_config\([^)]*,\s*(?:false|False)\s*\)", flags=re.IGNORECASE)
    bare_set = matches(r"""execute\(\s*f?["']\s*SET\s+(?!LOCAL\b)""", flags=re.IGNORECASE)

    assert matches(r"set_config\(") != []
    assert session_set_config == []
    assert bare_set == []


def test_every_advisory_lock_is_released_with_its_transaction() -> None:
    session_locks = matches(r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\(")

    assert matches(r"pg_advisory_xact_lock\(") != []
    assert session_locks == []


def test_every_temporary_table_is_dropped_at_commit() -> None:
    creations = matches(r"CREATE\s+TEMP(?:ORARY)?\s+TABLE", flags=re.IGNORECASE)
    dropped_at_commit = matches(
        r"CREATE\s+TEMP(?:ORARY)?\s+TABLE[^;]{0,400}?ON\s+COMMIT\s+DROP", flags=re.IGNORECASE | re.DOTALL
    )

    assert creations != []
    assert len(dropped_at_commit) == len(creations)


def test_nothing_listens_for_notifications_or_holds_cursors_past_commit() -> None:
    assert matches(r"\bLISTEN\s+\w", flags=re.IGNORECASE) == []
    assert matches(r"WITH\s+HOLD", flags=re.IGNORECASE) == []
