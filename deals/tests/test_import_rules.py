"""Row rules of the import, file handling, and what a successful import announces."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from deals import importing
from deals.models import Deal, DealStageChange, ImportStatus
from deals.selectors import tenant_data_checksum
from deals.services import deals_import_file
from deals.signals import deals_changed
from deals.tests.conftest import STANDARD_HEADER, standard_csv, won_row
from tenants.models import Tenant


def test_an_empty_outcome_makes_an_open_deal_in_its_current_stage(import_text):
    run = import_text(
        standard_csv(won_row("D1", closed_date="", sales_cycle_days="", outcome="", deal_stage="Demo"))
    )
    assert run.status == ImportStatus.SUCCEEDED
    deal = Deal.objects.get()
    assert (deal.status, deal.stage, deal.closed_date, deal.sales_cycle_days) == ("open", "Demo", None, None)


def test_a_utf8_byte_order_mark_does_not_hide_the_first_column(import_text):
    run = import_text(b"\xef\xbb\xbf" + standard_csv(won_row("D1")).encode())
    assert (run.status, run.created) == (ImportStatus.SUCCEEDED, 1)


def test_latin1_files_import_with_the_latin1_encoding(import_text):
    run = import_text(standard_csv(won_row("D1", industry="Café")).encode("latin-1"), encoding="latin-1")
    assert run.status == ImportStatus.SUCCEEDED
    assert Deal.objects.get().industry == "Café"


def test_latin1_bytes_read_as_utf8_name_the_row_and_suggest_latin1(import_text):
    run = import_text(standard_csv(won_row("D1"), won_row("D2", industry="Café")).encode("latin-1"))
    assert run.errors == [
        {"row": 3, "column": "industry", "reason": "not valid UTF-8; try --encoding latin-1"}
    ]


def test_row_numbers_count_blank_lines_and_quoted_newlines_as_a_spreadsheet_does(import_text):
    text = standard_csv(
        won_row("D1", industry='"Multi\nline"'),
        "",
        won_row("D2"),
        won_row("D3", deal_amount="abc"),
    )
    run = import_text(text)
    assert run.errors == [{"row": 5, "column": "deal_amount", "reason": "'abc' is not a number"}]


def test_blank_lines_are_skipped(import_text):
    run = import_text(standard_csv(won_row("D1"), "", ",,,,,,,,,,,", won_row("D2")) + "\n\n")
    assert (run.status, run.rows_read, run.created) == (ImportStatus.SUCCEEDED, 2, 2)


def test_an_amount_with_a_line_break_inside_quotes_is_not_a_number(import_text):
    run = import_text(standard_csv(won_row("D1"), won_row("D2", deal_amount='"12\n34"')))
    assert run.errors == [{"row": 3, "column": "deal_amount", "reason": "'12\\n34' is not a number"}]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("99999999999999.999", "too large"),
        ("1" * 5000, "too large"),
        ("١٢٣", "is not a number"),
        ("１２３", "is not a number"),
        ("1e5", "is not a number"),
        ("(0)", None),
        ("USD 1200.50", None),
    ],
)
def test_amount_edge_cases(import_text, amount, reason):
    run = import_text(standard_csv(won_row("D1", deal_amount=f'"{amount}"')))
    if reason is None:
        assert run.status == ImportStatus.SUCCEEDED
    else:
        assert reason in run.errors[0]["reason"]


def test_extra_columns_are_kept_in_extra_and_reimporting_them_changes_nothing(import_text):
    text = standard_csv(won_row("D1") + ",Big Co,7", header=STANDARD_HEADER + ",account,seats")
    import_text(text)
    assert Deal.objects.get().extra == {"account": "Big Co", "seats": "7"}
    assert import_text(text).unchanged == 1


def test_a_column_absent_from_a_later_file_keeps_its_value(import_text):
    import_text(standard_csv(won_row("D1") + ",Big deal", header=STANDARD_HEADER + ",deal_name"))
    run = import_text(standard_csv(won_row("D1", deal_amount="13000")))
    assert run.updated == 1
    assert Deal.objects.get().name == "Big deal"


def test_text_is_stripped_and_html_is_kept_as_text(import_text):
    import_text(standard_csv(won_row("D1", industry="  <b>SaaS</b>  ", region=" Europe")))
    deal = Deal.objects.get()
    assert (deal.industry, deal.region) == ("<b>SaaS</b>", "Europe")


def test_a_stage_matches_without_case_and_is_stored_as_the_tenant_spells_it(import_text):
    import_text(standard_csv(won_row("D1", deal_stage="negotiation")))
    assert Deal.objects.get().stage == "Negotiation"


def test_a_stage_outside_the_tenants_list_is_an_error_naming_the_list(import_text):
    run = import_text(standard_csv(won_row("D1", deal_stage="Discovery")))
    assert run.errors[0]["reason"] == (
        "unknown stage 'Discovery'; this workspace's stages are "
        "Qualified, Demo, Proposal, Negotiation, Closed"
    )


def test_the_tenants_own_stages_decide_what_is_known(import_text, tenant_a: Tenant):
    tenant_a.stages = ["Discovery", "Closed"]
    tenant_a.save()
    assert import_text(standard_csv(won_row("D1", deal_stage="Discovery"))).status == ImportStatus.SUCCEEDED


def test_every_bad_row_is_counted_but_only_the_first_100_errors_are_kept(import_text):
    rows = [won_row(f"D{number}", deal_amount="-1") for number in range(150)]
    run = import_text(standard_csv(*rows))
    assert (run.status, run.rows_read, run.rejected, len(run.errors)) == (
        ImportStatus.REJECTED,
        150,
        150,
        100,
    )
    assert [error["row"] for error in run.errors[:3]] == [2, 3, 4]


def test_a_row_with_several_problems_reports_each_column(import_text):
    run = import_text(standard_csv(won_row("D1", deal_amount="x", created_date="2024-13-01")))
    assert sorted(error["column"] for error in run.errors) == ["created_date", "deal_amount"]
    assert run.rejected == 1


def test_duplicate_deal_ids_in_different_chunks_name_both_rows(import_text, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    run = import_text(
        standard_csv(won_row("D1"), won_row("D2"), won_row("D3"), won_row("D1", deal_amount="5"))
    )
    assert run.errors == [{"row": 5, "column": "deal_id", "reason": "deal id 'D1' also appears on row 2"}]


def test_duplicate_deal_ids_next_to_other_errors_are_reported_too(import_text):
    run = import_text(standard_csv(won_row("D1"), won_row("D2", deal_amount="-3"), won_row("D1")))
    assert [(error["row"], error["column"]) for error in run.errors] == [(3, "deal_amount"), (4, "deal_id")]


def test_a_file_above_the_upload_limit_is_refused_before_it_is_read(import_text, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    run = import_text(standard_csv(won_row("D1"), won_row("D2")))
    assert run.errors == [
        {
            "row": None,
            "column": None,
            "reason": "the file is larger than the upload limit of 100 bytes; nothing was read",
        }
    ]
    assert run.file_sha256 == ""


class Unseekable(io.RawIOBase):
    """A stream whose size is unknown until it has been read (like a network upload)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_of_unknown_size_is_cut_off_at_the_upload_limit(in_tenant_a, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10_000
    data = standard_csv(*(won_row(f"D{number}") for number in range(200))).encode()
    run = deals_import_file(file=Unseekable(data), file_name="stream.csv")
    assert run.status == ImportStatus.REJECTED
    assert "larger than the upload limit" in run.errors[-1]["reason"]
    assert not Deal.objects.exists()


def test_the_import_run_records_the_user_source_and_file_name(in_tenant_a, user_a):
    data = io.BytesIO(standard_csv(won_row("D1")).encode())
    run = deals_import_file(file=data, file_name="uploads/q3.csv", user=user_a, source="ui")
    assert (run.user, run.source, run.file_name) == (user_a, "ui", "q3.csv")
    assert run.duration_ms is not None


def test_a_rejected_import_keeps_its_import_run_and_nothing_else(import_text):
    before = tenant_data_checksum()
    run = import_text(standard_csv(won_row("D1"), won_row("D2", outcome="Maybe")))
    run.refresh_from_db()
    assert (run.status, run.created, run.rows_read) == (ImportStatus.REJECTED, 0, 2)
    assert tenant_data_checksum() == before


def test_a_stage_move_without_a_stage_entered_column_is_dated_today(import_text, tenant_a):
    import_text(standard_csv(won_row("D1", closed_date="", outcome="", deal_stage="Demo")))
    import_text(standard_csv(won_row("D1", closed_date="", outcome="", deal_stage="Proposal")))
    move = DealStageChange.objects.get()
    assert (move.from_stage, move.to_stage, move.changed_on) == ("Demo", "Proposal", tenant_a.today())
    assert Deal.objects.get().stage_entered_date == tenant_a.today()


def test_a_stage_move_takes_its_date_from_the_stage_entered_column(import_text):
    header = STANDARD_HEADER + ",stage_entered_date"
    import_text(
        standard_csv(
            won_row("D1", closed_date="", outcome="", deal_stage="Demo") + ",2024-01-15", header=header
        )
    )
    import_text(
        standard_csv(
            won_row("D1", closed_date="", outcome="", deal_stage="Proposal") + ",2024-02-01", header=header
        )
    )
    assert DealStageChange.objects.get().changed_on == dt.date(2024, 2, 1)
    assert Deal.objects.get().stage_entered_date == dt.date(2024, 2, 1)


def test_reps_get_names_and_emails_from_optional_columns(import_text):
    header = STANDARD_HEADER + ",rep_name,rep_email"
    import_text(standard_csv(won_row("D1") + ",Ada Lovelace,ada@example.test", header=header))
    rep = Deal.objects.select_related("rep").get().rep
    assert (rep.crm_id, rep.name, rep.email) == ("rep_1", "Ada Lovelace", "ada@example.test")


def test_a_successful_import_announces_new_and_rescored_deals_after_commit(
    import_text, django_capture_on_commit_callbacks
):
    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    deals_changed.connect(receiver)
    try:
        import_text(standard_csv(won_row("D1"), won_row("D2")))
        with django_capture_on_commit_callbacks(execute=True):
            import_text(
                standard_csv(won_row("D1", deal_amount="1"), won_row("D2", industry="FinTech"), won_row("D3"))
            )
    finally:
        deals_changed.disconnect(receiver)
    d1, d3 = Deal.objects.get(crm_id="D1"), Deal.objects.get(crm_id="D3")
    assert len(received) == 1
    assert received[0]["deal_ids"] == sorted([d1.pk, d3.pk])
    assert (received[0]["reason"], received[0]["tenant_id"]) == ("import", d1.tenant_id)


def test_a_rejected_import_announces_nothing(import_text, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        import_text(standard_csv(won_row("D1", deal_amount="-1")))
    assert callbacks == []


def test_importing_outside_a_tenant_context_is_refused(db):
    from tenants.context import NoTenantError

    with pytest.raises(NoTenantError):
        deals_import_file(file=io.BytesIO(b"deal_id\n1\n"), file_name="x.csv")
