"""Every file of the hostile corpus (tests/data/bad_csv) gets a clear error and changes nothing."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from deals.models import Deal, ImportStatus
from deals.selectors import tenant_data_checksum
from deals.services import deals_import_file

CORPUS = Path(settings.BASE_DIR) / "tests" / "data" / "bad_csv"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
REJECTED = sorted(name for name, case in EXPECTED.items() if case["expect"] == "rejected")
ACCEPTED = sorted(name for name, case in EXPECTED.items() if case["expect"] == "accepted")


def _make_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_corpus = _make_corpus()


@pytest.fixture
def baseline(in_tenant_a) -> str:
    """Tenant A with the deals the corpus files reuse; returns the data checksum."""
    run = deals_import_file(file=io.BytesIO(make_corpus.baseline_csv()), file_name="baseline.csv")
    assert run.created == len(make_corpus.BASELINE_IDS)
    return tenant_data_checksum()


def assert_rejected_clearly(path: Path, expected: dict[str, Any], checksum: str) -> None:
    run = deals_import_file(file=path)
    assert run.status == ImportStatus.REJECTED
    assert run.errors, "a rejected file must say why"
    for error in run.errors:
        assert set(error) == {"row", "column", "reason"} and error["reason"]
    matches = [
        error
        for error in run.errors
        if error["row"] == expected["row"]
        and error["column"] == expected["column"]
        and expected["reason_contains"].lower() in error["reason"].lower()
    ]
    assert matches, f"expected {expected}, got {run.errors}"
    assert tenant_data_checksum() == checksum


def test_the_corpus_has_at_least_30_committed_hostile_files():
    # Four more (a 1 MB cell, a file above the limit, a zip bomb, gzip) are generated at test time.
    assert len(REJECTED) >= 30


def test_the_committed_corpus_is_what_make_corpus_writes(tmp_path):
    make_corpus.write_committed(tmp_path)
    for path in tmp_path.iterdir():
        assert path.read_bytes() == (CORPUS / path.name).read_bytes(), (
            f"{path.name} is stale; run make_corpus.py"
        )


@pytest.mark.parametrize("name", REJECTED)
def test_a_hostile_file_is_rejected_with_row_column_and_reason_and_changes_nothing(baseline, name):
    assert_rejected_clearly(CORPUS / name, EXPECTED[name], baseline)


@pytest.fixture(scope="module")
def large_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("large_bad_csv")
    return make_corpus.write_large_cases(directory, upload_limit=settings.IMPORT_MAX_UPLOAD_BYTES)


@pytest.mark.parametrize(
    "name", ["one_megabyte_cell.csv", "far_above_the_upload_limit.csv", "zip_bomb.csv", "gzip_disguised.csv"]
)
def test_a_large_hostile_file_is_rejected_with_a_reason_and_changes_nothing(baseline, large_cases, name):
    path, expected = large_cases[name]
    assert_rejected_clearly(path, expected, baseline)


@pytest.mark.parametrize("name", ACCEPTED)
def test_hostile_text_is_stored_verbatim_as_text(in_tenant_a, name):
    run = deals_import_file(file=CORPUS / name)
    assert run.status == ImportStatus.SUCCEEDED
    for crm_id, fields in EXPECTED[name]["stored"].items():
        deal = Deal.objects.get(crm_id=crm_id)
        assert {field: getattr(deal, field) for field in fields} == fields
