"""The tenant's quarterly quota: set (or cleared) by a tenant admin, audited.

The briefing (insights.briefing) and the digest forecast the quarter against it; the briefing
page's and the ``briefing`` command's own quota override it for a what-if.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.context import tenant_context
from tenants.models import Tenant

# The audit log's action for a changed quota (salesintel.audit records every admin change).
QUOTA_CHANGED_ACTION = "tenant.quota_changed"  # salesintel.audit.models.AuditAction.TENANT_QUOTA_CHANGED
# Tenant.quarterly_quota holds 16 digits, 2 of them decimals.
QUOTA_LIMIT = Decimal("1e14")


def _quota_parse(value: str | Decimal | float | int | None) -> Decimal | None:
    """A quota from a form or a caller: blank → None; else a positive amount (2 decimals)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(
            f"The quota must be a number (an amount in the tenant's currency), not {value!r}."
        ) from None
    if not amount.is_finite():
        raise ValidationError("The quota must be a finite amount.")
    if amount <= 0:
        raise ValidationError("The quota must be a positive amount.")
    if amount >= QUOTA_LIMIT:
        raise ValidationError(f"The quota must be less than {QUOTA_LIMIT:,.0f}.")
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def tenant_quota_set(
    *, tenant: Tenant, quota: str | Decimal | float | int | None, user: AbstractUser | None = None
) -> Tenant:
    """Set (or clear, with None or blank) ``tenant``'s quarterly quota, in its currency.

    Raises ValidationError for a value that is not a number or not positive. A change is written
    to the tenant's audit log (old and new amount, who); an unchanged value writes nothing.
    """
    from salesintel.audit.models import AuditEvent

    amount = _quota_parse(quota)
    stored = Tenant.objects.select_for_update().get(pk=tenant.pk)
    previous = stored.quarterly_quota
    stored.quarterly_quota = amount
    stored.full_clean(validate_unique=False, validate_constraints=False)
    if previous == amount:
        tenant.quarterly_quota = amount
        return stored
    stored.save(update_fields=["quarterly_quota"])
    tenant.quarterly_quota = amount
    with tenant_context(stored):
        AuditEvent.objects.create(
            action=QUOTA_CHANGED_ACTION,
            actor=user,
            actor_label=(user.get_username() if user is not None else "system")[:200],
            target_type="tenants.tenant",
            target_id=str(stored.pk),
            target_label=str(stored)[:300],
            details={
                "field": "quarterly_quota",
                "currency": stored.currency,
                "from": None if previous is None else str(previous),
                "to": None if amount is None else str(amount),
            },
        )
    return stored
