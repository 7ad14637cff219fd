"""DRF authentication: bearer API keys (resolved earlier by api.resolvers) and browser sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from api.models import ApiKey
from api.resolvers import bearer_token

_NOT_RESOLVED = object()


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """``request.user`` for key-authenticated calls: the key acts for its tenant, not for a person."""

    api_key: ApiKey
    is_authenticated: bool = field(default=True, init=False)
    is_anonymous: bool = field(default=False, init=False)
    is_active: bool = field(default=True, init=False)
    is_staff: bool = field(default=False, init=False)
    is_superuser: bool = field(default=False, init=False)
    pk: None = field(default=None, init=False)

    def __str__(self) -> str:
        return f"api-key si_{self.api_key.key_prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer si_…``. A header with a bad, revoked or unknown key is a 401."""

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        token = bearer_token(request._request)
        if token is None:
            return None
        api_key: Any = getattr(request._request, "_api_key", _NOT_RESOLVED)
        if api_key is _NOT_RESOLVED:
            # The resolver only runs under API_PATH_PREFIX; elsewhere keys are never accepted.
            raise exceptions.AuthenticationFailed("API keys are accepted under /api/ only.")
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated calls, naming the expected scheme.
        return 'Bearer realm="api"'
