"""Writes for deals: file import, API bulk upsert, single-deal create/update, saved mappings.

The file import and the API bulk upsert share one engine (deals.importing): the same
validation, the same staging table and the same set-based upsert. Single-deal writes reuse the
same validation and record stage moves the same way.

Every function here runs as the active tenant (inside ``tenants.context.tenant_context``) and
raises ``NoTenantError`` otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from deals.importing import (
    CanonicalSource,
    ImportOutcome,
    ImportRefused,
    ImportRejected,
    RecordSource,
    RowError,
    ValidationContext,
    csv_source,
    run_import,
    validate_chunk,
)
from deals.mapping import DEFAULT_MAPPING, MappingSpec, mapping_api, mapping_from_json, mapping_resolve
from deals.models import Deal, DealStageChange, FieldMapping, ImportRun, ImportStatus, Rep
from deals.signals import deal_saved, deals_changed
from tenants.context import require_tenant_id
from tenants.models import Tenant

ENCODINGS = ("utf-8", "latin-1")


@dataclass(frozen=True)
class UpsertResult:
    """What ``deals_upsert_records`` did. ``errors`` are ``{index, field, reason}`` (0-based item
    index); when there are any, ``status`` is "rejected" and nothing was written."""

    status: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)
    import_run_id: int | None = None


def _active_tenant() -> Tenant:
    return Tenant.objects.get(pk=require_tenant_id())


def _spec(mapping: str | Mapping[str, Any] | MappingSpec) -> MappingSpec:
    if isinstance(mapping, MappingSpec):
        return mapping
    if isinstance(mapping, str):
        return mapping_resolve(mapping)
    return mapping_from_json(mapping, name="custom")


def _context(tenant: Tenant, spec: MappingSpec, source: CanonicalSource | None) -> ValidationContext:
    return ValidationContext(
        spec=spec,
        stages=list(tenant.stages),
        default_currency=tenant.currency,
        labels=source.column_label if source is not None else (lambda name: name),
    )


def _announce(*, tenant_id: int, deal_ids: list[int], reason: str) -> None:
    """Send deals_changed once the surrounding transaction commits."""
    if deal_ids:
        transaction.on_commit(
            partial(deals_changed.send, sender=Deal, tenant_id=tenant_id, deal_ids=deal_ids, reason=reason)
        )


def _run(
    *,
    run: ImportRun,
    tenant: Tenant,
    spec: MappingSpec,
    open_source: Callable[[], tuple[CanonicalSource, Callable[[], None]]],
    reason: str,
) -> tuple[ImportOutcome, str]:
    """Open the source and import it in a savepoint; fill ``run``; return (outcome, status).

    The savepoint is rolled back on any problem, and ``run`` is saved after that, outside it:
    a rejected import leaves its ImportRun and nothing else.
    """
    started = time.monotonic()
    status = ImportStatus.SUCCEEDED
    source: CanonicalSource | None = None
    try:
        with transaction.atomic():
            source, close = open_source()
            try:
                outcome = run_import(
                    source,
                    context=_context(tenant, spec, source),
                    tenant_id=tenant.pk,
                    today=tenant.today(),
                    change_source=reason,
                )
            finally:
                close()
    except ImportRefused as refused:
        outcome, status = ImportOutcome(errors=refused.errors), ImportStatus.REJECTED
    except ImportRejected as rejected:
        outcome, status = rejected.outcome, ImportStatus.REJECTED
    except Exception:
        run.status = ImportStatus.FAILED
        run.duration_ms = int((time.monotonic() - started) * 1000)
        # Recording the failure must not hide its cause (e.g. when the connection is gone).
        with contextlib.suppress(DatabaseError):
            run.save()
        raise
    run.file_sha256 = source.sha256_hex() if source is not None else ""
    run.status = status
    run.rows_read = outcome.rows_read
    run.rejected = outcome.rejected
    run.errors = list(outcome.errors)
    if status == ImportStatus.SUCCEEDED:
        run.created, run.updated, run.unchanged = outcome.created, outcome.updated, outcome.unchanged
    run.duration_ms = int((time.monotonic() - started) * 1000)
    run.save()
    if status == ImportStatus.SUCCEEDED:
        _announce(tenant_id=tenant.pk, deal_ids=outcome.deal_ids, reason=reason)
    return outcome, status


def deals_import_file(
    *,
    file: IO[bytes] | str | Path,
    file_name: str | None = None,
    mapping: str | Mapping[str, Any] | MappingSpec = DEFAULT_MAPPING,
    user: AbstractBaseUser | None = None,
    source: str = "cli",
    encoding: str = "utf-8",
) -> ImportRun:
    """Import a CRM export (CSV) into the active tenant's deals; all or nothing.

    ``file`` is a binary file object (e.g. an UploadedFile) or a path. ``mapping`` is a mapping
    name (the tenant's FieldMapping row, else a preset), a spec dict, or a MappingSpec.
    ``encoding`` is "utf-8" (a byte-order mark is fine) or "latin-1".

    Returns the saved ImportRun: status "succeeded" with created/updated/unchanged counts, or
    "rejected" with the first 100 errors ``{row, column, reason}`` (row as a spreadsheet shows
    it, header = 1) and the tenant's data untouched. Sends ``deals_changed`` (reason "import")
    on commit. Raises MappingError for an invalid mapping, ValueError for an unknown encoding,
    NoTenantError outside a tenant context.
    """
    tenant = _active_tenant()
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}")
    spec = _spec(mapping)
    if file_name is None:
        file_name = (
            Path(file).name if isinstance(file, str | Path) else str(getattr(file, "name", "upload.csv"))
        )
    run = ImportRun.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        source=source,
        file_name=Path(file_name).name[:300],
        file_sha256="",
        mapping_name=spec.name[:60],
        status=ImportStatus.RUNNING,
    )

    def open_source() -> tuple[CanonicalSource, Callable[[], None]]:
        return csv_source(file=file, spec=spec, encoding=encoding, limit=settings.IMPORT_MAX_UPLOAD_BYTES)

    _run(run=run, tenant=tenant, spec=spec, open_source=open_source, reason="import")
    return run


def deals_upsert_records(
    *,
    records: Iterable[Mapping[str, Any]],
    source: str = "api",
    user: AbstractBaseUser | None = None,
) -> UpsertResult:
    """Create or update deals from dicts keyed by canonical field names; all or nothing.

    Fields: crm_id, name, created_date, closed_date, expected_close_date, stage_entered_date
    (ISO dates or date objects), rep_crm_id, rep_name, rep_email, industry, region,
    product_type, lead_source, stage, amount (number or decimal text), currency, status
    ("open" | "won" | "lost"; empty = open), extra (object). Unknown keys are errors. A field no
    record carries is left as it is on known deals.

    Returns an UpsertResult; with any error nothing is written and ``errors`` lists
    ``{index, field, reason}`` (first 100). Records an ImportRun (source ``source``) and sends
    ``deals_changed`` (reason "api") on commit.
    """
    tenant = _active_tenant()
    spec = mapping_api()
    run = ImportRun.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        source=source,
        file_name="api bulk upsert",
        file_sha256="",
        mapping_name=spec.name,
        status=ImportStatus.RUNNING,
    )
    record_source = RecordSource(records)
    outcome, status = _run(
        run=run, tenant=tenant, spec=spec, open_source=lambda: (record_source, lambda: None), reason="api"
    )
    errors = [
        {"index": error["row"], "field": error["column"], "reason": error["reason"]}
        for error in outcome.errors
    ]
    if status != ImportStatus.SUCCEEDED:
        return UpsertResult(
            status=status,
            rejected=outcome.rejected,
            errors=errors,
            import_run_id=run.pk,
        )
    return UpsertResult(
        status=status,
        created=outcome.created,
        updated=outcome.updated,
        unchanged=outcome.unchanged,
        deal_ids=outcome.deal_ids,
        import_run_id=run.pk,
    )


# ---------------------------------------------------------------------------------------------
# Single-deal writes
# ---------------------------------------------------------------------------------------------

DEAL_FIELDS = (
    "name",
    "created_date",
    "closed_date",
    "expected_close_date",
    "stage_entered_date",
    "rep",
    "industry",
    "region",
    "product_type",
    "lead_source",
    "stage",
    "amount",
    "currency",
    "status",
    "extra",
)
# A change to one of these can move a deal's score.
SCORED_FIELDS = ("stage", "amount", "status", "closed_date", "expected_close_date")


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _validated(tenant: Tenant, values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one deal's full field set with the import's rules; return the normalised values.

    Raises ValidationError({field: [reason]}) naming Deal fields.
    """
    rep = values.get("rep")
    if values.get("extra") is not None and not isinstance(values["extra"], dict):
        raise ValidationError({"extra": ["extra must be an object"]})
    record = {name: _as_text(values.get(name)) for name in DEAL_FIELDS if name not in ("rep", "extra")}
    record["crm_id"] = _as_text(values.get("crm_id"))
    record["rep_crm_id"] = rep.crm_id if rep is not None else ""
    chunk = next(RecordSource([record]).chunks())
    result = validate_chunk(chunk, _context(tenant, mapping_api(), None))
    if result.errors:
        messages: dict[str, list[str]] = {}
        for error in result.errors:
            name = "rep" if error["column"] == "rep_crm_id" else (error["column"] or "__all__")
            messages.setdefault(name, []).append(error["reason"])
        raise ValidationError(messages)
    cells = result.first_row()

    def date_of(name: str) -> dt.date | None:
        text = cells[name]
        return None if text is None else dt.date.fromisoformat(text)

    return {
        "crm_id": cells["crm_id"],
        "created_date": date_of("created_date"),
        "closed_date": date_of("closed_date"),
        "expected_close_date": date_of("expected_close_date"),
        "stage_entered_date": date_of("stage_entered_date"),
        "stage": cells["stage"],
        "amount": Decimal(str(cells["amount"])).quantize(Decimal("0.01")),
        "currency": cells["currency"],
        "status": cells["status"],
        **{name: cells[name] or "" for name in ("name", "industry", "region", "product_type", "lead_source")},
    }


def _save(
    *,
    deal: Deal,
    tenant: Tenant,
    values: dict[str, Any],
    previous_stage: str | None,
    entered_given: bool,
    source: str,
) -> Deal:
    """Write ``values`` onto ``deal``, record a stage move, and announce it on commit."""
    created = deal.pk is None
    today = tenant.today()
    stage_changed = not created and previous_stage != values["stage"]
    if stage_changed and not entered_given:
        values["stage_entered_date"] = today
    changed = sorted(name for name, value in values.items() if created or getattr(deal, name) != value)
    for name, value in values.items():
        setattr(deal, name, value)
    deal.sales_cycle_days = (deal.closed_date - deal.created_date).days if deal.closed_date else None
    deal.save()
    if stage_changed:
        DealStageChange.objects.create(
            deal=deal,
            from_stage=previous_stage or "",
            to_stage=deal.stage,
            changed_on=deal.stage_entered_date or today,
            source=source,
        )
    transaction.on_commit(
        partial(
            deal_saved.send,
            sender=Deal,
            tenant_id=tenant.pk,
            deal_id=deal.pk,
            created=created,
            changed_fields=changed,
            stage_changed=stage_changed,
        )
    )
    if created or set(changed) & set(SCORED_FIELDS):
        _announce(tenant_id=tenant.pk, deal_ids=[deal.pk], reason="edit")
    return deal


def _check_rep(rep: Rep | None) -> None:
    if rep is not None and rep.tenant_id != require_tenant_id():
        raise ValidationError({"rep": ["This rep belongs to another workspace."]})


@transaction.atomic
def deal_create(
    *,
    crm_id: str,
    created_date: dt.date,
    stage: str,
    amount: Decimal | int | str,
    name: str = "",
    closed_date: dt.date | None = None,
    expected_close_date: dt.date | None = None,
    stage_entered_date: dt.date | None = None,
    rep: Rep | None = None,
    industry: str = "",
    region: str = "",
    product_type: str = "",
    lead_source: str = "",
    currency: str | None = None,
    status: str = "open",
    extra: dict[str, Any] | None = None,
    source: str = "edit",
) -> Deal:
    """Create one deal in the active tenant, validated exactly like an imported row.

    Raises ValidationError ({field: [reasons]}) for invalid values or a CRM id already in use.
    Sends ``deal_saved`` and ``deals_changed`` (reason "edit") on commit.
    """
    tenant = _active_tenant()
    _check_rep(rep)
    given: dict[str, Any] = {
        "crm_id": crm_id,
        "name": name,
        "created_date": created_date,
        "closed_date": closed_date,
        "expected_close_date": expected_close_date,
        "stage_entered_date": stage_entered_date,
        "rep": rep,
        "industry": industry,
        "region": region,
        "product_type": product_type,
        "lead_source": lead_source,
        "stage": stage,
        "amount": amount,
        "currency": currency or "",
        "status": status,
        "extra": extra,
    }
    values = _validated(tenant, given)
    if Deal.objects.filter(crm_id=values["crm_id"]).exists():
        raise ValidationError({"crm_id": [f"A deal with CRM id {values['crm_id']!r} already exists."]})
    values.update(rep=rep, extra=dict(extra or {}))
    return _save(
        deal=Deal(),
        tenant=tenant,
        values=values,
        previous_stage=None,
        entered_given=stage_entered_date is not None,
        source=source,
    )


@transaction.atomic
def deal_update(*, deal: Deal, source: str = "edit", **fields: Any) -> Deal:
    """Change some fields of ``deal`` (any of DEAL_FIELDS), validated like an imported row.

    A stage change records a DealStageChange dated ``stage_entered_date`` (when given) or
    today in the tenant's time zone, and sets ``stage_entered_date``. Raises TypeError for an
    unknown field and ValidationError for invalid values. Sends ``deal_saved`` and, when a
    scored field changed, ``deals_changed`` (reason "edit") on commit.
    """
    unknown = sorted(set(fields) - set(DEAL_FIELDS))
    if unknown:
        raise TypeError(f"deal_update() got unknown field(s): {', '.join(unknown)}")
    tenant = _active_tenant()
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if "rep" in fields:
        _check_rep(fields["rep"])
    merged = {**{name: getattr(deal, name) for name in DEAL_FIELDS}, **fields, "crm_id": deal.crm_id}
    values = _validated(tenant, merged)
    del values["crm_id"]
    values.update(rep=merged["rep"], extra=dict(merged["extra"] or {}))
    return _save(
        deal=deal,
        tenant=tenant,
        values=values,
        previous_stage=deal.stage,
        entered_given=fields.get("stage_entered_date") is not None,
        source=source,
    )


def import_errors_as_text(errors: Iterable[RowError]) -> list[str]:
    """Errors as lines a person reads: ``row 3001, column deal_amount: amount is negative``."""
    lines = []
    for error in errors:
        where = []
        if error["row"] is not None:
            where.append(f"row {error['row']}")
        if error["column"]:
            where.append(f"column {error['column']}")
        lines.append(f"{', '.join(where)}: {error['reason']}" if where else error["reason"])
    return lines


@transaction.atomic
def field_mapping_save(*, name: str, spec: dict[str, Any]) -> FieldMapping:
    """Store ``spec`` as the active tenant's mapping ``name`` (replacing one of that name).

    The spec is validated first (deals.mapping.mapping_from_json raises MappingError with every
    problem). A name equal to a preset's overrides that preset for this tenant. The audit log
    records the change (salesintel.audit receivers on FieldMapping).
    """
    mapping_from_json(spec, name=name)
    mapping, _ = FieldMapping.objects.update_or_create(name=name, defaults={"spec": spec})
    return mapping


def field_mapping_delete(*, mapping: FieldMapping) -> None:
    """Delete a saved mapping of the active tenant (imports that used it keep its name)."""
    mapping.delete()
