"""CRM field mappings: how a CRM export's columns and values become canonical deal fields.

A mapping is a JSON document (the *spec*; format in docs/import.md). Three presets ship in
code — ``standard`` (the columns of the SkyGeni sales data set; the default), ``salesforce``
(an Opportunity report export) and ``hubspot`` (a deals export). A tenant may store its own
specs as :class:`deals.models.FieldMapping` rows; a row named like a preset overrides it, and
``"extends": "<preset>"`` starts from a preset and changes only what it lists.

:func:`mapping_from_json` validates a spec and returns an immutable :class:`MappingSpec`;
every problem found is reported at once in :class:`MappingError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Canonical deal fields a source column can feed, with the human label used in messages.
CANONICAL_FIELDS: dict[str, str] = {
    "crm_id": "deal id",
    "name": "deal name",
    "created_date": "created date",
    "closed_date": "closed date",
    "expected_close_date": "expected close date",
    "stage_entered_date": "stage entered date",
    "rep_crm_id": "rep id",
    "rep_name": "rep name",
    "rep_email": "rep email",
    "industry": "industry",
    "region": "region",
    "product_type": "product type",
    "lead_source": "lead source",
    "stage": "stage",
    "amount": "amount",
    "currency": "currency",
    "status": "outcome",
    # Recognised so it does not land in Deal.extra; the value is always re-derived.
    "sales_cycle_days": "sales cycle days",
}
# Every import must be able to fill these (from a column, a value map rule or a default).
REQUIRED_FIELDS = ("crm_id", "created_date", "stage", "amount")
DATE_FIELDS = ("created_date", "closed_date", "expected_close_date", "stage_entered_date")
STATUSES = ("open", "won", "lost")
OPEN_DEAL_CLOSE_DATE_CHOICES = ("reject", "expected_close_date")
DEFAULT_CURRENCY_SYMBOLS = ("$", "€", "£", "¥", "₹")

_SPEC_KEYS = {
    "extends",
    "description",
    "columns",
    "required",
    "value_maps",
    "date_format",
    "decimal_separator",
    "thousands_separator",
    "currency_symbols",
    "default_currency",
    "defaults",
    "delimiter",
    "open_deal_close_date",
}
_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")


class MappingError(ValueError):
    """A mapping spec is invalid or unknown. ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def normalise_header(value: str) -> str:
    """How headers are compared: surrounding space stripped, case folded."""
    return value.strip().casefold()


def normalise_value(value: str) -> str:
    """How cells are looked up in value maps: surrounding space stripped, case folded."""
    return value.strip().casefold()


@dataclass(frozen=True)
class ValueMap:
    """Rules turning one canonical field's raw cell into its value.

    Lookup order: the cell itself (``exact``, keys normalised), then ``conditions`` on other
    columns of the same row (``Column=value`` keys, first match wins), then ``empty`` for an
    empty cell, then ``otherwise`` (``*``). ``None`` in ``empty``/``otherwise`` means "no rule".
    """

    exact: Mapping[str, str]
    conditions: tuple[tuple[str, str, str], ...] = ()
    empty: str | None = None
    otherwise: str | None = None

    def lookup(self, raw: str) -> str | None:
        """The mapped value of ``raw`` ignoring conditions, or None when no rule matches."""
        key = normalise_value(raw)
        if key in self.exact:
            return self.exact[key]
        if key == "":
            return self.empty
        return self.otherwise


@dataclass(frozen=True)
class MappingSpec:
    """A validated mapping (see the module docstring and docs/import.md)."""

    name: str
    columns: Mapping[str, tuple[str, ...]]
    required: tuple[str, ...]
    value_maps: Mapping[str, ValueMap]
    date_formats: tuple[str, ...]
    decimal_separator: str = "."
    thousands_separator: str = ""
    currency_symbols: tuple[str, ...] = DEFAULT_CURRENCY_SYMBOLS
    default_currency: str | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = ","
    open_deal_close_date: str = "reject"
    description: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def sources_of(self, canonical: str) -> list[str]:
        """Source columns feeding ``canonical``, in spec order."""
        return [source for source, targets in self.columns.items() if canonical in targets]


_STANDARD: dict[str, Any] = {
    "description": "The columns of the SkyGeni sales data set (and of our demo generator).",
    "columns": {
        "deal_id": "crm_id",
        "created_date": "created_date",
        "closed_date": "closed_date",
        "sales_rep_id": "rep_crm_id",
        "industry": "industry",
        "region": "region",
        "product_type": "product_type",
        "lead_source": "lead_source",
        "deal_stage": "stage",
        "deal_amount": "amount",
        "sales_cycle_days": "sales_cycle_days",
        "outcome": "status",
        "deal_name": "name",
        "expected_close_date": "expected_close_date",
        "stage_entered_date": "stage_entered_date",
        "currency": "currency",
        "rep_name": "rep_name",
        "rep_email": "rep_email",
    },
    "required": ["deal_id", "created_date", "closed_date", "deal_stage", "deal_amount", "outcome"],
    "value_maps": {"status": {"Won": "won", "Lost": "lost", "Open": "open", "": "open"}},
    "date_format": "%Y-%m-%d",
    "decimal_separator": ".",
    "thousands_separator": "",
}

# Salesforce "Opportunities" report exported as CSV (Details only, US locale). "Close Date" of an
# open opportunity is its expected close date. Region: Salesforce has no standard region field on
# the opportunity, so "Billing Country" (of the account) is used, or a custom "Region" column.
_SALESFORCE: dict[str, Any] = {
    "description": "Salesforce Opportunities report export (Details only, CSV).",
    "columns": {
        "Opportunity ID": "crm_id",
        "Opportunity Name": "name",
        "Created Date": "created_date",
        "Close Date": "closed_date",
        "Opportunity Owner": ["rep_crm_id", "rep_name"],
        "Owner Email": "rep_email",
        "Stage": ["stage", "status"],
        "Amount": "amount",
        "Opportunity Currency": "currency",
        "Amount Currency": "currency",
        "Industry": "industry",
        "Region": "region",
        "Billing Country": "region",
        "Type": "product_type",
        "Lead Source": "lead_source",
    },
    "required": ["Opportunity ID", "Created Date", "Close Date", "Stage", "Amount"],
    "value_maps": {
        "stage": {
            "Prospecting": "Qualified",
            "Qualification": "Qualified",
            "Needs Analysis": "Demo",
            "Value Proposition": "Demo",
            "Id. Decision Makers": "Proposal",
            "Perception Analysis": "Proposal",
            "Proposal/Price Quote": "Proposal",
            "Negotiation/Review": "Negotiation",
            "Closed Won": "Closed",
            "Closed Lost": "Closed",
        },
        "status": {
            "Closed Won": "won",
            "Closed Lost": "lost",
            "Won=1": "won",
            "Won=true": "won",
            "Closed=1": "lost",
            "Closed=true": "lost",
            "*": "open",
        },
    },
    "date_format": ["%m/%d/%Y", "%Y-%m-%d"],
    "decimal_separator": ".",
    "thousands_separator": ",",
    "defaults": {"amount": "0"},
    "open_deal_close_date": "expected_close_date",
}

# HubSpot deals export (CSV). Stages come as labels or internal ids; both are mapped.
_HUBSPOT: dict[str, Any] = {
    "description": "HubSpot deals export (CSV), default sales pipeline.",
    "columns": {
        "Record ID": "crm_id",
        "Deal Name": "name",
        "Create Date": "created_date",
        "Close Date": "closed_date",
        "Deal owner": ["rep_crm_id", "rep_name"],
        "Deal Stage": ["stage", "status"],
        "Amount": "amount",
        "Currency": "currency",
        "Deal Type": "product_type",
        "Industry": "industry",
        "Region": "region",
        "Original Source Type": "lead_source",
        "Original Traffic Source": "lead_source",
    },
    "required": ["Record ID", "Create Date", "Close Date", "Deal Stage", "Amount"],
    "value_maps": {
        "stage": {
            "appointmentscheduled": "Qualified",
            "Appointment Scheduled": "Qualified",
            "qualifiedtobuy": "Qualified",
            "Qualified To Buy": "Qualified",
            "presentationscheduled": "Demo",
            "Presentation Scheduled": "Demo",
            "decisionmakerboughtin": "Proposal",
            "Decision Maker Bought-In": "Proposal",
            "contractsent": "Negotiation",
            "Contract Sent": "Negotiation",
            "closedwon": "Closed",
            "Closed Won": "Closed",
            "closedlost": "Closed",
            "Closed Lost": "Closed",
        },
        "status": {
            "closedwon": "won",
            "Closed Won": "won",
            "closedlost": "lost",
            "Closed Lost": "lost",
            "*": "open",
        },
    },
    "date_format": ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"],
    "decimal_separator": ".",
    "thousands_separator": ",",
    "defaults": {"amount": "0"},
    "open_deal_close_date": "expected_close_date",
}

PRESETS: dict[str, dict[str, Any]] = {
    "standard": _STANDARD,
    "salesforce": _SALESFORCE,
    "hubspot": _HUBSPOT,
}
DEFAULT_MAPPING = "standard"

# The API bulk upsert speaks canonical field names and ISO dates; extra keys are refused there.
API_SPEC_JSON: dict[str, Any] = {
    "description": "Canonical field names (API bulk upsert and single-deal writes).",
    "columns": {name: name for name in CANONICAL_FIELDS},
    "required": [],
    "value_maps": {"status": {"open": "open", "won": "won", "lost": "lost", "": "open"}},
    "date_format": "%Y-%m-%d",
    "currency_symbols": [],
}


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: columns merge by source, value maps by field."""
    merged = {key: value for key, value in base.items() if key != "description"}
    for key, value in override.items():
        if key == "extends":
            continue
        if key == "columns" and isinstance(value, Mapping):
            merged["columns"] = {**base.get("columns", {}), **value}
        elif key == "value_maps" and isinstance(value, Mapping):
            merged["value_maps"] = {**base.get("value_maps", {}), **value}
        else:
            merged[key] = value
    return merged


def _targets(source: str, value: Any, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    targets = [value] if isinstance(value, str) else value
    if not isinstance(targets, list) or not all(isinstance(item, str) for item in targets):
        problems.append(f"columns[{source!r}] must be a field name, a list of field names, or null.")
        return ()
    unknown = [item for item in targets if item not in CANONICAL_FIELDS]
    if unknown:
        problems.append(
            f"columns[{source!r}] maps to unknown field(s) {', '.join(map(repr, unknown))}; "
            f"known fields: {', '.join(CANONICAL_FIELDS)}."
        )
    return tuple(item for item in targets if item in CANONICAL_FIELDS)


def _value_map(field_name: str, rules: Any, problems: list[str]) -> ValueMap | None:
    if field_name not in CANONICAL_FIELDS:
        problems.append(f"value_maps has unknown field {field_name!r}.")
        return None
    if not isinstance(rules, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in rules.items()
    ):
        problems.append(f"value_maps[{field_name!r}] must be an object of text → text.")
        return None
    exact: dict[str, str] = {}
    conditions: list[tuple[str, str, str]] = []
    empty = otherwise = None
    for key, value in rules.items():
        if field_name == "status" and value not in STATUSES:
            problems.append(
                f"value_maps['status'][{key!r}] is {value!r}; it must be one of {', '.join(STATUSES)}."
            )
        if key == "*":
            otherwise = value
        elif key == "":
            empty = value
        elif "=" in key:
            column, _, expected = key.partition("=")
            conditions.append((normalise_header(column), normalise_value(expected), value))
        else:
            exact[normalise_value(key)] = value
    return ValueMap(exact=exact, conditions=tuple(conditions), empty=empty, otherwise=otherwise)


def _text_list(data: Mapping[str, Any], key: str, default: list[str], problems: list[str]) -> list[str]:
    value = data.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{key} must be a text or a list of texts.")
        return default
    return value


def _separator(data: Mapping[str, Any], key: str, default: str, problems: list[str]) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or len(value) > 1 or value.isdigit() or value.isalpha():
        problems.append(f"{key} must be one character that is not a letter or digit (or empty).")
        return default
    return value


def mapping_from_json(data: Mapping[str, Any], *, name: str = "custom") -> MappingSpec:
    """Validate a mapping spec (already parsed JSON) and return it as a :class:`MappingSpec`.

    ``"extends": "<preset>"`` is resolved against the presets. Raises :class:`MappingError`
    listing every problem (unknown keys, unknown fields, a required field nobody feeds, …).
    """
    if not isinstance(data, Mapping):
        raise MappingError(["a mapping must be a JSON object."])
    problems: list[str] = []
    base = data.get("extends")
    if base is not None:
        if base not in PRESETS:
            raise MappingError([f"extends names unknown preset {base!r}; presets: {', '.join(PRESETS)}."])
        data = _merge(PRESETS[base], data)
    unknown_keys = sorted(set(data) - _SPEC_KEYS)
    if unknown_keys:
        problems.append(
            f"unknown key(s) {', '.join(map(repr, unknown_keys))}; known: {', '.join(sorted(_SPEC_KEYS))}."
        )

    raw_columns = data.get("columns")
    columns: dict[str, tuple[str, ...]] = {}
    if not isinstance(raw_columns, Mapping) or not raw_columns:
        problems.append("columns must be a non-empty object of source column → field name.")
    else:
        seen: dict[str, str] = {}
        for source, value in raw_columns.items():
            if not isinstance(source, str) or not source.strip():
                problems.append("columns has an empty source column name.")
                continue
            key = normalise_header(source)
            if key in seen:
                problems.append(f"columns lists {source!r} twice (also as {seen[key]!r}).")
            seen[key] = source
            columns[source.strip()] = _targets(source, value, problems)

    value_maps: dict[str, ValueMap] = {}
    raw_maps = data.get("value_maps", {})
    if not isinstance(raw_maps, Mapping):
        problems.append("value_maps must be an object of field name → {value: mapped value}.")
    else:
        for field_name, rules in raw_maps.items():
            built = _value_map(field_name, rules, problems)
            if built is not None:
                value_maps[field_name] = built

    date_formats = _text_list(data, "date_format", ["%Y-%m-%d"], problems)
    if not date_formats:
        problems.append("date_format must name at least one format.")
    for date_format in date_formats:
        if "%" not in date_format:
            problems.append(f"date_format {date_format!r} has no strftime directive (like %Y-%m-%d).")

    decimal_separator = _separator(data, "decimal_separator", ".", problems) or "."
    thousands_separator = _separator(data, "thousands_separator", "", problems)
    if thousands_separator and thousands_separator == decimal_separator:
        problems.append("decimal_separator and thousands_separator must differ.")
    delimiter = _separator(data, "delimiter", ",", problems) or ","
    currency_symbols = _text_list(data, "currency_symbols", list(DEFAULT_CURRENCY_SYMBOLS), problems)

    default_currency = data.get("default_currency")
    if default_currency is not None and (
        not isinstance(default_currency, str) or not _CURRENCY_CODE.match(default_currency)
    ):
        problems.append("default_currency must be a 3-letter currency code like USD, or null.")
        default_currency = None

    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping) or not all(
        key in CANONICAL_FIELDS and isinstance(value, str) for key, value in defaults.items()
    ):
        problems.append("defaults must be an object of field name → text.")
        defaults = {}

    open_deal_close_date = data.get("open_deal_close_date", "reject")
    if open_deal_close_date not in OPEN_DEAL_CLOSE_DATE_CHOICES:
        problems.append(f"open_deal_close_date must be one of {', '.join(OPEN_DEAL_CLOSE_DATE_CHOICES)}.")

    required = _text_list(data, "required", [], problems)
    known_sources = {normalise_header(source) for source in columns}
    for source in required:
        if normalise_header(source) not in known_sources:
            problems.append(f"required names {source!r}, which is not in columns.")

    fed = {target for targets in columns.values() for target in targets} | set(defaults)
    for canonical in REQUIRED_FIELDS:
        if canonical not in fed:
            problems.append(f"no column maps to the required field {canonical!r}.")

    if problems:
        raise MappingError(problems)
    return MappingSpec(
        name=name,
        columns=columns,
        required=tuple(source.strip() for source in required),
        value_maps=value_maps,
        date_formats=tuple(date_formats),
        decimal_separator=decimal_separator,
        thousands_separator=thousands_separator,
        currency_symbols=tuple(currency_symbols),
        default_currency=default_currency.upper() if default_currency else None,
        defaults=dict(defaults),
        delimiter=delimiter,
        open_deal_close_date=open_deal_close_date,
        description=str(data.get("description", "")),
        raw=dict(data),
    )


def mapping_load_file(path: str | Path) -> MappingSpec:
    """Read and validate a mapping file (JSON). Raises :class:`MappingError` when it is invalid."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MappingError([f"cannot read mapping file {path}: {error.strerror}."]) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MappingError([f"mapping file {path} is not valid JSON: {error}."]) from error
    return mapping_from_json(data, name=path.stem[:60])


def mapping_preset(name: str) -> MappingSpec:
    """A preset by name. Raises :class:`MappingError` for an unknown name."""
    if name not in PRESETS:
        raise MappingError([f"unknown preset {name!r}; presets: {', '.join(PRESETS)}."])
    return mapping_from_json(PRESETS[name], name=name)


def mapping_resolve(name: str) -> MappingSpec:
    """The active tenant's mapping called ``name``: its FieldMapping row, else the preset.

    Needs an active tenant (raises NoTenantError otherwise). Raises :class:`MappingError` when
    neither exists or the stored spec is invalid.
    """
    from deals.models import FieldMapping

    row = FieldMapping.objects.filter(name=name).first()
    if row is not None:
        return mapping_from_json(row.spec, name=name)
    if name in PRESETS:
        return mapping_preset(name)
    available = sorted(set(PRESETS) | set(FieldMapping.objects.values_list("name", flat=True)))
    raise MappingError([f"unknown mapping {name!r}; available: {', '.join(available)}."])


def mapping_api() -> MappingSpec:
    """The canonical-name mapping used by the API bulk upsert and single-deal writes."""
    return mapping_from_json(API_SPEC_JSON, name="api")
