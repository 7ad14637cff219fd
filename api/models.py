"""API keys: tenant-owned, stored hashed, scoped read or write, revocable."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import TenantOwned


class ApiKeyScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiKey(TenantOwned):
    """One tenant's credential for the REST API. The plaintext key is never stored."""

    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'Salesforce sync'.")
    key_prefix = models.CharField(max_length=16, help_text="The key's public part, shown in lists.")
    key_sha256 = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # A bearer key is looked up before its tenant is known: RLS shows exactly the rows whose
    # prefix the request presented (set transaction-locally by api.resolvers), nothing else.
    rls_extra_condition = "key_prefix = NULLIF(current_setting('app.api_key_prefix', true), '')"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key_prefix"], name="apikey_prefix_unique_per_tenant")
        ]
        indexes = [
            # The one index not led by tenant_id: the lookup happens before the tenant is known.
            models.Index(fields=["key_prefix"], name="apikey_prefix_lookup"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (si_{self.key_prefix}_…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def can_write(self) -> bool:
        return self.scope == ApiKeyScope.WRITE


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class ImportJob(TenantOwned):
    """A CSV import started through the API: queued for the worker, or run in the request.

    The import itself is a deals.models.ImportRun (``import_run``, set once it ran); the job
    exists so a client has an id to poll from the moment it uploads.
    """

    status = models.CharField(max_length=10, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    file_name = models.CharField(max_length=300)
    size_bytes = models.BigIntegerField()
    mapping_name = models.CharField(max_length=60)
    encoding = models.CharField(max_length=16, default="utf-8")
    # Where a queued upload waits for the worker (settings.IMPORT_SPOOL_DIR); emptied after.
    spool_path = models.CharField(max_length=500, blank=True)
    import_run = models.ForeignKey(
        "deals.ImportRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    failure = models.TextField(blank=True, help_text="Why the job failed (not why rows were rejected).")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the worker's task was last handed to the broker; empty while the broker was down
    # (api.tasks.import_jobs_requeue sends those again).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "created_at"], name="importjob_tenant_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"
