"""Response headers Django 5.2 does not send itself: Content-Security-Policy, Permissions-Policy."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    """Adds ``settings.CONTENT_SECURITY_POLICY`` (or the path's exception) and the permissions policy.

    A response that already carries a policy (a view that set its own) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: str = settings.CONTENT_SECURITY_POLICY
        self.exceptions: dict[str, str] = dict(getattr(settings, "CONTENT_SECURITY_POLICY_EXCEPTIONS", {}))
        self.permissions: str = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.exceptions.get(request.path, self.policy)
        if self.permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions
        return response
