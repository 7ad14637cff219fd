"""Signal receivers that write the audit log.

Watched: field mappings (created, changed, deleted), imports (started, finished), API keys
(created, revoked), memberships (added, role changed, removed), alert rules (changed), the
webhook (created, changed, deleted) and next-action rules (set, restored to the default).
Whatever saves them — a web page, the API, the Django admin, a command or a task — is
recorded, because the receivers hang on the models' own ``post_save`` / ``post_delete``.
Bulk writes (``QuerySet.update``, ``bulk_create``) send no signals; no administrative path uses
them for these models.

The event is written in the same transaction as the change, so a rolled-back change (a dry-run
import) leaves no event, and a committed change always has one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from salesintel.audit.middleware import current_request
from salesintel.audit.models import AuditAction, AuditEvent
from tenants.context import tenant_context
from tenants.models import Tenant

# Fields whose change is an administrative action, per model (label_lower → fields). A
# changed secret is recorded as changed, never with its value.
WATCHED_FIELDS: dict[str, tuple[str, ...]] = {
    "deals.fieldmapping": ("name", "spec"),
    "deals.importrun": ("status",),
    "api.apikey": ("revoked_at",),
    "tenants.membership": ("role",),
    "alerts.alertrule": ("enabled", "thresholds", "cooldown_days"),
    "alerts.webhookendpoint": ("url", "enabled", "min_severity", "secret"),
    "scoring.nextactionrule": ("action", "enabled"),
}
SECRET_FIELDS = {"secret"}
_PREVIOUS = "_audit_previous"


def _actor(hint: Any = None) -> tuple[Any, str]:
    """(user or None, label) of whoever is acting: the request's API key or user, else ``hint``."""
    request = current_request.get()
    if request is not None:
        api_key = getattr(request, "_api_key", None)
        if api_key is not None:
            return None, f"API key si_{api_key.key_prefix}… ({api_key.name})"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user, user.get_username()
    if hint is not None:
        return hint, hint.get_username()
    return None, "system"


def _record(instance: Any, action: str, details: dict[str, Any], *, hint: Any = None) -> None:
    user, label = _actor(hint)
    with tenant_context(instance.tenant_id):
        AuditEvent.objects.create(
            action=action,
            actor=user,
            actor_label=label[:200],
            target_type=instance._meta.label_lower,
            target_id=str(instance.pk),
            target_label=str(instance)[:300],
            details=details,
        )


def _changes(instance: Any) -> dict[str, Any]:
    """Watched fields whose value differs from the stored row: name → [old, new]."""
    previous = getattr(instance, _PREVIOUS, None) or {}
    changes: dict[str, Any] = {}
    for name, old in previous.items():
        new = getattr(instance, name)
        if old != new:
            changes[name] = "changed" if name in SECRET_FIELDS else [_plain(old), _plain(new)]
    return changes


def _plain(value: Any) -> Any:
    """A JSON-safe form of a field value (datetimes as ISO text)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def remember_previous(sender: type[Model], instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """pre_save: keep the stored values of the watched fields, to compare after the save."""
    if raw or instance.pk is None:
        return
    fields = WATCHED_FIELDS[sender._meta.label_lower]
    stored = sender._base_manager.filter(pk=instance.pk).values(*fields).first()
    setattr(instance, _PREVIOUS, stored)


def _on_mapping_saved(instance: Any, created: bool) -> None:
    if created:
        _record(instance, AuditAction.MAPPING_CREATED, {"name": instance.name})
    elif changes := _changes(instance):
        _record(instance, AuditAction.MAPPING_CHANGED, {"name": instance.name, "fields": sorted(changes)})


def _on_import_saved(instance: Any, created: bool) -> None:
    hint = instance.user
    if created:
        details = {
            "file_name": instance.file_name,
            "mapping": instance.mapping_name,
            "source": instance.source,
        }
        _record(instance, AuditAction.IMPORT_STARTED, details, hint=hint)
    elif "status" in _changes(instance) and instance.status != "running":
        details = {
            "status": instance.status,
            "rows_read": instance.rows_read,
            "created": instance.created,
            "updated": instance.updated,
            "unchanged": instance.unchanged,
            "rejected": instance.rejected,
            "file_sha256": instance.file_sha256,
        }
        _record(instance, AuditAction.IMPORT_FINISHED, details, hint=hint)


def _on_api_key_saved(instance: Any, created: bool) -> None:
    hint = instance.created_by
    if created:
        details = {"name": instance.name, "scope": instance.scope, "prefix": instance.key_prefix}
        _record(instance, AuditAction.API_KEY_CREATED, details, hint=hint)
    elif "revoked_at" in _changes(instance) and instance.revoked_at is not None:
        _record(instance, AuditAction.API_KEY_REVOKED, {"prefix": instance.key_prefix})


def _on_membership_saved(instance: Any, created: bool) -> None:
    user = instance.user.get_username()
    if created:
        _record(instance, AuditAction.MEMBER_ADDED, {"user": user, "role": instance.role})
    elif changes := _changes(instance):
        old, new = changes["role"]
        _record(instance, AuditAction.MEMBER_ROLE_CHANGED, {"user": user, "from": old, "to": new})


def _on_alert_rule_saved(instance: Any, created: bool) -> None:
    # Rules are created with defaults on first use; only a changed setting is an action.
    if not created and (changes := _changes(instance)):
        _record(
            instance,
            AuditAction.ALERT_RULE_CHANGED,
            {"kind": instance.kind, "changes": changes},
            hint=instance.updated_by,
        )


def _on_webhook_saved(instance: Any, created: bool) -> None:
    if created:
        _record(instance, AuditAction.WEBHOOK_CREATED, {"url": instance.url})
    elif changes := _changes(instance):
        _record(instance, AuditAction.WEBHOOK_CHANGED, {"changes": changes})


def _on_next_action_saved(instance: Any, created: bool) -> None:
    changes = _changes(instance)
    if created or changes:
        details = {"feature": instance.feature, "direction": instance.direction, "action": instance.action}
        details |= {"enabled": instance.enabled, "changes": changes}
        _record(instance, AuditAction.NEXT_ACTION_CHANGED, details, hint=instance.updated_by)


ON_SAVE: dict[str, Callable[[Any, bool], None]] = {
    "deals.fieldmapping": _on_mapping_saved,
    "deals.importrun": _on_import_saved,
    "api.apikey": _on_api_key_saved,
    "tenants.membership": _on_membership_saved,
    "alerts.alertrule": _on_alert_rule_saved,
    "alerts.webhookendpoint": _on_webhook_saved,
    "scoring.nextactionrule": _on_next_action_saved,
}
ON_DELETE: dict[str, Callable[[Any], tuple[str, dict[str, Any]]]] = {
    "deals.fieldmapping": lambda m: (AuditAction.MAPPING_DELETED, {"name": m.name}),
    "tenants.membership": lambda m: (AuditAction.MEMBER_REMOVED, {"user": m.user.get_username()}),
    "alerts.webhookendpoint": lambda w: (AuditAction.WEBHOOK_DELETED, {"url": w.url}),
    "scoring.nextactionrule": lambda r: (
        AuditAction.NEXT_ACTION_RESET,
        {"feature": r.feature, "direction": r.direction, "was": r.action, "was_enabled": r.enabled},
    ),
}


def record_save(sender: type[Model], instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        ON_SAVE[sender._meta.label_lower](instance, created)


def record_delete(sender: type[Model], instance: Any, origin: Any = None, **kwargs: Any) -> None:
    # Deleting a tenant deletes its rows; that tenant has no log left to write to.
    if isinstance(origin, Tenant) or (isinstance(origin, QuerySet) and origin.model is Tenant):
        return
    action, details = ON_DELETE[sender._meta.label_lower](instance)
    _record(instance, action, details)


def connect() -> None:
    """Hang the receivers on the watched models (called from AuditConfig.ready)."""
    from django.apps import apps

    for label in WATCHED_FIELDS:
        model = apps.get_model(label)
        uid = f"audit:{label}"
        pre_save.connect(remember_previous, sender=model, dispatch_uid=f"{uid}:pre")
        post_save.connect(record_save, sender=model, dispatch_uid=f"{uid}:save")
        if label in ON_DELETE:
            post_delete.connect(record_delete, sender=model, dispatch_uid=f"{uid}:delete")
