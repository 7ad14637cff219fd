"""Tenants (sales organisations), memberships, and the base class of every tenant-owned model."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from tenants.context import require_tenant_id

DEFAULT_STAGES = ["Qualified", "Demo", "Proposal", "Negotiation", "Closed"]


def default_stages() -> list[str]:
    return list(DEFAULT_STAGES)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


class Tenant(models.Model):
    """A sales organisation. Not tenant-owned itself: it *is* the tenant."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD")
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    # Ordered pipeline stages; the last one is the closing stage.
    stages = models.JSONField(default=default_stages)
    # Bookings target of every fiscal quarter, in ``currency``; None when the tenant set none.
    # Set by an admin (tenants.quota.tenant_quota_set, audited); the briefing and the
    # digest show the forecast against it.
    quarterly_quota = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"), message="The quota must be a positive amount.")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def today(self) -> dt.date:
        """Today's date in the tenant's time zone: the default ``as_of`` of every insight and
        score, and the date stage moves are recorded on."""
        return dt.datetime.now(zoneinfo.ZoneInfo(self.timezone)).date()


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager):
    """Scopes every query to the active tenant and raises when there is none (fail closed)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(tenant_id=require_tenant_id())


class TenantOwned(models.Model):
    """Base of every tenant-owned model.

    ``objects`` is scoped to the active tenant. ``unscoped`` is the greppable escape hatch for
    deliberate cross-tenant jobs; PostgreSQL row-level security still applies to it.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, editable=False)

    objects: ClassVar[TenantManager] = TenantManager()
    unscoped: ClassVar[models.Manager] = models.Manager()

    # RLS policy expression beyond the tenant match; see tenants.rls.
    rls_extra_condition: ClassVar[str] = ""

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def save(self, *args: Any, **kwargs: Any) -> None:
        active = require_tenant_id()
        if self.tenant_id is None:
            self.tenant_id = active
        elif self.tenant_id != active:
            raise ValidationError("Refusing to save a row of another tenant.")
        super().save(*args, **kwargs)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


class Membership(TenantOwned):
    """A user's access to a tenant. A user may belong to several tenants and switch."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    # Before the tenant is known, the middleware may read the signed-in user's own memberships.
    rls_extra_condition = "user_id = NULLIF(current_setting('app.user_id', true), '')::integer"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant_id} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN
