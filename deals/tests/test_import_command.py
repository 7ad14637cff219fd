"""python manage.py import_deals: summary, --json shape, mapping options and exit codes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from deals.models import Deal, ImportRun
from deals.tests.conftest import DATA, standard_csv, won_row
from tenants.context import tenant_context

SUMMARY_KEYS = {
    "import_run_id",
    "status",
    "file_name",
    "file_sha256",
    "mapping",
    "rows_read",
    "created",
    "updated",
    "unchanged",
    "rejected",
    "errors",
    "duration_ms",
}


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "deals.csv"
    path.write_text(standard_csv(won_row("D1"), won_row("D2")))
    return path


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(standard_csv(won_row("D1"), won_row("D2", deal_amount="-1")))
    return path


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_deals", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_a_human_summary(tenant_a, good_file):
    output = run_command(str(good_file), "--tenant", "acme")
    assert output.startswith(
        "Imported deals.csv into acme (mapping standard): 2 rows read, 2 created, 0 updated"
    )


def test_json_output_is_the_import_run_summary(tenant_a, good_file):
    summary = json.loads(run_command(str(good_file), "--tenant", "acme", "--json"))
    assert set(summary) == SUMMARY_KEYS
    assert (summary["status"], summary["rows_read"], summary["created"], summary["errors"]) == (
        "succeeded",
        2,
        2,
        [],
    )
    with tenant_context(tenant_a):
        assert ImportRun.objects.get().pk == summary["import_run_id"]


def test_a_rejected_file_prints_its_errors_and_fails(tenant_a, bad_file):
    out = io.StringIO()
    with pytest.raises(CommandError, match="Import rejected"):
        call_command("import_deals", str(bad_file), "--tenant", "acme", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["status"] == "rejected"
    assert summary["errors"] == [{"row": 3, "column": "deal_amount", "reason": "amount is negative ('-1')"}]
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()
        assert ImportRun.objects.get().status == "rejected"


def test_a_rejected_file_lists_row_and_column_in_the_human_summary(tenant_a, bad_file):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_deals", str(bad_file), "--tenant", "acme", stdout=out)
    assert "  row 3, column deal_amount: amount is negative ('-1')" in out.getvalue()


def test_a_mapping_file_is_used_when_given(tenant_a):
    summary = json.loads(
        run_command(
            str(DATA / "european_crm_deals.csv"),
            "--tenant",
            "acme",
            "--mapping-file",
            str(DATA / "european_crm_mapping.json"),
            "--json",
        )
    )
    assert (summary["created"], summary["mapping"]) == (2, "european_crm_mapping")


def test_a_preset_is_chosen_by_name(tenant_a):
    summary = json.loads(
        run_command(str(DATA / "hubspot_deals.csv"), "--tenant", "acme", "--mapping", "hubspot", "--json")
    )
    assert summary["created"] == 3


def test_latin1_is_an_option(tenant_a, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(standard_csv(won_row("D1", industry="Café")).encode("latin-1"))
    run_command(str(path), "--tenant", "acme", "--encoding", "latin-1")
    with tenant_context(tenant_a):
        assert Deal.objects.get().industry == "Café"


def test_an_invalid_mapping_file_fails_with_its_problems(tenant_a, good_file, tmp_path):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": {"Id": "identifier"}}))
    with pytest.raises(CommandError, match="unknown field"):
        run_command(str(good_file), "--tenant", "acme", "--mapping-file", str(mapping))


def test_an_unknown_tenant_fails(db, good_file):
    with pytest.raises(CommandError, match="No tenant with slug 'nobody'"):
        run_command(str(good_file), "--tenant", "nobody")


def test_a_missing_file_fails(tenant_a, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run_command(str(tmp_path / "absent.csv"), "--tenant", "acme")


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_with_json_on_stdout_when_a_file_is_rejected(bad_file):
    from tenants.services import tenant_create

    tenant_create(slug="cli-test", name="CLI test")
    # The child process must use the test database, where this test's tenant is committed.
    url = urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{connection.settings_dict['NAME']}"))
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_deals", str(bad_file), "--tenant", "cli-test", "--json"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert json.loads(completed.stdout)["errors"][0]["row"] == 3
    assert "Import rejected" in completed.stderr
