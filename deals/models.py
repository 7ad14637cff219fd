"""Deals, reps, stage history, CRM field mappings and import runs.

Every model is tenant-owned; the tenant id leads every unique constraint and index so the
tables could be distributed by tenant (Citus) and per-tenant queries stay index-only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import Tenant, TenantOwned


class Rep(TenantOwned):
    """A deal owner as the CRM knows them."""

    crm_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "crm_id"], name="rep_crm_id_unique_per_tenant")
        ]
        ordering = ["crm_id"]

    def __str__(self) -> str:
        return self.name or self.crm_id


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# The fields a CRM export can be mapped onto; the import and the API share this list.
SEGMENT_FIELDS = ["industry", "region", "product_type", "lead_source"]


class Deal(TenantOwned):
    # Single-column FK indexes would duplicate (tenant, crm_id) and (tenant, rep) and cost every
    # bulk import an extra index write per row.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, editable=False, db_index=False)
    crm_id = models.CharField(max_length=100, help_text="The CRM's deal id; unique per tenant.")
    name = models.CharField(max_length=300, blank=True)
    created_date = models.DateField()
    closed_date = models.DateField(null=True, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    rep = models.ForeignKey(
        Rep, on_delete=models.PROTECT, null=True, blank=True, related_name="deals", db_index=False
    )
    industry = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    product_type = models.CharField(max_length=100, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    # For open deals the current stage; for closed deals the last stage reached before closing.
    stage = models.CharField(max_length=100)
    stage_entered_date = models.DateField(
        null=True, blank=True, help_text="When the deal entered its current stage, if known."
    )
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=8, choices=DealStatus.choices, default=DealStatus.OPEN)
    # Derived: closed_date − created_date for closed deals; kept for set-based queries.
    sales_cycle_days = models.IntegerField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="The CRM's unmapped columns.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "crm_id"], name="deal_crm_id_unique_per_tenant"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_date__isnull=True)
                | (~models.Q(status="open") & models.Q(closed_date__isnull=False)),
                name="deal_closed_date_iff_closed",
            ),
        ]
        # Each index is justified by EXPLAIN (ANALYZE, BUFFERS) in docs/scaling.md ("Indexes on
        # deals"); every one leads with tenant_id. Planner statistics on (tenant, status) are a
        # CREATE STATISTICS in migrations 0003 and 0005 (Django has no model API for them).
        indexes = [
            models.Index(fields=["tenant", "status", "closed_date"], name="deal_tenant_status_closed"),
            models.Index(fields=["tenant", "rep"], name="deal_tenant_rep"),
            # The API's cursor order (-updated_at, -id) read straight off the index, no sort.
            models.Index(fields=["tenant", "updated_at", "id"], name="deal_tenant_updated_id"),
            # The risk board's "largest first" pages and, index-only, its count and raw pipeline.
            models.Index(fields=["tenant", "status", "amount"], name="deal_tenant_status_amount"),
        ]
        ordering = ["-created_date", "crm_id"]

    def __str__(self) -> str:
        return self.name or self.crm_id

    @property
    def is_open(self) -> bool:
        return self.status == DealStatus.OPEN

    @property
    def is_won(self) -> bool:
        return self.status == DealStatus.WON


class DealStageChange(TenantOwned):
    """One stage move of a deal, so time in each stage is known."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=100, blank=True)
    to_stage = models.CharField(max_length=100)
    changed_on = models.DateField()
    source = models.CharField(max_length=20, default="import")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "deal", "changed_on"], name="stagechange_tenant_deal")]
        ordering = ["deal_id", "changed_on", "id"]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage or '∅'} → {self.to_stage} on {self.changed_on}"


class FieldMapping(TenantOwned):
    """A tenant's own mapping of a CRM export onto canonical deal fields.

    ``spec`` holds the documented mapping-file JSON (see docs/import.md and deals.mapping).
    Presets (``standard``, ``salesforce``, ``hubspot``) live in code and need no row.
    """

    # No index of its own: the (tenant, name) unique constraint's index serves every lookup.
    name = models.SlugField(max_length=60, db_index=False)
    spec = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="mapping_name_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return self.name


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class ImportRun(TenantOwned):
    """One import of a file (CLI, UI or API): who, what, and what it did."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    source = models.CharField(max_length=20, default="cli")
    file_name = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64)
    mapping_name = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    rows_read = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["tenant", "started_at"], name="importrun_tenant_started")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
