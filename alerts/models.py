"""Alert rules, alerts and their delivery: digests, webhooks, and the schedule's run ledger.

Every model is tenant-owned; tenant_id leads every unique constraint and index. An alert's
``dedup_key`` names its rule and subject; at most one *active* (not resolved) alert exists per
key and tenant, which is what keeps a schedule that runs twice from duplicating alerts.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from deals.models import Deal
from tenants.models import Tenant, TenantOwned


class RuleKind(models.TextChoices):
    STALL = "stall", "Stalled in stage"
    CYCLE_BREACH = "cycle_breach", "Past the typical winning cycle"
    SCORE_DROP = "score_drop", "Win probability dropped"
    SLIP = "slip", "Close date pushed out"
    SEGMENT_DETERIORATION = "segment_deterioration", "Segment win rate fell"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class AlertRule(TenantOwned):
    """One rule's settings for a tenant. Created lazily with defaults (alerts.services).

    ``thresholds`` holds the rule's knobs; their names, defaults and bounds are
    ``alerts.rules.RULE_SPECS[kind].thresholds``.
    """

    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    enabled = models.BooleanField(default=True)
    thresholds = models.JSONField(default=dict, blank=True)
    cooldown_days = models.PositiveIntegerField(
        default=14, help_text="After an alert is resolved, the same alert is not raised again for this long."
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind"], name="alertrule_kind_unique_per_tenant")
        ]
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({'on' if self.enabled else 'off'})"


class Alert(TenantOwned):
    """One raised condition about a deal or a segment, with its evidence and its state."""

    # No single-column indexes on the foreign keys: the (tenant, …) indexes below cover every
    # lookup, and each extra index slows the set-based inserts of a big first run.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, editable=False, db_index=False)
    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts", db_index=False)
    # Denormalised from the rule so the inbox filters and counts without a join.
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    # No database constraint (as scoring's DealScore): a run inserting 100,000 alerts is not
    # checked row by row; Django still cascades deletes, and rules only ever join live deals.
    deal = models.ForeignKey(
        Deal,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        db_index=False,
        db_constraint=False,
    )
    segment_dimension = models.CharField(max_length=100, blank=True)
    segment_value = models.CharField(max_length=200, blank=True)
    dedup_key = models.CharField(max_length=255)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    title = models.CharField(max_length=300)
    summary = models.TextField(help_text="The evidence in words.")
    evidence = models.JSONField(default=dict, help_text="The numbers that triggered the alert.")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # Active alerts hold as of the last check: one that stops holding is resolved by that check.
    raised_on = models.DateField(help_text="The as-of date of the check that raised it.")
    created_at = models.DateTimeField(default=timezone.now)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    acted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_automatically = models.BooleanField(default=False)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the webhook delivered it.")

    class Meta:
        constraints = [
            # One active alert per rule and subject; resolved ones are history (and the cooldown).
            models.UniqueConstraint(
                fields=["tenant", "dedup_key"],
                condition=~models.Q(state="resolved"),
                name="alert_active_dedup_unique_per_tenant",
            ),
            models.CheckConstraint(
                condition=models.Q(deal__isnull=False) | ~models.Q(segment_dimension=""),
                name="alert_has_a_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "state", "created_at"], name="alert_tenant_state_created"),
            # The checks read a rule's active alerts, and its recently resolved ones (cooldown).
            models.Index(
                fields=["tenant", "kind", "state", "resolved_at"], name="alert_tenant_kind_state_res"
            ),
            models.Index(fields=["tenant", "deal"], name="alert_tenant_deal"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.state != AlertState.RESOLVED


class AlertAction(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"


class AlertEvent(TenantOwned):
    """What a person did to an alert, and when (the alert keeps only the latest actor)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=AlertAction.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "alert", "at"], name="alertevent_tenant_alert_at")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.action} by {self.user_id}"


class CloseDateChange(TenantOwned):
    """An open deal's expected close date moved: written by a database trigger on deals_deal.

    The trigger (migration 0003) fires after any UPDATE that changes a known expected close
    date of an open deal — the importer's set-based upsert, the API, the ORM or raw SQL — so
    the slip rule reads a small table of changes instead of keeping a copy of every deal's date.
    """

    # Unconstrained: the trigger writes it inside the deal's own UPDATE.
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    old_date = models.DateField()
    new_date = models.DateField()
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "changed_at"], name="closedatechange_tenant_at"),
            models.Index(fields=["tenant", "deal", "changed_at"], name="closedatechange_tenant_deal"),
        ]

    @property
    def days(self) -> int:
        """How far the date moved: positive when pushed out."""
        return (self.new_date - self.old_date).days

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.old_date} → {self.new_date}"


class DigestFrequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    OFF = "off", "Never (unsubscribed)"


class DigestPreference(TenantOwned):
    """A member's digest choice in one tenant; no row means the default (weekly)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(
        max_length=10, choices=DigestFrequency.choices, default=DigestFrequency.WEEKLY
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="digestpref_user_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.frequency}"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DigestDelivery(TenantOwned):
    """One digest for one user and period; the unique key stops a re-run from sending twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_key = models.CharField(max_length=20, help_text="e.g. 2025-W02 (weekly) or 2025-01-06 (daily).")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user", "period_key"], name="digestdelivery_unique_per_tenant"
            )
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period_key} ({self.status})"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(TenantOwned):
    """The tenant's optional webhook (Slack-compatible JSON), signed with the tenant's secret."""

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    enabled = models.BooleanField(default=True)
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="webhook_one_per_tenant")]

    def __str__(self) -> str:
        return self.url


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ScheduledRun(TenantOwned):
    """The schedule's ledger: one row per tenant, job and period, so beat running twice is harmless."""

    job = models.CharField(max_length=32)
    period_key = models.CharField(max_length=20)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "job", "period_key"], name="scheduledrun_unique_per_tenant"
            )
        ]
        ordering = ["-queued_at"]

    def __str__(self) -> str:
        return f"{self.job} {self.period_key} ({self.state})"
