"""How a request finds its tenant. Each resolver returns a :class:`Resolution` or ``None``.

Resolvers are listed in ``settings.TENANT_REQUEST_RESOLVERS`` and tried in order; the API app
adds the bearer-key resolver before the session one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from tenants.context import user_context
from tenants.models import Membership, Tenant

SESSION_KEY = "active_tenant_id"


@dataclass(frozen=True)
class Resolution:
    tenant: Tenant
    membership: Membership | None = None
    user_id: int | None = None


def memberships_of(user_id: int) -> list[Membership]:
    """All of a user's memberships, across tenants (RLS lets a user see their own)."""
    with user_context(user_id):
        return list(
            Membership.unscoped.filter(user_id=user_id).select_related("tenant").order_by("tenant__name")
        )


def session_membership(request: HttpRequest) -> Resolution | None:
    """The signed-in user's active membership: the one chosen in the session, else the first."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = memberships_of(user.pk)
    request.memberships = memberships  # type: ignore[attr-defined]
    if not memberships:
        return None
    chosen_id = request.session.get(SESSION_KEY)
    active = next((m for m in memberships if m.tenant_id == chosen_id), memberships[0])
    return Resolution(tenant=active.tenant, membership=active, user_id=user.pk)
