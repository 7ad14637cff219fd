"""Who may call what: a resolved tenant always; the write scope (or a manager role) for writes."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from api.models import ApiKey
from tenants.models import Role


def request_can_write(request: Request) -> bool:
    """Write keys, and tenant admins and managers signed in through the browser."""
    if isinstance(request.auth, ApiKey):
        return request.auth.can_write
    membership = getattr(request._request, "membership", None)
    return membership is not None and membership.role in {Role.ADMIN, Role.MANAGER}


class IsTenantMember(BasePermission):
    """The caller was authenticated and the request resolved to a tenant."""

    message = "Your account is not a member of any sales organisation."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(
            request.user
            and request.user.is_authenticated
            and getattr(request._request, "tenant", None) is not None
        )


class HasScope(BasePermission):
    """Reads need the read scope (every key has it); anything else needs the write scope."""

    message = "This API key (or your role) is read-only; writing needs the write scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not hasattr(view, (request.method or "").lower()):
            return True  # a method the view lacks is a 405, not a scope problem
        return request.method in SAFE_METHODS or request_can_write(request)


class IsTenantAdminSession(BasePermission):
    """Managing API keys is for tenant admins in the browser; a key cannot mint or revoke keys."""

    message = "Only tenant admins, signed in, may manage API keys."

    def has_permission(self, request: Request, view: Any) -> bool:
        membership = getattr(request._request, "membership", None)
        return not isinstance(request.auth, ApiKey) and membership is not None and membership.is_admin
