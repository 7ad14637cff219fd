"""Writes for tenants and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction

from tenants.context import tenant_context
from tenants.models import Membership, Role, Tenant


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    timezone: str = "UTC",
    currency: str = "USD",
    fiscal_year_start_month: int = 1,
) -> Tenant:
    """Create a tenant, or update the descriptive fields of the one with this slug."""
    tenant = Tenant.objects.filter(slug=slug).first() or Tenant(slug=slug)
    tenant.name = name
    tenant.timezone = timezone
    tenant.currency = currency
    tenant.fiscal_year_start_month = fiscal_year_start_month
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def user_ensure(*, email: str, password: str | None, is_staff: bool = False) -> AbstractUser:
    """Get or create the user with this email (also the username); set the password if given."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if password is not None:
        user.set_password(password)
    user.is_staff = user.is_staff or is_staff
    user.save()
    return user  # type: ignore[return-value]


def membership_grant(*, tenant: Tenant, user: AbstractUser, role: Role | str) -> Membership:
    """Give ``user`` ``role`` in ``tenant`` (idempotent; updates the role)."""
    with tenant_context(tenant):
        membership, _ = Membership.objects.update_or_create(user=user, defaults={"role": role})
    return membership
