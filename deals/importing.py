"""The deal import engine shared by the CSV import, the UI upload and the API bulk upsert.

Both front ends turn their input into :class:`CanonicalChunk` objects (raw text per canonical
field, with the row number the user knows). One core then

1. validates each chunk with vectorised work (per *distinct* value where a column repeats,
   e.g. dates, stages, reps) and loops in Python over the bad rows only, to word errors;
2. streams each chunk's valid rows with ``COPY`` into a TEMP staging table;
3. finds duplicate deal ids across the whole input in SQL;
4. when nothing is wrong, upserts reps and deals set-based (``INSERT … ON CONFLICT … DO UPDATE
   … WHERE … IS DISTINCT FROM``) and records stage moves of known deals.

Any invalid row rejects the whole input: :class:`ImportRejected` is raised so the caller's
savepoint rolls back. Memory is flat in input size: one chunk is in Python at a time.

The caller (deals.services) owns the transaction, the ImportRun row and the signals.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypedDict

import numpy as np
import pandas as pd
from django.db import connection

from deals.mapping import CANONICAL_FIELDS, DATE_FIELDS, MappingSpec, normalise_header, normalise_value
from salesintel.planner import planner_setting

CHUNK_ROWS = 50_000
MAX_ERRORS = 100
# Longest text kept in an unmapped column (Deal.extra); mapped fields have their own limits.
EXTRA_CELL_MAX_CHARS = 10_000
TEXT_LIMITS = {
    "crm_id": 100,
    "name": 300,
    "rep_crm_id": 100,
    "rep_name": 200,
    "rep_email": 254,
    "industry": 100,
    "region": 100,
    "product_type": 100,
    "lead_source": 100,
    "stage": 100,
}
# Deal.amount is numeric(16, 2): at most 14 digits before the decimal point.
MAX_AMOUNT_INTEGER_DIGITS = 14
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_INTEGER_DIGITS
MIN_YEAR, MAX_YEAR = 1900, 2200
# How much of a file is read to find its header row; a header beyond this is refused.
HEADER_PEEK_BYTES = 1024 * 1024

# (column, SQL type) of the staging table, in COPY order.
STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_number", "bigint"),
    ("crm_id", "text"),
    ("name", "text"),
    ("created_date", "date"),
    ("closed_date", "date"),
    ("expected_close_date", "date"),
    ("stage_entered_date", "date"),
    ("rep_crm_id", "text"),
    ("rep_name", "text"),
    ("rep_email", "text"),
    ("industry", "text"),
    ("region", "text"),
    ("product_type", "text"),
    ("lead_source", "text"),
    ("stage", "text"),
    ("amount", "numeric(16,2)"),
    ("currency", "text"),
    ("status", "text"),
    ("extra", "jsonb"),
)
STAGING_TABLE = "deal_import_staging"
# High 32 bits of the advisory lock key that serialises imports per tenant ("DEAL").
_IMPORT_LOCK_NAMESPACE = 0x4445414C

_COMPRESSED_MAGIC = {
    b"PK\x03\x04": "zip (or an Excel .xlsx workbook)",
    b"PK\x05\x06": "zip",
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"7z\xbc\xaf\x27\x1c": "7-Zip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"Rar!\x1a\x07": "RAR",
}
_OTHER_MAGIC = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "this is an Excel 97-2003 workbook, not CSV; save it as CSV UTF-8",
    b"%PDF-": "this is a PDF document, not CSV",
    b"\xff\xfe": "this file is UTF-16 encoded; save it as CSV UTF-8",
    b"\xfe\xff": "this file is UTF-16 encoded; save it as CSV UTF-8",
}
_UTF8_BOM = codecs.BOM_UTF8
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CURRENCY_CODE = re.compile(r"[A-Za-z]{3}")
# ASCII only: PostgreSQL reads no other digits, and str's \d would accept "٣" or "３".
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,14}(?:\.[0-9]{1,2})?")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_LEADING_CODE = re.compile(r"^[A-Za-z]{3}\s*")
_TRAILING_CODE = re.compile(r"\s*[A-Za-z]{3}$")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_SURROGATE = re.compile("[\ud800-\udfff]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"


class RowError(TypedDict):
    """One problem: the row as a spreadsheet shows it (header = 1; None for the whole file),
    the column as the file names it (None when no single column is at fault), and why."""

    row: int | None
    column: str | None
    reason: str


class ImportRefused(Exception):
    """The input as a whole cannot be read (too big, compressed, empty, malformed)."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        super().__init__("; ".join(error["reason"] for error in errors))


@dataclass
class ImportOutcome:
    """What an import did (or, when rejected, found)."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    stage_changes: int = 0
    errors: list[RowError] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)


class ImportRejected(Exception):
    """Raised inside the caller's savepoint when any row is invalid, so nothing is written."""

    def __init__(self, outcome: ImportOutcome) -> None:
        self.outcome = outcome
        super().__init__(f"{outcome.rejected} invalid row(s)")


def file_error(reason: str, *, row: int | None = None, column: str | None = None) -> RowError:
    return {"row": row, "column": column, "reason": reason}


def _excerpt(value: str, limit: int = 40) -> str:
    """A value quoted for a message, shortened so a 1 MB cell does not make a 1 MB message."""
    value = _SURROGATE.sub("\ufffd", value)
    return repr(value if len(value) <= limit else value[:limit] + "…")


# --------------------------------------------------------------------------------------------
# Canonical chunks: what both front ends produce
# --------------------------------------------------------------------------------------------


@dataclass
class CanonicalChunk:
    """Up to CHUNK_ROWS input rows as raw text per canonical field.

    ``rows``: the row number the user knows for each row (CSV: spreadsheet row; API: item
    index). ``fields``: canonical field → object array of raw text (fields the input does not
    feed are absent). ``conditions``: normalised source column → raw text, for value-map rules
    such as ``IsWon=true``. ``extra``: unmapped column → raw text (CSV) and ``extra_json``: one
    JSON object text per row (API). ``errors`` found while building the chunk mark rows bad.
    """

    rows: np.ndarray
    fields: dict[str, np.ndarray]
    conditions: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    extra_json: np.ndarray | None = None
    errors: list[tuple[int, str, str]] = field(default_factory=list)
    check_text: bool = False
    invalid_text_reason: str = "not valid UTF-8; try --encoding latin-1"

    def __len__(self) -> int:
        return len(self.rows)


class CanonicalSource:
    """Base of the two front ends. ``present_fields`` is final once ``chunks()`` is exhausted."""

    present_fields: set[str]
    has_extra: bool
    # How messages name a row of this input ("row 7" of a file, "item 7" of an API request).
    row_word: str

    def chunks(self) -> Iterator[CanonicalChunk]:
        raise NotImplementedError

    def column_label(self, canonical: str) -> str:
        return canonical

    def sha256_hex(self) -> str:
        """Hash of the input read so far (the whole input once ``chunks()`` is exhausted)."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# CSV front end
# --------------------------------------------------------------------------------------------


class GuardedStream(io.RawIOBase):
    """Reads a binary file once: hashes it, enforces the size limit and notices bad bytes.

    :meth:`read_prefix` reads the start (to sniff the header), which is then replayed to the
    parser. Invalid UTF-8 and NUL bytes only raise flags here; the validator then finds the
    exact rows and columns.
    """

    def __init__(self, raw: IO[bytes], *, limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._pending = b""
        self._limit = limit
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.saw_invalid_utf8 = False
        self.saw_nul = False
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pending:
            data, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        else:
            data = self._raw.read(len(buffer))
            self._account(data)
        buffer[: len(data)] = data
        return len(data)

    def _account(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise ImportRefused([file_error(_too_big_reason(self._limit))])
        self.sha256.update(data)
        if not self.saw_nul and b"\x00" in data:
            self.saw_nul = True
        if not self.saw_invalid_utf8:
            try:
                self._decoder.decode(data, final=not data)
            except UnicodeDecodeError:
                self.saw_invalid_utf8 = True

    def read_prefix(self) -> bytes:
        """Read (and account for) the start of the file: enough for the header row."""
        prefix = b""
        while len(prefix) < HEADER_PEEK_BYTES:
            block = self._raw.read(64 * 1024)
            if not block:
                break
            self._account(block)
            prefix += block
            if b"\n" in prefix or b"\r" in prefix:
                break
        self._pending = prefix
        return prefix


def _too_big_reason(limit: int) -> str:
    return f"the file is larger than the upload limit of {_human_size(limit)}; nothing was read"


def _human_size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:,.0f} {unit}"
    return f"{size} bytes"


def _sniff(prefix: bytes) -> RowError | None:
    """Refuse what is plainly not a CSV before parsing it."""
    for magic, kind in _COMPRESSED_MAGIC.items():
        if prefix.startswith(magic):
            return file_error(f"this is a compressed file ({kind}), not CSV; unpack it and upload the CSV")
    for magic, reason in _OTHER_MAGIC.items():
        if prefix.startswith(magic):
            return file_error(reason)
    if not prefix.removeprefix(_UTF8_BOM).strip():
        return file_error("the file is empty")
    if prefix.count(b"\x00") * 10 > len(prefix):
        return file_error(
            "the file is full of NUL bytes: it is UTF-16 or binary, not CSV text; save it as CSV UTF-8"
        )
    return None


@dataclass
class _ColumnPlan:
    header: list[str]
    field_sources: dict[str, list[int]]
    conditions: dict[str, int]
    extra: list[tuple[str, int]]
    labels: dict[str, str]


def _plan_columns(header: list[str], spec: MappingSpec) -> tuple[_ColumnPlan, list[RowError]]:
    """Match the header against the spec: which column feeds which field, which are extra."""
    errors: list[RowError] = []
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = normalise_header(name)
        if not key:
            continue
        if key in positions:
            errors.append(
                file_error(
                    f"duplicate column {name.strip()!r} (columns {positions[key] + 1} and {index + 1})",
                    row=1,
                    column=name.strip(),
                )
            )
        else:
            positions[key] = index
    for source in spec.required:
        if normalise_header(source) not in positions:
            errors.append(file_error("required column is missing", row=1, column=source))

    field_sources: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    used: set[int] = set()
    for source, targets in spec.columns.items():
        position = positions.get(normalise_header(source))
        for target in targets:
            labels.setdefault(target, source if position is None else header[position].strip())
            if position is not None:
                field_sources.setdefault(target, []).append(position)
                used.add(position)
        if position is not None and not targets:
            used.add(position)  # mapped to null: deliberately ignored
    condition_columns: dict[str, int] = {}
    for value_map in spec.value_maps.values():
        for column, _, _ in value_map.conditions:
            if column in positions:
                condition_columns[column] = positions[column]
                used.add(positions[column])
    extra = [
        (header[index].strip(), index)
        for key, index in positions.items()
        if index not in used and header[index].strip()
    ]
    for canonical in CANONICAL_FIELDS:
        labels.setdefault(canonical, canonical)
    plan = _ColumnPlan(
        header=header, field_sources=field_sources, conditions=condition_columns, extra=extra, labels=labels
    )
    return plan, errors


_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PARSER_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")
ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1"}


class CsvSource(CanonicalSource):
    """Canonical chunks from a CSV file, streamed with pandas in CHUNK_ROWS pieces."""

    row_word = "row"

    def __init__(self, raw: IO[bytes], *, spec: MappingSpec, encoding: str, limit: int) -> None:
        self.spec = spec
        self.stream = GuardedStream(raw, limit=limit)
        prefix = self.stream.read_prefix()
        refusal = _sniff(prefix)
        if refusal is not None:
            raise ImportRefused([refusal])
        # A UTF-8 byte-order mark wins over the chosen encoding: it says what the file is.
        self.encoding = "utf-8" if prefix.startswith(_UTF8_BOM) else encoding
        header = self._read_header(prefix.removeprefix(_UTF8_BOM))
        self.plan, errors = _plan_columns(header, spec)
        if errors:
            raise ImportRefused(errors)
        self.present_fields = set(self.plan.field_sources)
        if spec.open_deal_close_date == "expected_close_date" and "closed_date" in self.present_fields:
            # An open deal's "Close Date" fills its expected close date, so that field is fed too.
            self.present_fields.add("expected_close_date")
        self.has_extra = bool(self.plan.extra)

    def _read_header(self, prefix: bytes) -> list[str]:
        if b"\n" not in prefix and b"\r" not in prefix and len(prefix) >= HEADER_PEEK_BYTES:
            raise ImportRefused([file_error("the header row is longer than 1 MB", row=1)])
        text = prefix.decode(self.encoding, errors="surrogateescape")
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.spec.delimiter))
        except (csv.Error, StopIteration) as error:
            raise ImportRefused([file_error(f"the header row cannot be read: {error}", row=1)]) from error
        bad = [name for name in header if _SURROGATE.search(name)]
        if bad:
            raise ImportRefused([file_error(self._invalid_text_reason, row=1)])
        return header

    def column_label(self, canonical: str) -> str:
        return self.plan.labels.get(canonical, canonical)

    @property
    def _invalid_text_reason(self) -> str:
        return f"not valid {ENCODING_NAMES.get(self.encoding, self.encoding)}; try --encoding latin-1"

    def sha256_hex(self) -> str:
        return self.stream.sha256.hexdigest()

    def chunks(self) -> Iterator[CanonicalChunk]:
        names = [f"c{index}" for index in range(len(self.plan.header))]
        reader = pd.read_csv(
            io.BufferedReader(self.stream, buffer_size=256 * 1024),
            sep=self.spec.delimiter,
            header=0,
            names=names,
            dtype=object,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
            encoding=self.encoding,
            encoding_errors="surrogateescape",
            chunksize=CHUNK_ROWS,
        )
        seen_rows = data_rows = 0
        try:
            for frame in reader:
                if not isinstance(frame.index, pd.RangeIndex):
                    # pandas turns the first cells into an index when the first data row is wider
                    # than the header; every later wider row is a ParserError.
                    raise ImportRefused(
                        [file_error(f"this row has more cells than the header's {len(names)}", row=2)]
                    )
                # Blank lines are kept by the parser (so row numbers match the spreadsheet) and
                # dropped here.
                rows = np.arange(seen_rows + 2, seen_rows + 2 + len(frame), dtype=np.int64)
                seen_rows += len(frame)
                columns = [frame[name].to_numpy(dtype=object) for name in names]
                keep = _non_blank(columns)
                if not keep.all():
                    rows = rows[keep]
                    columns = [column[keep] for column in columns]
                if len(rows):
                    data_rows += len(rows)
                    yield self._canonical(rows, columns)
        except pd.errors.ParserError as error:
            raise ImportRefused([self._parser_error(error)]) from error
        except UnicodeDecodeError as error:
            raise ImportRefused([file_error(self._invalid_text_reason, row=seen_rows + 2)]) from error
        finally:
            reader.close()
        if data_rows == 0:
            raise ImportRefused(
                [file_error("the file has a header row but no data rows; nothing was changed")]
            )

    def _parser_error(self, error: Exception) -> RowError:
        match = _PARSER_LINE.search(str(error))
        if match:
            expected, line, seen = (int(group) for group in match.groups())
            return file_error(f"this row has {seen} cells but the header has {expected}", row=line)
        match = _PARSER_EOF_IN_QUOTES.search(str(error))
        if match:
            # pandas counts rows from 0 at the header.
            return file_error(
                'a quoted cell is never closed (a " without its partner); the rest of the file is inside it',
                row=int(match.group(1)) + 1,
            )
        return file_error(f"the file cannot be parsed as CSV: {str(error).strip()}")

    def _canonical(self, rows: np.ndarray, columns: list[np.ndarray]) -> CanonicalChunk:
        fields: dict[str, np.ndarray] = {}
        for canonical, indexes in self.plan.field_sources.items():
            values = columns[indexes[0]]
            for index in indexes[1:]:
                # Several columns feed one field: the first non-empty one wins.
                values = np.where(_stripped(values) == "", columns[index], values)
            fields[canonical] = values
        return CanonicalChunk(
            rows=rows,
            fields=fields,
            conditions={key: columns[index] for key, index in self.plan.conditions.items()},
            extra={name: columns[index] for name, index in self.plan.extra},
            check_text=self.stream.saw_nul or (self.encoding == "utf-8" and self.stream.saw_invalid_utf8),
            invalid_text_reason=self._invalid_text_reason,
        )


def _stripped(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(str.strip, values), dtype=object, count=len(values))


def _non_blank(columns: list[np.ndarray]) -> np.ndarray:
    """Rows with at least one non-empty cell (only rows empty in the first column are checked)."""
    if not columns:
        return np.zeros(0, dtype=bool)
    keep = _stripped(columns[0]) != ""
    candidates = np.flatnonzero(~keep)
    for column in columns[1:]:
        if not len(candidates):
            break
        filled = _stripped(column[candidates]) != ""
        keep[candidates[filled]] = True
        candidates = candidates[~filled]
    return keep


def csv_source(
    *, file: IO[bytes] | str | Path, spec: MappingSpec, encoding: str, limit: int
) -> tuple[CsvSource, Callable[[], None]]:
    """Open ``file`` (binary file object or path) as a :class:`CsvSource`.

    Returns the source and a function closing what was opened here. Raises ImportRefused for
    a file above ``limit`` bytes (before reading it, when its size is known) or not a CSV.
    """
    opened: IO[bytes] | None = None
    raw: IO[bytes]
    if isinstance(file, str | Path):
        path = Path(file)
        size: int | None = path.stat().st_size
        opened = raw = path.open("rb")
    else:
        raw = file
        size = getattr(file, "size", None)
        if size is None:
            try:
                position = file.tell()
                size = file.seek(0, io.SEEK_END) - position
                file.seek(position)
            except (AttributeError, OSError, ValueError):
                size = None
    try:
        if size is not None and size > limit:
            raise ImportRefused([file_error(_too_big_reason(limit))])
        if size == 0:
            raise ImportRefused([file_error("the file is empty")])
        source = CsvSource(raw, spec=spec, encoding=encoding, limit=limit)
    except BaseException:
        if opened is not None:
            opened.close()
        raise

    def close() -> None:
        if opened is not None:
            opened.close()

    return source, close


# --------------------------------------------------------------------------------------------
# API front end
# --------------------------------------------------------------------------------------------

API_FIELDS = tuple(name for name in CANONICAL_FIELDS if name != "sales_cycle_days")


def _api_text(value: Any) -> str:
    """One API value as the text the validator reads; raises ValueError for unusable types."""
    if value is None:
        return ""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value
    if isinstance(value, bool):
        raise ValueError("must be text, a number or a date, not true/false")
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise ValueError(f"must be text, a number or a date, not {type(value).__name__}")


class RecordSource(CanonicalSource):
    """Canonical chunks from dicts keyed by canonical field names (API bulk upsert).

    A field absent from every record is left untouched on known deals; a field present in some
    records and missing from others is empty in those others. Unknown keys are errors.
    """

    row_word = "item"

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records = records
        self.present_fields = set()
        self.has_extra = False
        self.digest = hashlib.sha256()

    def sha256_hex(self) -> str:
        return self.digest.hexdigest()

    def chunks(self) -> Iterator[CanonicalChunk]:
        batch: list[Mapping[str, Any]] = []
        start = 0
        for record in self._records:
            batch.append(record)
            if len(batch) >= CHUNK_ROWS:
                yield self._chunk(batch, start)
                start += len(batch)
                batch = []
        if batch:
            yield self._chunk(batch, start)

    def _chunk(self, batch: list[Mapping[str, Any]], start: int) -> CanonicalChunk:
        count = len(batch)
        errors: list[tuple[int, str, str]] = []
        texts: dict[str, list[str]] = {}
        extra_json = np.full(count, "{}", dtype=object)
        for position, record in enumerate(batch):
            if not isinstance(record, Mapping):
                errors.append((position, "", "each item must be an object of field → value"))
                continue
            self.digest.update(json.dumps(record, sort_keys=True, default=str).encode("utf-8", "replace"))
            for key, value in record.items():
                if key == "extra":
                    self.has_extra = True
                    if value is None:
                        continue
                    if not isinstance(value, Mapping):
                        errors.append((position, "extra", "extra must be an object"))
                        continue
                    try:
                        encoded = json.dumps(value, ensure_ascii=False)
                    except (TypeError, ValueError):
                        errors.append((position, "extra", "extra must contain only JSON values"))
                        continue
                    if "\\u0000" in encoded:
                        errors.append((position, "extra", "extra contains a NUL character"))
                        continue
                    extra_json[position] = encoded
                elif key in API_FIELDS:
                    try:
                        text = _api_text(value)
                    except ValueError as error:
                        errors.append((position, key, str(error)))
                        continue
                    column = texts.get(key)
                    if column is None:
                        # Not setdefault: its default list would be built for every cell.
                        column = texts[key] = [""] * count
                    column[position] = text
                    self.present_fields.add(key)
                else:
                    errors.append((position, str(key), "unknown field"))
        rows = np.arange(start, start + count, dtype=np.int64)
        return CanonicalChunk(
            rows=rows,
            fields={key: np.array(values, dtype=object) for key, values in texts.items()},
            extra_json=extra_json,
            errors=errors,
            check_text=True,
            invalid_text_reason="not valid Unicode text",
        )


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


class _Column:
    """A column as codes into its distinct values, so per-value work runs once per value."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: np.ndarray) -> None:
        self.codes = codes
        self.values = values

    @classmethod
    def of(cls, raw: np.ndarray, *, distinct: bool = False) -> _Column:
        """``distinct``: nearly every value differs (ids, names); factorizing would not pay."""
        if distinct:
            return cls(np.arange(len(raw)), _stripped(raw))
        codes, uniques = pd.factorize(raw)
        return cls(codes, _stripped(np.asarray(uniques, dtype=object)))

    @classmethod
    def constant(cls, value: Any, length: int) -> _Column:
        return cls(np.zeros(length, dtype=np.intp), np.array([value], dtype=object))

    def map(self, function: Callable[[Any], Any]) -> np.ndarray:
        """``function`` over the distinct values (object array aligned with ``values``)."""
        return np.fromiter(map(function, self.values), dtype=object, count=len(self.values))

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.codes]


@dataclass
class ValidationContext:
    """What validation needs beyond the spec: the tenant's stages and currency, column labels."""

    spec: MappingSpec
    stages: list[str]
    default_currency: str
    labels: Callable[[str], str]

    def __post_init__(self) -> None:
        self.stage_lookup = {stage.casefold(): stage for stage in self.stages}


class _Errors:
    """Collects row errors; keeps the first MAX_ERRORS per check and marks every bad row.

    Once a row's cell (or the whole row, column None) has been reported by ``block``, later
    checks stay silent about it: a value the API could not read is not also "required".
    """

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.bad = np.zeros(len(rows), dtype=bool)
        self.items: list[RowError] = []
        self._blocked: set[tuple[int, str | None]] = set()

    def block(self, position: int, column: str | None, reason: str) -> None:
        self.bad[position] = True
        self._blocked.add((position, column))
        self.items.append({"row": int(self.rows[position]), "column": column, "reason": reason})

    def _reportable(self, positions: np.ndarray, column: str | None) -> Iterator[int]:
        reported = 0
        for position in positions.tolist():
            if reported >= MAX_ERRORS:
                return
            if self._blocked and ((position, column) in self._blocked or (position, None) in self._blocked):
                continue
            reported += 1
            yield position

    def add(self, mask: np.ndarray, column: str | None, reason: Callable[[int], str]) -> None:
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        self.bad[positions] = True
        for position in self._reportable(positions, column):
            self.items.append({"row": int(self.rows[position]), "column": column, "reason": reason(position)})

    def add_per_value(self, column: _Column, messages: np.ndarray, label: str) -> None:
        """``messages``: per distinct value, None or the reason that value is wrong."""
        failing = messages != None  # noqa: E711  (element-wise comparison on an object array)
        if failing.any():
            self.add(column.rows(failing), label, lambda position: messages[column.codes[position]])


_COPY_UNESCAPE = re.compile(r"\\(.)")
_COPY_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


@dataclass
class ValidatedChunk:
    """The valid rows of a chunk as COPY text, the chunk's errors and its bad-row count."""

    copy_text: str
    columns: tuple[str, ...]
    valid_rows: int
    errors: list[RowError]
    bad_rows: int
    # 64-bit hashes of the valid rows' deal ids, to find repeats across chunks cheaply.
    id_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    def first_row(self) -> dict[str, str | None]:
        """The first valid row's staged values (None for NULL); used by single-deal writes."""
        cells = dict(zip(self.columns, self.copy_text.split("\n", 1)[0].split("\t"), strict=True))
        return {
            name: None
            if cells.get(name, _COPY_NULL) == _COPY_NULL
            else _COPY_UNESCAPE.sub(lambda match: _COPY_UNESCAPES.get(match[1], match[1]), cells[name])
            for name, _ in STAGING_COLUMNS
        }


def _text_column(chunk: CanonicalChunk, name: str, spec: MappingSpec) -> _Column:
    raw = chunk.fields.get(name)
    default = spec.defaults.get(name, "")
    if raw is None:
        return _Column.constant(default, len(chunk))
    column = _Column.of(raw, distinct=name in ("crm_id", "name"))
    if default:
        column.values = np.where(column.values == "", default, column.values)
    return column


def _apply_value_map(chunk: CanonicalChunk, name: str, column: _Column, spec: MappingSpec) -> _Column:
    """``column`` through the spec's value map for ``name`` (see deals.mapping.ValueMap).

    Values no rule matches are kept as they are, except for ``status``, where they become None
    (the caller reports them with the raw text from ``column``).
    """
    value_map = spec.value_maps.get(name)
    if value_map is None:
        return column
    keep_unmatched = name != "status"

    def fallback(value: str) -> str | None:
        rule = value_map.empty if value == "" else value_map.otherwise
        if rule is not None:
            return rule
        return value if keep_unmatched else None

    def resolve(value: str) -> str | None:
        mapped = value_map.exact.get(normalise_value(value))
        return mapped if mapped is not None else fallback(value)

    active = [rule for rule in value_map.conditions if rule[0] in chunk.conditions]
    if not active:
        return _Column(column.codes, column.map(resolve))
    # Rules on other columns (``IsWon=true``) apply per row, between exact values and fallbacks.
    rows = column.rows(column.map(lambda value: value_map.exact.get(normalise_value(value))))
    for column_key, expected, output in active:
        condition = _Column.of(chunk.conditions[column_key])
        matches = condition.rows(condition.map(normalise_value) == expected)
        rows = np.where((rows == None) & matches, output, rows)  # noqa: E711
    unresolved = np.flatnonzero(rows == None)  # noqa: E711
    if len(unresolved):
        raw = column.rows(column.values)
        rows[unresolved] = [fallback(value) for value in raw[unresolved]]
    codes, uniques = pd.factorize(rows, use_na_sentinel=False)
    return _Column(codes, np.asarray(uniques, dtype=object))


def _parse_dates(values: np.ndarray, formats: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct date texts with the spec's formats (first that fits wins).

    Returns (datetime64[D] array with NaT where empty or bad, bool array: bad and non-empty).
    """
    parsed = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
    remaining = np.flatnonzero(values != "")
    for date_format in formats:
        if not len(remaining):
            break
        attempt = pd.to_datetime(
            pd.Series(values[remaining], dtype=object), format=date_format, errors="coerce"
        )
        ok = attempt.notna().to_numpy()
        if ok.any():
            parsed[remaining[ok]] = attempt[ok].to_numpy().astype("datetime64[D]")
        remaining = remaining[~ok]
    bad = np.zeros(len(values), dtype=bool)
    bad[remaining] = True
    return parsed, bad


def _amount(spec: MappingSpec) -> Callable[[str], tuple[str | None, str | None]]:
    """Parser of one amount text → (plain decimal text, None) or (None, reason)."""
    symbols = tuple(symbol for symbol in spec.currency_symbols if symbol)
    thousands = spec.thousands_separator
    decimal = spec.decimal_separator
    grouping = (
        re.compile(rf"[0-9]{{1,3}}(?:{re.escape(thousands)}[0-9]{{3}})*(?:{re.escape(decimal)}[0-9]*)?")
        if thousands
        else None
    )
    label_format = f"1{thousands}234{decimal}56" if thousands else f"1234{decimal}56"

    def parse(raw: str) -> tuple[str | None, str | None]:
        if raw.isdigit() and raw.isascii() and len(raw) <= MAX_AMOUNT_INTEGER_DIGITS:
            return raw, None
        if _PLAIN_AMOUNT.fullmatch(raw):
            return raw, None
        text = raw.replace("\u00a0", " ").replace("\u202f", " ").strip()
        if not text:
            return None, "amount is required"
        if text.casefold() in _NOT_FINITE:
            return None, f"{_excerpt(raw)} is not a finite number"
        negative = False
        if text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1].strip()
        for symbol in symbols:
            text = text.replace(symbol, "")
        text = text.strip()
        if text.startswith("-") or text.endswith("-"):
            negative, text = True, text.strip("-").strip()
        text = text.removeprefix("+").strip()
        if _LEADING_CODE.match(text) or _TRAILING_CODE.search(text):
            text = _TRAILING_CODE.sub("", _LEADING_CODE.sub("", text)).strip()
        if thousands and thousands in text:
            if grouping is None or not grouping.fullmatch(text):
                return None, f"{_excerpt(raw)} is not a number in the format {label_format}"
            text = text.replace(thousands, "")
        if decimal != ".":
            if "." in text:
                return None, f"{_excerpt(raw)} is not a number in the format {label_format}"
            text = text.replace(decimal, ".")
        if not _NUMBER.fullmatch(text):
            return None, f"{_excerpt(raw)} is not a number"
        if negative and text.strip("0.") != "":
            return None, f"amount is negative ({_excerpt(raw)})"
        integer_digits = len(text.split(".")[0].lstrip("0"))
        # Stored rounded to cents, so 99999999999999.999 would overflow numeric(16, 2) too.
        if integer_digits > MAX_AMOUNT_INTEGER_DIGITS or round(Decimal(text), 2) >= MAX_AMOUNT:
            return None, f"amount {_excerpt(raw)} is too large (at most 14 digits before the decimal point)"
        return text, None

    return parse


def _copy_value(value: Any) -> str:
    if value is None:
        return _COPY_NULL
    return str(value).translate(_COPY_ESCAPES)


def _copy_values(values: np.ndarray) -> np.ndarray:
    """COPY text of each value: NULL for None, escaped text otherwise (cheap when no escapes)."""
    texts = [value for value in values.tolist() if value is not None]
    if len(texts) == len(values):
        joined = "".join(texts)
        if "\\" not in joined and "\t" not in joined and "\n" not in joined and "\r" not in joined:
            return values
    return np.fromiter(map(_copy_value, values), dtype=object, count=len(values))


def validate_chunk(chunk: CanonicalChunk, context: ValidationContext) -> ValidatedChunk:
    """Validate one chunk; return its valid rows as COPY text plus every problem found.

    Row errors name the column as the input names it (``context.labels``). Pure: no database.
    """
    errors = _Errors(chunk.rows)
    for position, column, reason in chunk.errors:
        name = context.labels(column) if column in CANONICAL_FIELDS else column
        errors.block(position, name or None, reason)
    if chunk.check_text:
        _check_text(chunk, errors, context.labels)

    staged: dict[str, np.ndarray | None] = {
        "row_number": np.array(list(map(str, chunk.rows.tolist())), dtype=object)
    }
    staged["crm_id"], id_hashes = _validate_crm_id(chunk, context, errors)
    for name in (
        "name",
        "industry",
        "region",
        "product_type",
        "lead_source",
        "rep_crm_id",
        "rep_name",
        "rep_email",
    ):
        staged[name] = _validate_text(chunk, name, context, errors)
    staged["stage"] = _validate_stage(chunk, context, errors)
    staged["amount"] = _validate_amount(chunk, context, errors)
    staged["currency"] = _validate_currency(chunk, context, errors)
    staged.update(_validate_dates_and_outcome(chunk, context, errors))
    staged["extra"] = _extra_rows(chunk, errors)
    return _copy_chunk(staged, errors, id_hashes)


def _copy_chunk(
    staged: Mapping[str, np.ndarray | None], errors: _Errors, id_hashes: np.ndarray
) -> ValidatedChunk:
    """The valid rows as COPY text, leaving out columns that are NULL on every row."""
    keep = ~errors.bad
    valid_rows = int(keep.sum())
    columns: list[str] = []
    cells: list[list[str]] = []
    if valid_rows:
        for name, _ in STAGING_COLUMNS:
            values = staged.get(name)
            if values is None:
                continue
            values = values[keep] if valid_rows < len(keep) else values
            if name != "row_number" and not (values != _COPY_NULL).any():
                continue
            columns.append(name)
            cells.append(values.tolist())
    copy_text = "\n".join(map("\t".join, zip(*cells, strict=True))) + "\n" if cells else ""
    return ValidatedChunk(
        copy_text=copy_text,
        columns=tuple(columns),
        valid_rows=valid_rows,
        errors=errors.items,
        bad_rows=int(errors.bad.sum()),
        id_hashes=id_hashes[keep],
    )


def _none_where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A copy of the object array ``values`` with None where ``mask`` is true."""
    result = values.astype(object, copy=True)
    result[mask] = None
    return result


def _lengths(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def _messages(values: np.ndarray, failing: np.ndarray, message: Callable[[str], str]) -> np.ndarray:
    """Per value: None, or ``message(value)`` where ``failing``."""
    messages = np.full(len(values), None, dtype=object)
    for position in np.flatnonzero(failing):
        messages[position] = message(values[position])
    return messages


def _validate_crm_id(
    chunk: CanonicalChunk, context: ValidationContext, errors: _Errors
) -> tuple[np.ndarray, np.ndarray]:
    """Deal id: required, at most 100 characters. Returns (COPY text, 64-bit hash) per row.

    Uniqueness is checked across the whole input by run_import: the hashes find candidates,
    SQL confirms them and names the rows.
    """
    crm = _text_column(chunk, "crm_id", context.spec)
    lengths = _lengths(crm.values)
    limit = TEXT_LIMITS["crm_id"]
    messages = _messages(
        crm.values,
        (lengths == 0) | (lengths > limit),
        lambda value: (
            "deal id is empty"
            if value == ""
            else f"deal id is {len(value):,} characters long; the limit is {limit}"
        ),
    )
    errors.add_per_value(crm, messages, context.labels("crm_id"))
    hashes = pd.util.hash_array(np.asarray(crm.values, dtype=object), categorize=False)
    return crm.rows(_copy_values(crm.values)), crm.rows(hashes)


def _validate_text(
    chunk: CanonicalChunk, name: str, context: ValidationContext, errors: _Errors
) -> np.ndarray | None:
    """A plain text field: stripped, length-checked, kept verbatim (HTML stays text)."""
    if name not in chunk.fields and name not in context.spec.defaults:
        return None
    column = _apply_value_map(chunk, name, _text_column(chunk, name, context.spec), context.spec)
    limit = TEXT_LIMITS[name]
    human = CANONICAL_FIELDS[name]
    messages = _messages(
        column.values,
        _lengths(column.values) > limit,
        lambda value: f"{human} is {len(value):,} characters long; the limit is {limit}",
    )
    if name == "rep_email":
        for position, value in enumerate(column.values):
            if value and messages[position] is None and not _EMAIL.fullmatch(value):
                messages[position] = f"{_excerpt(value)} is not an email address"
    errors.add_per_value(column, messages, context.labels(name))
    values = column.values
    if name.startswith("rep_"):
        values = _none_where(values == "", values)
    return column.rows(_copy_values(values))


def _validate_stage(chunk: CanonicalChunk, context: ValidationContext, errors: _Errors) -> np.ndarray:
    """Stage after the value map: one of the tenant's stages, matched without case."""
    column = _apply_value_map(chunk, "stage", _text_column(chunk, "stage", context.spec), context.spec)
    stages = np.array([context.stage_lookup.get(value.casefold()) for value in column.values], dtype=object)
    stage_names = ", ".join(context.stages)
    messages = _messages(
        column.values,
        stages == None,  # noqa: E711
        lambda value: (
            "stage is required"
            if value == ""
            else f"unknown stage {_excerpt(value)}; this workspace's stages are {stage_names}"
        ),
    )
    errors.add_per_value(column, messages, context.labels("stage"))
    return column.rows(_copy_values(stages))


_PLAIN_AMOUNTS = re.compile(r"(?:[0-9]{1,14}(?:\.[0-9]{1,2})?\n)*[0-9]{1,14}(?:\.[0-9]{1,2})?")


def _validate_amount(chunk: CanonicalChunk, context: ValidationContext, errors: _Errors) -> np.ndarray:
    column = _text_column(chunk, "amount", context.spec)
    joined = "\n".join(column.values.tolist())
    if joined and joined.count("\n") == len(column.values) - 1 and _PLAIN_AMOUNTS.fullmatch(joined):
        # Every amount is already a plain decimal (the common case): one regex for the chunk.
        return column.rows(column.values)
    results = column.map(_amount(context.spec))
    errors.add_per_value(
        column, np.array([reason for _, reason in results], dtype=object), context.labels("amount")
    )
    return column.rows(np.array([_COPY_NULL if text is None else text for text, _ in results], dtype=object))


def _validate_currency(chunk: CanonicalChunk, context: ValidationContext, errors: _Errors) -> np.ndarray:
    """A 3-letter code, upper-cased; empty means the mapping's (else the tenant's) default."""
    column = _text_column(chunk, "currency", context.spec)
    messages = _messages(
        column.values,
        np.array(
            [value != "" and not _CURRENCY_CODE.fullmatch(value) for value in column.values], dtype=bool
        ),
        lambda value: f"currency {_excerpt(value)} is not a 3-letter code like USD",
    )
    errors.add_per_value(column, messages, context.labels("currency"))
    default = context.spec.default_currency or context.default_currency
    return column.rows(
        np.array([value.upper() if value else default for value in column.values], dtype=object)
    )


def _validate_dates(
    chunk: CanonicalChunk, name: str, context: ValidationContext, errors: _Errors
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a date field once per distinct text. Returns (datetime64[D] per row, empty per row)."""
    spec = context.spec
    column = _text_column(chunk, name, spec)
    parsed, bad = _parse_dates(column.values, spec.date_formats)
    years = parsed.astype("datetime64[Y]").astype(np.int64) + 1970
    out_of_range = ~np.isnat(parsed) & ((years < MIN_YEAR) | (years > MAX_YEAR))
    formats = " or ".join(spec.date_formats)
    messages = _messages(
        column.values, bad, lambda value: f"{_excerpt(value)} is not a valid date in the format {formats}"
    )
    for position in np.flatnonzero(out_of_range):
        messages[position] = f"{_excerpt(column.values[position])} is outside the years {MIN_YEAR}–{MAX_YEAR}"
    errors.add_per_value(column, messages, context.labels(name))
    parsed = np.where(out_of_range, np.datetime64("NaT"), parsed)
    return column.rows(parsed), column.rows(column.values == "")


def _validate_dates_and_outcome(
    chunk: CanonicalChunk, context: ValidationContext, errors: _Errors
) -> dict[str, np.ndarray]:
    """Dates and the outcome together: closing rules tie the status to the closed date."""
    spec = context.spec
    label = context.labels
    dates = {name: _validate_dates(chunk, name, context, errors) for name in DATE_FIELDS}
    created, created_empty = dates["created_date"]
    closed, closed_empty = dates["closed_date"]
    expected = dates["expected_close_date"][0]
    errors.add(created_empty, label("created_date"), lambda _position: "created date is required")

    raw_status = _text_column(chunk, "status", spec)
    mapped = _apply_value_map(chunk, "status", raw_status, spec)
    status = mapped.rows(mapped.values)
    unknown = status == None  # noqa: E711
    if unknown.any():
        words = _status_words(spec)
        errors.add(
            unknown,
            label("status"),
            lambda position: (
                f"unknown outcome {_excerpt(raw_status.values[raw_status.codes[position]])}; expected {words}"
            ),
        )
    is_open = status == "open"
    has_closed = ~np.isnat(closed)
    if spec.open_deal_close_date == "expected_close_date":
        # Salesforce and HubSpot put an open deal's expected close date in "Close Date".
        move = is_open & has_closed
        if move.any():
            expected = np.where(move & np.isnat(expected), closed, expected)
            closed = np.where(move, np.datetime64("NaT"), closed)
            has_closed = ~np.isnat(closed)
    else:
        errors.add(
            is_open & has_closed,
            label("closed_date"),
            lambda _position: "an open deal (empty outcome) cannot have a closed date",
        )
    is_closed = (status == "won") | (status == "lost")
    errors.add(
        is_closed & closed_empty,
        label("closed_date"),
        lambda position: f"a {status[position]} deal needs a closed date",
    )
    errors.add(
        has_closed & (closed < created),
        label("closed_date"),
        lambda position: f"closed date {closed[position]} is before the created date {created[position]}",
    )
    return {
        "created_date": _iso_rows(created),
        "closed_date": _iso_rows(closed),
        "expected_close_date": _iso_rows(expected),
        "stage_entered_date": _iso_rows(dates["stage_entered_date"][0]),
        "status": _copy_values(_none_where(unknown, status)),
    }


def _status_words(spec: MappingSpec) -> str:
    value_map = spec.value_maps.get("status")
    if value_map is None:
        return "open, won or lost"
    words = sorted(set(value_map.exact))
    if value_map.empty is not None:
        words.append("empty")
    return ", ".join(repr(word) if word != "empty" else "empty (an open deal)" for word in words)


def _iso_rows(values: np.ndarray) -> np.ndarray:
    """datetime64[D] per row → COPY text (ISO date, or NULL for NaT), formatted once per date."""
    codes, days = pd.factorize(values.astype("datetime64[D]").view(np.int64))
    nat = np.datetime64("NaT").astype("datetime64[D]").view(np.int64)
    texts = np.array(
        [_COPY_NULL if day == nat else str(np.datetime64(int(day), "D")) for day in days], dtype=object
    )
    return texts[codes]


def _check_text(chunk: CanonicalChunk, errors: _Errors, label: Callable[[str], str]) -> None:
    """Rows whose cells hold undecodable bytes or NUL characters (only run when the reader saw some)."""
    sources = [(label(name), values) for name, values in chunk.fields.items()]
    sources += list(chunk.extra.items())

    def problem(value: str) -> str | None:
        if _SURROGATE.search(value):
            return chunk.invalid_text_reason
        if "\x00" in value:
            return "contains a NUL byte (binary data?)"
        return None

    for column_label, values in sources:
        column = _Column.of(values)
        errors.add_per_value(column, column.map(problem), column_label)


def _extra_rows(chunk: CanonicalChunk, errors: _Errors) -> np.ndarray:
    """Deal.extra as COPY text of one JSON object per row (unmapped CSV columns, or API ``extra``)."""
    count = len(chunk)
    if chunk.extra_json is not None:
        return _copy_values(chunk.extra_json)
    if not chunk.extra:
        return np.full(count, "{}", dtype=object)
    parts: list[list[str]] = []
    for name, raw in chunk.extra.items():
        column = _Column.of(raw)
        errors.add_per_value(
            column,
            column.map(
                lambda value: (
                    f"cell is {len(value):,} characters long; the limit is {EXTRA_CELL_MAX_CHARS:,}"
                    if len(value) > EXTRA_CELL_MAX_CHARS
                    else None
                )
            ),
            name,
        )
        prefix = json.dumps(name, ensure_ascii=False) + ":"

        def member(value: str, prefix: str = prefix) -> str:
            # COPY's text format reads a backslash as an escape, and JSON escapes use them.
            return (prefix + json.dumps(value, ensure_ascii=False)).replace("\\", "\\\\")

        encoded = column.map(member)
        parts.append(column.rows(encoded).tolist())
    return np.fromiter(
        ("{" + ",".join(row) + "}" for row in zip(*parts, strict=True)), dtype=object, count=count
    )


# --------------------------------------------------------------------------------------------
# Staging and the set-based upsert
# --------------------------------------------------------------------------------------------

# Fields an input may leave out; when it does, known deals keep their value.
OPTIONAL_FIELDS = ("name", "expected_close_date", "industry", "region", "product_type", "lead_source")


def _create_staging(cursor: Any) -> None:
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in STAGING_COLUMNS)
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGING_TABLE}")
    cursor.execute(f"CREATE TEMP TABLE {STAGING_TABLE} ({columns}) ON COMMIT DROP")


def _copy_into_staging(cursor: Any, chunk: ValidatedChunk) -> None:
    names = ", ".join(chunk.columns)
    with cursor.copy(f"COPY pg_temp.{STAGING_TABLE} ({names}) FROM STDIN") as copy:
        copy.write(chunk.copy_text.encode("utf-8"))


def _duplicate_errors(cursor: Any, crm_label: str, row_word: str) -> tuple[int, list[RowError]]:
    """Rows repeating a deal id seen earlier in the input: (how many, the first MAX_ERRORS)."""
    cursor.execute(
        f"""
        WITH numbered AS (
            SELECT crm_id, row_number,
                   first_value(row_number) OVER (PARTITION BY crm_id ORDER BY row_number) AS first_row
            FROM pg_temp.{STAGING_TABLE}
            WHERE crm_id IN (
                SELECT crm_id FROM pg_temp.{STAGING_TABLE} GROUP BY crm_id HAVING count(*) > 1
            )
        )
        SELECT crm_id, row_number, first_row, count(*) OVER () FROM numbered
        WHERE row_number <> first_row ORDER BY row_number LIMIT %s
        """,
        [MAX_ERRORS],
    )
    found = cursor.fetchall()
    if not found:
        return 0, []
    errors: list[RowError] = [
        {
            "row": int(row_number),
            "column": crm_label,
            "reason": f"deal id {_excerpt(crm_id)} also appears on {row_word} {first_row}",
        }
        for crm_id, row_number, first_row, _ in found
    ]
    return int(found[0][3]), errors


def _upsert_sql(present: set[str]) -> str:
    """One statement: update known deals that differ, insert new ones, record stage moves.

    Known deals are matched on (tenant_id, crm_id) and only rewritten when a column the input
    carries IS DISTINCT FROM the stored value, so a re-import of the same file writes nothing.
    The pre-update values come from ``RETURNING old.…`` (PostgreSQL 18), so the table is joined
    once.
    """
    updated = ["created_date", "closed_date", "stage", "amount", "currency", "status", "sales_cycle_days"]
    updated += [name for name in OPTIONAL_FIELDS if name in present]
    if "rep_crm_id" in present:
        updated.append("rep_id")
    if "extra" in present:
        updated.append("extra")
    assignments = ",\n            ".join(f"{name} = s.{name}" for name in updated)
    compared_old = ", ".join(f"d.{name}" for name in updated)
    compared_new = ", ".join(f"s.{name}" for name in updated)
    entered_changed = ""
    if "stage_entered_date" in present:
        entered_changed = (
            "\n              OR (s.stage_entered_date IS NOT NULL"
            " AND s.stage_entered_date IS DISTINCT FROM d.stage_entered_date)"
        )
    return f"""
    WITH staged AS NOT MATERIALIZED (
        SELECT s.row_number, s.crm_id, COALESCE(s.name, '') AS name, s.created_date, s.closed_date,
               s.expected_close_date, s.stage_entered_date, r.id AS rep_id,
               COALESCE(s.industry, '') AS industry, COALESCE(s.region, '') AS region,
               COALESCE(s.product_type, '') AS product_type, COALESCE(s.lead_source, '') AS lead_source,
               s.stage, s.amount, s.currency, s.status, s.closed_date - s.created_date AS sales_cycle_days,
               COALESCE(s.extra, '{{}}') AS extra
        FROM pg_temp.{STAGING_TABLE} s
        LEFT JOIN deals_rep r ON r.tenant_id = %(tenant)s AND r.crm_id = s.rep_crm_id
    ),
    changed AS (
        UPDATE deals_deal AS d SET
            {assignments},
            stage_entered_date = CASE
                WHEN s.stage_entered_date IS NOT NULL THEN s.stage_entered_date
                WHEN d.stage IS DISTINCT FROM s.stage THEN %(today)s::date
                ELSE d.stage_entered_date END,
            updated_at = now()
        FROM staged s
        WHERE d.tenant_id = %(tenant)s AND d.crm_id = s.crm_id
          AND (({compared_old}) IS DISTINCT FROM ({compared_new}){entered_changed})
        RETURNING d.id, old.stage AS old_stage, new.stage, new.stage_entered_date,
                  (old.stage, old.amount, old.status, old.closed_date, old.expected_close_date)
                  IS DISTINCT FROM (new.stage, new.amount, new.status, new.closed_date,
                                    new.expected_close_date) AS scored_change
    ),
    created AS (
        INSERT INTO deals_deal (
            tenant_id, crm_id, name, created_date, closed_date, expected_close_date, rep_id,
            industry, region, product_type, lead_source, stage, stage_entered_date, amount,
            currency, status, sales_cycle_days, extra, created_at, updated_at
        )
        SELECT %(tenant)s, s.crm_id, s.name, s.created_date, s.closed_date, s.expected_close_date,
               s.rep_id, s.industry, s.region, s.product_type, s.lead_source, s.stage,
               s.stage_entered_date, s.amount, s.currency, s.status, s.sales_cycle_days, s.extra,
               now(), now()
        FROM staged s
        WHERE NOT EXISTS (
            SELECT 1 FROM deals_deal o WHERE o.tenant_id = %(tenant)s AND o.crm_id = s.crm_id
        )
        RETURNING id
    ),
    moves AS (
        INSERT INTO deals_dealstagechange
            (tenant_id, deal_id, from_stage, to_stage, changed_on, source, recorded_at)
        SELECT %(tenant)s, c.id, c.old_stage, c.stage, COALESCE(c.stage_entered_date, %(today)s::date),
               %(source)s, now()
        FROM changed c
        WHERE c.old_stage IS DISTINCT FROM c.stage
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM created),
           (SELECT count(*) FROM changed),
           (SELECT count(*) FROM moves),
           ARRAY(SELECT id FROM created UNION ALL SELECT id FROM changed WHERE scored_change ORDER BY 1)
    """


_REP_UPSERT = f"""
    INSERT INTO deals_rep AS r (tenant_id, crm_id, name, email, active)
    SELECT %(tenant)s, rep_crm_id, COALESCE(max(rep_name), ''), COALESCE(max(rep_email), ''), true
    FROM pg_temp.{STAGING_TABLE}
    WHERE rep_crm_id IS NOT NULL
    GROUP BY rep_crm_id
    ON CONFLICT (tenant_id, crm_id) DO UPDATE SET
        name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE r.name END,
        email = CASE WHEN EXCLUDED.email <> '' THEN EXCLUDED.email ELSE r.email END
    WHERE (EXCLUDED.name <> '' AND EXCLUDED.name IS DISTINCT FROM r.name)
       OR (EXCLUDED.email <> '' AND EXCLUDED.email IS DISTINCT FROM r.email)
"""


def run_import(
    source: CanonicalSource, *, context: ValidationContext, tenant_id: int, today: dt.date, change_source: str
) -> ImportOutcome:
    """Validate, stage and upsert everything ``source`` yields, as the active tenant.

    Must run inside a transaction (a savepoint) the caller rolls back on any exception: on an
    invalid input it raises :class:`ImportRejected` (carrying the errors) so nothing it wrote
    survives; ImportRefused from the source is turned into ImportRejected the same way.

    Chunks are staged while the next one is parsed: a :class:`_StagingWriter` thread COPYs chunk
    k into the staging table while this thread validates chunk k + 1, so on two cores the
    Python work and the COPY overlap.
    """
    outcome = ImportOutcome()
    errors: list[RowError] = []
    id_hashes: list[np.ndarray] = []
    with connection.cursor() as cursor:
        _create_staging(cursor)
        writer = _StagingWriter()
        try:
            for chunk in source.chunks():
                outcome.rows_read += len(chunk)
                validated = validate_chunk(chunk, context)
                outcome.rejected += validated.bad_rows
                errors.extend(validated.errors)
                if validated.valid_rows:
                    writer.submit(validated)
                    id_hashes.append(validated.id_hashes)
            writer.close()
        except ImportRefused as refused:
            writer.close(raise_errors=False)
            kept = sorted(errors, key=_error_order)[: MAX_ERRORS - len(refused.errors)]
            outcome.errors = kept + refused.errors
            raise ImportRejected(outcome) from refused
        except BaseException:
            writer.close(raise_errors=False)
            raise
        # A repeated deal id can span chunks: equal hashes point at candidates (8 bytes a row),
        # SQL confirms them and names both rows.
        duplicates, duplicate_errors = 0, list[RowError]()
        if _has_repeats(id_hashes):
            duplicates, duplicate_errors = _duplicate_errors(
                cursor, context.labels("crm_id"), source.row_word
            )
        outcome.rejected += duplicates
        if errors or outcome.rejected:
            outcome.errors = sorted(errors + duplicate_errors, key=_error_order)[:MAX_ERRORS]
            raise ImportRejected(outcome)
        if outcome.rows_read == 0:
            outcome.errors = [file_error("there are no rows to import; nothing was changed")]
            raise ImportRejected(outcome)

        params: dict[str, Any] = {"tenant": tenant_id, "today": today, "source": change_source}
        # One writer per tenant at a time: a second import of the same tenant waits here and then
        # sees the first one's deals as known (instead of failing on the same new ids).
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_NAMESPACE << 32 | tenant_id])
        present = set(source.present_fields)
        if source.has_extra:
            present.add("extra")
        if "rep_crm_id" in present:
            cursor.execute(_REP_UPSERT, params)
        # Right after a large import the table's statistics are stale (a tenant "has 80 deals"
        # when it has a million); a nested loop planned on that is quadratic. Hash joins are
        # linear whatever the estimates say.
        with planner_setting(cursor, "enable_nestloop", "off"):
            cursor.execute(_upsert_sql(present), params)
            created, updated, moves, deal_ids = cursor.fetchone()
        cursor.execute(f"DROP TABLE pg_temp.{STAGING_TABLE}")
    outcome.created = int(created)
    outcome.updated = int(updated)
    outcome.unchanged = outcome.rows_read - outcome.created - outcome.updated
    outcome.stage_changes = int(moves)
    outcome.deal_ids = list(deal_ids)
    return outcome


class _StagingWriter:
    """COPYs validated chunks into the staging table on a background thread, in input order.

    The thread uses the same database connection (so the same transaction) through psycopg;
    the caller's thread does not touch the connection until :meth:`close` has waited for the
    last chunk. At most one chunk is in flight, so memory stays at two chunks.
    """

    def __init__(self) -> None:
        self._raw = connection.connection
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deal-import")
        self._pending: Future[None] | None = None

    def submit(self, chunk: ValidatedChunk) -> None:
        self._wait()
        self._pending = self._executor.submit(self._write, chunk)

    def _write(self, chunk: ValidatedChunk) -> None:
        with self._raw.cursor() as cursor:
            _copy_into_staging(cursor, chunk)

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self, *, raise_errors: bool = True) -> None:
        """Wait for the last chunk; re-raise its error unless the caller is already failing."""
        try:
            self._wait()
        except Exception:
            if raise_errors:
                raise
        finally:
            self._executor.shutdown(wait=True)


def _has_repeats(hashes: list[np.ndarray]) -> bool:
    if not hashes:
        return False
    ordered = np.sort(np.concatenate(hashes))
    return bool((ordered[1:] == ordered[:-1]).any())


def _error_order(error: RowError) -> tuple[int, str]:
    return (error["row"] if error["row"] is not None else -1, error["column"] or "")
