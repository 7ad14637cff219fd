"""The import wizard's helpers: where uploads wait, what a file's columns look like, and turning
the user's column choices into a mapping spec (deals.mapping's JSON format).

The import itself is deals.services.deals_import_file; nothing here validates or writes deals.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from deals.mapping import CANONICAL_FIELDS, MappingSpec, normalise_header, normalise_value
from salesintel.paths import LOCAL_DIR

# Enough of the file to show the columns, a few rows and the values of outcome/stage columns.
SNIFF_BYTES = 512 * 1024
SAMPLE_ROWS = 5
DISTINCT_LIMIT = 30
UNMAPPED = ""
# Fields whose raw values the wizard offers to translate (value maps).
VALUE_MAPPED_FIELDS = ("status", "stage")
STATUS_CHOICES = ("won", "lost", "open")


def upload_root() -> Path:
    """Where uploads wait between the wizard's steps (shared with the Celery worker)."""
    return Path(getattr(settings, "WEB_UPLOAD_DIR", LOCAL_DIR / "uploads"))


def upload_save(*, tenant_id: int, file: IO[bytes]) -> tuple[str, Path, int]:
    """Store an uploaded file under the tenant's folder; return (upload id, path, size in bytes)."""
    upload_id = uuid.uuid4().hex
    folder = upload_root() / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{upload_id}.csv"
    size = 0
    with path.open("wb") as out:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            out.write(chunk)
            size += len(chunk)
    return upload_id, path, size


def upload_path(*, tenant_id: int, upload_id: str) -> Path:
    """The stored file of ``upload_id`` in ``tenant_id``'s folder (ids are hex, so no traversal)."""
    if not upload_id.isalnum():
        raise ValueError("Bad upload id.")
    return upload_root() / str(tenant_id) / f"{upload_id}.csv"


@dataclass(frozen=True)
class SniffedFile:
    """The head of a CSV file: its columns, a few rows, and distinct values per column."""

    header: list[str]
    samples: list[list[str]]
    distinct: dict[str, list[str]]
    rows_scanned: int
    problem: str = ""


def sniff_csv(path: Path, *, delimiter: str = ",", encoding: str = "utf-8") -> SniffedFile:
    """Read the start of ``path``: header, SAMPLE_ROWS rows, up to DISTINCT_LIMIT values per column.

    Never raises on a bad file: ``problem`` says what is wrong (the import reports row errors).
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        return SniffedFile([], [], {}, 0, "The file is empty.")
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)("replace")
    text = decoder.decode(head)
    if len(head) == SNIFF_BYTES:
        # Drop the last, probably cut, line.
        text = text[: max(text.rfind("\n"), 0)]
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        return SniffedFile([], [], {}, 0, f"The file cannot be read as CSV: {error}.")
    if not rows or not any(cell.strip() for cell in rows[0]):
        return SniffedFile([], [], {}, 0, "The first row (the header) is empty.")
    header = [name.strip() for name in rows[0]]
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    distinct: dict[str, list[str]] = {}
    for index, name in enumerate(header):
        seen: list[str] = []
        for row in body:
            value = row[index].strip() if index < len(row) else ""
            if value not in seen:
                seen.append(value)
                if len(seen) > DISTINCT_LIMIT:
                    break
        distinct[name] = seen
    samples = [[row[i] if i < len(row) else "" for i in range(len(header))] for row in body[:SAMPLE_ROWS]]
    return SniffedFile(header, samples, distinct, len(body))


def target_options(spec: MappingSpec) -> list[tuple[str, str]]:
    """Choices for a column: unmapped, each canonical field, and the spec's multi-field targets."""
    options = [(UNMAPPED, "— not mapped (kept as an extra field) —")]
    options += [(name, label) for name, label in CANONICAL_FIELDS.items()]
    combos = {"+".join(targets) for targets in spec.columns.values() if len(targets) > 1}
    for combo in sorted(combos):
        labels = " and ".join(CANONICAL_FIELDS[name] for name in combo.split("+"))
        options.append((combo, f"{labels} (one column feeds both)"))
    return options


def suggested_targets(header: Sequence[str], spec: MappingSpec) -> dict[str, str]:
    """Each column's target under ``spec`` (matched like the import matches: normalised names)."""
    by_source = {normalise_header(source): "+".join(targets) for source, targets in spec.columns.items()}
    return {name: by_source.get(normalise_header(name), UNMAPPED) for name in header}


@dataclass
class ValueChoice:
    """One raw value of a value-mapped column and what it currently maps to."""

    raw: str
    mapped: str


@dataclass
class ValueMapDraft:
    field: str
    label: str
    column: str
    choices: list[ValueChoice] = field(default_factory=list)


def value_map_drafts(
    *, targets: Mapping[str, str], sniffed: SniffedFile, spec: MappingSpec, stages: Sequence[str]
) -> list[ValueMapDraft]:
    """For outcome and stage: the raw values seen in their column and the spec's translation."""
    drafts = []
    for field_name in VALUE_MAPPED_FIELDS:
        columns = [name for name, target in targets.items() if field_name in target.split("+")]
        if not columns:
            continue
        column = columns[0]
        value_map = spec.value_maps.get(field_name)
        draft = ValueMapDraft(field_name, CANONICAL_FIELDS[field_name], column)
        for raw in sniffed.distinct.get(column, []):
            mapped = value_map.lookup(raw) if value_map is not None else None
            if mapped is None:
                mapped = _identity(field_name, raw, stages)
            draft.choices.append(ValueChoice(raw, mapped or ""))
        drafts.append(draft)
    return drafts


def _identity(field_name: str, raw: str, stages: Sequence[str]) -> str | None:
    """A raw value that already is a canonical one (any case), else None."""
    wanted = normalise_value(raw)
    allowed = STATUS_CHOICES if field_name == "status" else stages
    return next((value for value in allowed if normalise_value(value) == wanted), None)


def spec_from_choices(
    *,
    base: MappingSpec,
    targets: Mapping[str, str],
    value_choices: Mapping[str, Mapping[str, str]],
    date_formats: Sequence[str],
    description: str = "",
) -> dict[str, Any]:
    """A mapping spec (JSON-ready) from the base mapping and the user's choices.

    Columns are exactly the user's mapped columns. Value maps start from the base's rules (so
    catch-alls like "*" and "Column=value" conditions survive) and add the user's explicit
    translations where they differ from the base's. Other settings (separators, defaults, …)
    come from the base unchanged.
    """
    spec = {key: value for key, value in base.raw.items() if key not in ("extends", "columns", "required")}
    columns: dict[str, Any] = {}
    for column, target in targets.items():
        if not target:
            continue
        parts = target.split("+")
        columns[column] = parts[0] if len(parts) == 1 else parts
    spec["columns"] = columns
    value_maps = {name: dict(rules) for name, rules in dict(base.raw.get("value_maps", {})).items()}
    for field_name, choices in value_choices.items():
        rules = value_maps.setdefault(field_name, {})
        current = base.value_maps.get(field_name)
        for raw, mapped in choices.items():
            # Only changes become rules: an exact rule would override the base's conditions.
            if mapped and mapped != (current.lookup(raw) if current is not None else None):
                rules[raw] = mapped
    spec["value_maps"] = value_maps
    spec["date_format"] = [fmt for fmt in date_formats if fmt] or list(base.date_formats)
    if description:
        spec["description"] = description
    return spec
