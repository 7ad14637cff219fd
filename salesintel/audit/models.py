"""The audit log: who changed a tenant's mappings, imports, API keys, members' roles, alert settings,
quota and recommended next actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import TenantOwned


class AuditAction(models.TextChoices):
    MAPPING_CREATED = "mapping.created", "Mapping created"
    MAPPING_CHANGED = "mapping.changed", "Mapping changed"
    MAPPING_DELETED = "mapping.deleted", "Mapping deleted"
    IMPORT_STARTED = "import.started", "Import started"
    IMPORT_FINISHED = "import.finished", "Import finished"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    ALERT_RULE_CHANGED = "alert_rule.changed", "Alert rule changed"
    WEBHOOK_CREATED = "webhook.created", "Webhook created"
    WEBHOOK_CHANGED = "webhook.changed", "Webhook changed"
    WEBHOOK_DELETED = "webhook.deleted", "Webhook deleted"
    TENANT_QUOTA_CHANGED = "tenant.quota_changed", "Quarterly quota changed"
    NEXT_ACTION_CHANGED = "next_action.changed", "Next action changed"
    NEXT_ACTION_RESET = "next_action.reset", "Next action restored to the default"


class AuditEvent(TenantOwned):
    """One administrative action in a tenant. Written by salesintel.audit.receivers, never edited.

    ``actor`` is the signed-in user when there was one; ``actor_label`` says who acted in words
    that survive the user's deletion ("ada@acme.test", "API key si_abc…", "system").
    """

    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    target_type = models.CharField(max_length=60, help_text="app_label.model of the changed row.")
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="auditevent_tenant_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.target_label}"
