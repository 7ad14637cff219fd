"""View guards: signed in, with a tenant, and a minimum role in it.

Roles: viewers read, managers also act on alerts, admins also manage mappings, imports, members,
rules and API keys. A signed-in user without the role gets 403; an anonymous one is sent to sign
in (for an HTMX request, with ``HX-Redirect`` so the whole page goes, not a fragment).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from tenants.models import Role
from web.navigation import role_at_least

View = Callable[..., HttpResponse]


def _login_redirect(request: HttpRequest) -> HttpResponse:
    if getattr(request, "htmx", False):
        current = request.htmx.current_url_abs_path or request.get_full_path()  # type: ignore[attr-defined]
        login_url = resolve_url(settings.LOGIN_URL)
        return HttpResponseClientRedirect(f"{login_url}?{urlencode({'next': current})}")
    return redirect_to_login(request.get_full_path())


def tenant_role_required(minimum: str) -> Callable[[View], View]:
    """Require a signed-in member of the request's tenant with role ``minimum`` or above."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return _login_redirect(request)
            if getattr(request, "tenant", None) is None:
                raise PermissionDenied("Your account is not a member of any sales organisation.")
            role = getattr(request.membership, "role", None)  # type: ignore[attr-defined]
            if not role_at_least(role, minimum):
                raise PermissionDenied(f"This needs the {Role(minimum).label.lower()} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


tenant_required = tenant_role_required(Role.VIEWER)
tenant_manager_required = tenant_role_required(Role.MANAGER)
tenant_admin_required = tenant_role_required(Role.ADMIN)
