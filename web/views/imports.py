"""Admin → Import: the CRM import wizard and saved field mappings (tenant admins only).

Upload a CSV → see its columns with sample values and map each to a canonical field (starting
from a preset or a saved mapping, with value maps for outcome and stage) → dry run with the row
errors → import with a progress bar (a Celery task; the page polls it with HTMX) → summary.
The wizard's state lives in the session, so an upload is visible only to the admin who made it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery.result import AsyncResult
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from deals.mapping import PRESETS, MappingError, mapping_from_json, mapping_resolve
from deals.models import FieldMapping
from deals.selectors import import_run_list
from deals.services import field_mapping_delete, field_mapping_save
from salesintel.celery import app as celery_app
from web import importing
from web.decorators import tenant_admin_required
from web.forms import ImportUploadForm, MappingNameForm
from web.rendering import render_page
from web.tasks import PROGRESS, import_upload

logger = logging.getLogger(__name__)

SESSION_KEY = "web_imports"
# What sending a task or reading its result raises while Redis is down.
BROKER_ERRORS = (BrokerError, RedisError, ConnectionError, TimeoutError)
SEND_LOCK_SECONDS = 30
BROKER_CHECK_SECONDS = 1.0
# Reading and checking rows is most of the work; the set-based write is the last stretch.
READ_SHARE = 0.9


def _mapping_choices() -> list[tuple[str, str]]:
    saved = list(FieldMapping.objects.order_by("name").values_list("name", flat=True))
    choices = [(name, f"{name} (saved)") for name in saved]
    choices += [(name, f"{name} (preset)") for name in PRESETS if name not in saved]
    return choices


def _uploads(request: HttpRequest) -> dict[str, dict[str, Any]]:
    return request.session.setdefault(SESSION_KEY, {})


def _upload(request: HttpRequest, upload_id: str) -> dict[str, Any]:
    """This admin's upload in this tenant, or 404."""
    entry = _uploads(request).get(upload_id)
    if entry is None or entry["tenant_id"] != request.tenant.pk:  # type: ignore[attr-defined]
        raise Http404("No such upload.")
    return entry


def _save(request: HttpRequest) -> None:
    request.session.modified = True


@tenant_admin_required
def imports(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(mappings=_mapping_choices())
    return render_page(request, "web/admin/imports.html", _imports_context(form))


def _imports_context(form: ImportUploadForm) -> dict[str, Any]:
    return {"tab": "imports", "form": form, "runs": import_run_list(limit=30)}


@tenant_admin_required
@require_POST
def import_upload_view(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES, mappings=_mapping_choices())
    if not form.is_valid():
        return render_page(request, "web/admin/imports.html", _imports_context(form), status=400)
    tenant_id = request.tenant.pk  # type: ignore[attr-defined]
    upload = form.cleaned_data["file"]
    upload_id, path, size = importing.upload_save(tenant_id=tenant_id, file=upload)
    _uploads(request)[upload_id] = {
        "tenant_id": tenant_id,
        "path": str(path),
        "file_name": upload.name,
        "size": size,
        "encoding": form.cleaned_data["encoding"],
        "base": form.cleaned_data["mapping"],
        "spec": None,
        "jobs": {},
        "pending": [],
    }
    _save(request)
    return redirect("settings_import_map", upload_id=upload_id)


def _map_context(request: HttpRequest, entry: dict[str, Any], upload_id: str, **extra: Any) -> dict[str, Any]:
    tenant = request.tenant  # type: ignore[attr-defined]
    base = mapping_resolve(entry["base"])
    sniffed = importing.sniff_csv(
        importing.upload_path(tenant_id=tenant.pk, upload_id=upload_id),
        delimiter=base.delimiter,
        encoding=entry["encoding"],
    )
    targets = extra.pop("targets", None) or importing.suggested_targets(sniffed.header, base)
    stages = [*tenant.stages]
    columns = [
        {
            "index": index,
            "name": name,
            "target": targets.get(name, importing.UNMAPPED),
            "samples": [row[index] for row in sniffed.samples],
        }
        for index, name in enumerate(sniffed.header)
    ]
    return {
        "tab": "imports",
        "upload_id": upload_id,
        "entry": entry,
        "base": base,
        "sniffed": sniffed,
        "columns": columns,
        "options": importing.target_options(base),
        "drafts": importing.value_map_drafts(targets=targets, sniffed=sniffed, spec=base, stages=stages),
        "status_choices": importing.STATUS_CHOICES,
        "stage_choices": stages,
        "name_form": extra.pop("name_form", None)
        or MappingNameForm(initial={"date_formats": ", ".join(base.date_formats)}),
        **extra,
    }


@tenant_admin_required
def import_map(request: HttpRequest, upload_id: str) -> HttpResponse:
    entry = _upload(request, upload_id)
    if request.method != "POST":
        return render_page(request, "web/admin/import_map.html", _map_context(request, entry, upload_id))
    context = _map_context(request, entry, upload_id)
    header = context["sniffed"].header
    targets = {name: request.POST.get(f"target_{index}", "") for index, name in enumerate(header)}
    value_choices: dict[str, dict[str, str]] = {}
    for draft in importing.value_map_drafts(
        targets=targets, sniffed=context["sniffed"], spec=context["base"], stages=context["stage_choices"]
    ):
        value_choices[draft.field] = {
            choice.raw: request.POST.get(f"value_{draft.field}_{index}", "")
            for index, choice in enumerate(draft.choices)
        }
    name_form = MappingNameForm(request.POST)
    name_form.is_valid()
    formats = [part.strip() for part in name_form.cleaned_data.get("date_formats", "").split(",")]
    spec = importing.spec_from_choices(
        base=context["base"], targets=targets, value_choices=value_choices, date_formats=formats
    )
    save_as = name_form.cleaned_data.get("save_as") or ""
    try:
        mapping_from_json(spec, name=save_as or "wizard")
        if save_as:
            field_mapping_save(name=save_as, spec=spec)
    except MappingError as problem:
        context = _map_context(
            request, entry, upload_id, targets=targets, name_form=name_form, problems=problem.problems
        )
        return render_page(request, "web/admin/import_map.html", context, status=400)
    entry["spec"] = spec
    entry["mapping_name"] = save_as
    _start(request, upload_id, entry, dry_run=True)
    if save_as:
        messages.success(request, f"Saved the mapping as “{save_as}”.")
    return redirect("settings_import_status", upload_id=upload_id)


def _start(request: HttpRequest, upload_id: str, entry: dict[str, Any], *, dry_run: bool) -> None:
    """Give the job its task id now and send it; with the broker down it stays pending.

    The page shows a pending job as queued, and every poll of the status page sends the
    session's pending jobs again (_send_pending) until the broker takes them.
    """
    kind = "dry_run" if dry_run else "import"
    entry["jobs"][kind] = uuid.uuid4().hex
    entry.setdefault("pending", []).append(kind)
    _send_pending(request, entry)
    _save(request)


def _redis_reachable() -> bool:
    """Whether the broker and the result backend answer now (one quick connection each).

    Asked before sending: with the result backend down, Celery's send blocks ~20 s while it
    retries subscribing to the task's result, then raises.
    """
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_CHECK_SECONDS)
        client = getattr(celery_app.backend, "client", None)
        if client is not None:
            client.ping()
    except (*BROKER_ERRORS, OSError) as error:
        logger.warning("broker or result backend unavailable (%s): import wizard jobs stay pending", error)
        return False
    return True


def _send_pending(request: HttpRequest, entry: dict[str, Any]) -> None:
    """Send each of ``entry``'s unsent jobs under its task id; keep the ones the broker refuses."""
    if not entry.get("pending") or not _redis_reachable():
        return
    for kind in list(entry["pending"]):
        task_id = entry["jobs"][kind]
        # Two polls at once must not both send it (the import deletes its upload when done).
        # A cache that is down holds no claim (add is False, get is None): send anyway.
        claim = f"web-import-send:{task_id}"
        if not cache.add(claim, 1, timeout=SEND_LOCK_SECONDS) and cache.get(claim) is not None:
            continue
        # A saved mapping goes by its name (the import history shows it); otherwise the spec.
        mapping: str | dict[str, Any] = entry["mapping_name"] or entry["spec"]
        try:
            import_upload.apply_async(
                args=[request.tenant.pk],  # type: ignore[attr-defined]
                kwargs={
                    "path": entry["path"],
                    "file_name": entry["file_name"],
                    "mapping": mapping,
                    "user_id": request.user.pk,
                    "dry_run": kind == "dry_run",
                },
                task_id=task_id,
            )
        except BROKER_ERRORS:
            logger.warning("broker unavailable: import wizard job %s stays pending", task_id, exc_info=True)
            cache.delete(claim)
            continue
        entry["pending"].remove(kind)
        _save(request)


@tenant_admin_required
@require_POST
def import_run(request: HttpRequest, upload_id: str) -> HttpResponse:
    entry = _upload(request, upload_id)
    if entry["spec"] is None or "import" in entry["jobs"]:
        return redirect("settings_import_status", upload_id=upload_id)
    _start(request, upload_id, entry, dry_run=False)
    return redirect("settings_import_status", upload_id=upload_id)


def job_progress(task_id: str, *, tenant_id: int) -> dict[str, Any]:
    """A job's state for the page: phase, percent done, and the summary once finished.

    Raises Http404 when the job's result names another tenant.
    """
    result = AsyncResult(task_id, app=celery_app)
    try:
        state = result.state
        info = result.info if isinstance(result.info, dict) else {}
    except BROKER_ERRORS:
        # The result backend (Redis) is down: the job waits, as far as anyone can tell.
        return {"phase": "queued", "percent": 0}
    if info.get("tenant_id", tenant_id) != tenant_id:
        raise Http404("No such job.")
    if state == "SUCCESS":
        return {"phase": "done", "percent": 100, "summary": result.result}
    if state == "FAILURE":
        return {"phase": "failed", "percent": 100, "error": str(result.result)}
    if state == PROGRESS:
        total = info.get("bytes_total") or 1
        done = info.get("bytes_read", 0)
        if done >= total:
            return {"phase": "writing", "percent": round(READ_SHARE * 100)}
        return {"phase": "reading", "percent": round(READ_SHARE * 100 * done / total)}
    return {"phase": "queued", "percent": 0}


def _status_context(request: HttpRequest, upload_id: str) -> dict[str, Any]:
    entry = _upload(request, upload_id)
    if entry.get("pending"):
        _send_pending(request, entry)
    tenant_id = request.tenant.pk  # type: ignore[attr-defined]
    kind = "import" if "import" in entry["jobs"] else "dry_run"
    job = job_progress(entry["jobs"][kind], tenant_id=tenant_id) if entry["jobs"] else None
    return {"tab": "imports", "upload_id": upload_id, "entry": entry, "kind": kind, "job": job}


@tenant_admin_required
def import_status(request: HttpRequest, upload_id: str) -> HttpResponse:
    context = _status_context(request, upload_id)
    if context["job"] is None:
        return redirect("settings_import_map", upload_id=upload_id)
    return render_page(request, "web/admin/import_status.html", context, fragment="progress")


@tenant_admin_required
def mappings(request: HttpRequest) -> HttpResponse:
    saved = FieldMapping.objects.order_by("name")
    presets = [(name, spec.get("description", "")) for name, spec in PRESETS.items()]
    return render_page(
        request, "web/admin/mappings.html", {"tab": "mappings", "saved": saved, "presets": presets}
    )


@tenant_admin_required
@require_POST
def mapping_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mapping = get_object_or_404(FieldMapping, pk=pk)
    field_mapping_delete(mapping=mapping)
    messages.success(request, f"Deleted the mapping “{mapping.name}”.")
    return redirect(reverse("settings_mappings"))
