"""Generate the hostile-CSV corpus: small files committed here, large ones at test time.

Each case is a file the deal import (``standard`` mapping) must reject with a clear error,
naming the row (as a spreadsheet numbers it, header = 1; None for the whole file), the column
(as the file names it; None when no single column is at fault) and a reason, while leaving the
tenant's data unchanged. A few cases hold hostile *content* the import keeps by design (formula
text, HTML); they expect ``accepted`` and are checked for being stored verbatim.

    .venv/bin/python tests/data/bad_csv/make_corpus.py      # rewrites the committed files

``expected.json`` maps each committed file to its expectation; :func:`write_large_cases`
writes the large cases (1 MB cell, a file above the upload limit, a zip bomb, gzip) into a
temporary directory and returns theirs.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome"
)
# Deals every case's tenant already has (the test imports them first); cases reuse their ids
# with other values, so a partial write would show in the checksum.
BASELINE_IDS = [f"H{number:04d}" for number in range(1, 6)]


def row(number: int, **changes: str) -> str:
    """A valid standard-schema row for deal H<number>, with some cells replaced."""
    cells = {
        "deal_id": f"H{number:04d}",
        "created_date": "2023-03-01",
        "closed_date": "2023-04-15",
        "sales_rep_id": f"rep_{number % 3 + 1}",
        "industry": "SaaS",
        "region": "Europe",
        "product_type": "Core",
        "lead_source": "Inbound",
        "deal_stage": "Proposal",
        "deal_amount": str(5000 + number),
        "sales_cycle_days": "45",
        "outcome": "Won" if number % 2 else "Lost",
    }
    cells.update(changes)
    return ",".join(cells[name] for name in HEADER.split(","))


def baseline_csv() -> bytes:
    """The rows imported before each case (different amounts from the cases' rows)."""
    lines = [HEADER] + [row(number, deal_amount=str(100 * number)) for number in range(1, 6)]
    return ("\n".join(lines) + "\n").encode()


def _csv(*rows: str, newline: str = "\n", header: str = HEADER) -> bytes:
    return (newline.join([header, *rows]) + newline).encode("utf-8")


def _with_bad(row_number: int, bad: str, total: int = 6) -> bytes:
    """``total`` data rows, the one on spreadsheet row ``row_number`` replaced by ``bad``."""
    rows = [row(number) for number in range(1, total + 1)]
    rows[row_number - 2] = bad
    return _csv(*rows)


def expect(row: int | None, column: str | None, reason: str) -> dict[str, Any]:
    return {"expect": "rejected", "row": row, "column": column, "reason_contains": reason}


def committed_cases() -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Small hostile files: name → (bytes, expectation)."""
    latin = _csv(row(1), row(2, industry="Café"), row(3)).replace(
        "Café".encode(), "Caf\xe9".encode("latin-1")
    )
    mixed_endings = (
        HEADER
        + "\r\n"
        + row(1)
        + "\n"
        + row(2)
        + "\r"
        + row(3, created_date="2023-13-01")
        + "\r\n"
        + row(4)
        + "\n"
    ).encode()
    cases: dict[str, tuple[bytes, dict[str, Any]]] = {
        # Encodings
        "latin1_bytes_read_as_utf8.csv": (
            latin,
            expect(3, "industry", "not valid utf-8; try --encoding latin-1"),
        ),
        "utf16_with_bom.csv": (
            "\ufeff".encode("utf-16-le") + _csv(row(1)).decode().encode("utf-16-le"),
            expect(None, None, "utf-16"),
        ),
        "utf16_without_bom.csv": (_csv(row(1)).decode().encode("utf-16-le"), expect(None, None, "nul bytes")),
        "bom_then_bad_amount.csv": (
            b"\xef\xbb\xbf" + _with_bad(3, row(2, deal_amount="12x")),
            expect(3, "deal_amount", "is not a number"),
        ),
        "mixed_line_endings_bad_month.csv": (mixed_endings, expect(4, "created_date", "is not a valid date")),
        "nul_byte_in_cell.csv": (
            _with_bad(4, row(3, industry="Saa\x00S")),
            expect(4, "industry", "nul byte"),
        ),
        # Structure
        "missing_required_columns.csv": (
            _csv(
                "H0001,2023-03-01,2023-04-15,rep_1,SaaS,Europe,Core,Inbound,Proposal,45",
                header=HEADER.replace(",deal_amount", "").replace(",outcome", ""),
            ),
            expect(1, "deal_amount", "required column is missing"),
        ),
        "duplicate_headers.csv": (
            _csv(row(1) + ",Europe", header=HEADER + ",region"),
            expect(1, "region", "duplicate column 'region'"),
        ),
        "duplicate_deal_ids.csv": (
            _csv(row(1), row(2), row(1, deal_amount="7000"), row(4)),
            expect(4, "deal_id", "also appears on row 2"),
        ),
        "too_many_cells_in_a_row.csv": (
            _with_bad(5, row(4) + ",surplus"),
            expect(5, None, "has 13 cells but the header has 12"),
        ),
        "first_row_wider_than_header.csv": (
            _csv(row(1) + ",surplus", row(2) + ",surplus"),
            expect(2, None, "more cells than the header"),
        ),
        "unclosed_quote.csv": (
            _csv(row(1), row(2, industry='"SaaS'), row(3)),
            expect(3, None, "quoted cell is never closed"),
        ),
        "semicolon_delimited.csv": (
            _csv(row(1).replace(",", ";"), header=HEADER.replace(",", ";")),
            expect(1, "deal_id", "required column is missing"),
        ),
        "empty.csv": (b"", expect(None, None, "the file is empty")),
        "only_blank_lines.csv": (b"\n\r\n  \n", expect(None, None, "the file is empty")),
        "header_only.csv": (_csv(), expect(None, None, "no data rows")),
        "header_and_blank_lines_only.csv": (
            (HEADER + "\n\n\n,,,,,,,,,,,\n").encode(),
            expect(None, None, "no data rows"),
        ),
        # Disguised binaries (small ones; the big ones are generated at test time)
        "excel_97_workbook.csv": (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
            expect(None, None, "excel 97-2003 workbook"),
        ),
        "pdf_document.csv": (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
            expect(None, None, "pdf"),
        ),
        # Dates
        "february_31.csv": (
            _with_bad(4, row(3, closed_date="2023-02-31")),
            expect(4, "closed_date", "'2023-02-31' is not a valid date in the format %Y-%m-%d"),
        ),
        "two_digit_year.csv": (
            _with_bad(2, row(1, created_date="23-03-01")),
            expect(2, "created_date", "'23-03-01' is not a valid date"),
        ),
        "us_date_in_iso_file.csv": (
            _with_bad(6, row(5, created_date="03/01/2023")),
            expect(6, "created_date", "is not a valid date"),
        ),
        "year_0001.csv": (
            _with_bad(3, row(2, created_date="0001-03-01", closed_date="0001-04-15")),
            expect(3, "closed_date", "outside the years"),
        ),
        "closed_before_created.csv": (
            _with_bad(5, row(4, created_date="2023-05-01", closed_date="2023-04-01")),
            expect(5, "closed_date", "before the created date"),
        ),
        "won_without_closed_date.csv": (
            _with_bad(3, row(1, closed_date="", outcome="Won")),
            expect(3, "closed_date", "a won deal needs a closed date"),
        ),
        "open_deal_with_closed_date.csv": (
            _with_bad(2, row(1, outcome="")),
            expect(2, "closed_date", "an open deal (empty outcome) cannot have a closed date"),
        ),
        "missing_created_date.csv": (
            _with_bad(4, row(3, created_date="")),
            expect(4, "created_date", "created date is required"),
        ),
        # Amounts
        "negative_amount.csv": (
            _with_bad(4, row(3, deal_amount="-250")),
            expect(4, "deal_amount", "negative"),
        ),
        "nan_amount.csv": (
            _with_bad(2, row(1, deal_amount="NaN")),
            expect(2, "deal_amount", "not a finite number"),
        ),
        "infinite_amount.csv": (
            _with_bad(3, row(2, deal_amount="inf")),
            expect(3, "deal_amount", "not a finite number"),
        ),
        "huge_amount.csv": (
            _with_bad(5, row(4, deal_amount="1" + "0" * 20)),
            expect(5, "deal_amount", "too large"),
        ),
        "amount_in_words.csv": (
            _with_bad(6, row(5, deal_amount="twelve thousand")),
            expect(6, "deal_amount", "is not a number"),
        ),
        "empty_amount.csv": (
            _with_bad(2, row(1, deal_amount="")),
            expect(2, "deal_amount", "amount is required"),
        ),
        # Values
        "unknown_stage.csv": (
            _with_bad(3, row(2, deal_stage="Discovery")),
            expect(3, "deal_stage", "unknown stage 'Discovery'"),
        ),
        "unknown_outcome.csv": (
            _with_bad(4, row(3, outcome="Maybe")),
            expect(4, "outcome", "unknown outcome 'Maybe'"),
        ),
        "empty_deal_id.csv": (_with_bad(5, row(4, deal_id="")), expect(5, "deal_id", "deal id is empty")),
        "overlong_deal_id.csv": (
            _with_bad(2, row(1, deal_id="D" * 101)),
            expect(2, "deal_id", "the limit is 100"),
        ),
        "overlong_industry.csv": (
            _with_bad(3, row(2, industry="x" * 101)),
            expect(3, "industry", "the limit is 100"),
        ),
        "formula_text_next_to_a_bad_amount.csv": (
            _csv(row(1, industry='"=HYPERLINK(""http://evil.test"",""x"")"'), row(2, deal_amount="(300)")),
            expect(3, "deal_amount", "negative"),
        ),
        # Hostile content the import keeps verbatim (escaping is the template's and export's job)
        "formula_injection_text.csv": (
            _csv(
                row(1, industry="=cmd|' /C calc'!A0"), row(2, region="@SUM(1+1)"), row(3, lead_source="+1-2")
            ),
            {
                "expect": "accepted",
                "stored": {"H0001": {"industry": "=cmd|' /C calc'!A0"}, "H0002": {"region": "@SUM(1+1)"}},
            },
        ),
        "html_and_script_in_text.csv": (
            _csv(
                row(1, industry="<script>alert(1)</script>"), row(2, region='"<img src=x onerror=alert(2)>"')
            ),
            {
                "expect": "accepted",
                "stored": {
                    "H0001": {"industry": "<script>alert(1)</script>"},
                    "H0002": {"region": "<img src=x onerror=alert(2)>"},
                },
            },
        ),
    }
    return cases


def write_committed(directory: Path = HERE) -> None:
    """(Re)write the committed files and expected.json."""
    expectations = {}
    for name, (content, expectation) in committed_cases().items():
        (directory / name).write_bytes(content)
        expectations[name] = expectation
    (directory / "expected.json").write_text(json.dumps(expectations, indent=2, sort_keys=True) + "\n")


def write_large_cases(directory: Path, *, upload_limit: int) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Write the cases too big to commit into ``directory``: name → (path, expectation)."""
    cases: dict[str, tuple[Path, dict[str, Any]]] = {}

    one_mb_cell = directory / "one_megabyte_cell.csv"
    one_mb_cell.write_bytes(_with_bad(3, row(2, industry="A" * (1024 * 1024))))
    cases[one_mb_cell.name] = (one_mb_cell, expect(3, "industry", "1,048,576 characters long"))

    # Sparse: its size is above the limit without using the disk; it must be refused unread.
    too_big = directory / "far_above_the_upload_limit.csv"
    with too_big.open("wb") as file:
        file.write((HEADER + "\n").encode())
        file.truncate(upload_limit * 4)
    cases[too_big.name] = (too_big, expect(None, None, "larger than the upload limit"))

    # 256 MB of zeros in a 250 KB zip, named .csv.
    bomb = directory / "zip_bomb.csv"
    block = b"0" * (8 << 20)
    with (
        zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("deals.csv", "w", force_zip64=True) as member,
    ):
        for _ in range(32):
            member.write(block)
    cases[bomb.name] = (bomb, expect(None, None, "compressed file (zip"))

    gzipped = directory / "gzip_disguised.csv"
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as archive:
        archive.write(_csv(*(row(number) for number in range(1, 6))))
    gzipped.write_bytes(buffer.getvalue())
    cases[gzipped.name] = (gzipped, expect(None, None, "compressed file (gzip"))
    return cases


if __name__ == "__main__":
    write_committed()
    print(f"wrote {len(committed_cases())} files and expected.json into {HERE}")
