"""Resolve the request's tenant and run the whole view inside its context and transaction."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from tenants.context import tenant_context
from tenants.resolvers import Resolution

DEFAULT_RESOLVERS = ["tenants.resolvers.session_membership"]


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        paths = getattr(settings, "TENANT_REQUEST_RESOLVERS", DEFAULT_RESOLVERS)
        self.resolvers: list[Callable[[HttpRequest], Resolution | None]] = [
            import_string(path) for path in paths
        ]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        request.memberships = []  # type: ignore[attr-defined]
        resolution = self._resolve(request)
        if resolution is None:
            # No tenant: views that need one refuse (see tenants.decorators); nothing is scoped.
            return self.get_response(request)
        request.tenant = resolution.tenant  # type: ignore[attr-defined]
        request.membership = resolution.membership  # type: ignore[attr-defined]
        with tenant_context(resolution.tenant, user_id=resolution.user_id):
            return self.get_response(request)

    def _resolve(self, request: HttpRequest) -> Resolution | None:
        for resolver in self.resolvers:
            resolution = resolver(request)
            if resolution is not None:
                return resolution
        return None
