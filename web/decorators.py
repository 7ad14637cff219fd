"""View guards: signed in, with a tenant, and (for admin screens) the tenant-admin role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def tenant_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if getattr(request, "tenant", None) is None:
            raise PermissionDenied("Your account is not a member of any sales organisation.")
        return view(request, *args, **kwargs)

    return wrapped


def tenant_admin_required(view: View) -> View:
    @tenant_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.membership.is_admin:  # type: ignore[attr-defined]
            raise PermissionDenied("Only tenant admins may do this.")
        return view(request, *args, **kwargs)

    return wrapped
