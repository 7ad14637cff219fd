"""Imports spanning several chunks: each chunk is staged by the writer thread while the next is read.

CHUNK_ROWS is made tiny so a few rows exercise what a million-row file does: many chunks staged
on the writer thread, known and new deals mixed across chunks, and a bad row in a late chunk
after earlier chunks were staged.
"""

from __future__ import annotations

import pytest

from deals import importing
from deals.models import Deal, DealStageChange, ImportStatus, Rep
from deals.selectors import tenant_data_checksum
from deals.tests.conftest import standard_csv, won_row


@pytest.fixture(autouse=True)
def _two_rows_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)


def test_every_chunk_of_new_deals_is_created_with_its_rep(import_text):
    rows = [won_row(f"D{n}", sales_rep_id=f"rep_{n % 3}") for n in range(1, 8)]
    run = import_text(standard_csv(*rows))
    assert (run.status, run.rows_read, run.created, run.updated, run.unchanged) == (
        ImportStatus.SUCCEEDED,
        7,
        7,
        0,
        0,
    )
    assert sorted(Deal.objects.values_list("crm_id", "rep__crm_id")) == sorted(
        (f"D{n}", f"rep_{n % 3}") for n in range(1, 8)
    )
    assert Rep.objects.count() == 3


def test_reimporting_known_and_new_deals_across_chunks_counts_and_records_each_once(import_text):
    import_text(standard_csv(*(won_row(f"D{n}") for n in range(1, 5))))
    rows = [won_row("D1"), won_row("D2", deal_stage="Proposal")]
    rows += [won_row("D5"), won_row("D3"), won_row("D6"), won_row("D4", deal_amount="1")]
    run = import_text(standard_csv(*rows))
    assert (run.status, run.created, run.updated, run.unchanged) == (ImportStatus.SUCCEEDED, 2, 2, 2)
    assert Deal.objects.count() == 6
    assert Deal.objects.get(crm_id="D4").amount == 1
    moves = list(DealStageChange.objects.values_list("deal__crm_id", "from_stage", "to_stage"))
    assert moves == [("D2", "Negotiation", "Proposal")]


def test_new_deals_after_a_chunk_of_known_ones_are_created(import_text):
    import_text(standard_csv(won_row("D1"), won_row("D2")))
    run = import_text(standard_csv(won_row("D1"), won_row("D2"), won_row("D3"), won_row("D4")))
    assert (run.created, run.unchanged) == (2, 2)
    assert sorted(Deal.objects.values_list("crm_id", flat=True)) == ["D1", "D2", "D3", "D4"]


def test_a_bad_row_in_a_late_chunk_rejects_the_chunks_already_staged(import_text, in_tenant_a):
    import_text(standard_csv(won_row("D1")))
    before = tenant_data_checksum()
    rows = [won_row(f"D{n}") for n in range(2, 8)] + [won_row("D8", deal_amount="-5")]
    run = import_text(standard_csv(*rows))
    assert run.status == ImportStatus.REJECTED
    assert run.errors == [{"row": 8, "column": "deal_amount", "reason": "amount is negative ('-5')"}]
    assert tenant_data_checksum() == before
    assert list(Deal.objects.values_list("crm_id", flat=True)) == ["D1"]


def test_a_deal_id_repeated_inside_one_chunk_is_rejected_and_nothing_is_written(import_text):
    before = tenant_data_checksum()
    run = import_text(standard_csv(won_row("D1"), won_row("D2"), won_row("D3"), won_row("D3")))
    assert run.errors == [{"row": 5, "column": "deal_id", "reason": "deal id 'D3' also appears on row 4"}]
    assert tenant_data_checksum() == before
