"""Bearer API keys resolve the request's tenant, in TenantMiddleware, before the view runs.

Listed in ``settings.TENANT_REQUEST_RESOLVERS`` before the session resolver. Only paths under
``settings.API_PATH_PREFIX`` accept keys, so a key can never open a web page or the admin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from api.keys import key_matches, key_prefix_of
from api.models import ApiKey
from tenants.context import tenant_context
from tenants.resolvers import Resolution

# Writing last_used_at on every call would turn reads into writes; a minute is precise enough.
LAST_USED_PRECISION = dt.timedelta(seconds=60)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None when there is no such header."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


@contextmanager
def api_key_prefix_context(prefix: str) -> Iterator[None]:
    """Let RLS show the api keys with this prefix, in every tenant, for the block only."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.api_key_prefix', %s, true)", [prefix])
        try:
            yield
        finally:
            if not connection.needs_rollback:
                cursor.execute("SELECT set_config('app.api_key_prefix', '', true)")


def api_key_find(plaintext: str) -> ApiKey | None:
    """The active (not revoked) key whose hash matches ``plaintext``, with its tenant; else None."""
    prefix = key_prefix_of(plaintext)
    if prefix is None:
        return None
    with api_key_prefix_context(prefix):
        candidates = list(ApiKey.unscoped.filter(key_prefix=prefix).select_related("tenant"))
    # Prefixes are unique per tenant only; every candidate is compared, in constant time each.
    matches = [key for key in candidates if key_matches(plaintext, key.key_sha256)]
    if len(matches) != 1 or matches[0].is_revoked:
        return None
    return matches[0]


def api_key_touch(api_key: ApiKey) -> None:
    """Record the key's use, at most once a minute, in its own short transaction."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_PRECISION:
        return
    with tenant_context(api_key.tenant_id):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def bearer_api_key(request: HttpRequest) -> Resolution | None:
    """Resolve the tenant of a valid bearer key on an API path.

    Sets ``request._api_key`` (the key, or None when the header held no valid key) for
    :class:`api.authentication.ApiKeyAuthentication`, which answers 401 for a bad key even when
    the session would have resolved a tenant.
    """
    if not request.path.startswith(settings.API_PATH_PREFIX):
        return None
    token = bearer_token(request)
    if token is None:
        return None
    api_key = api_key_find(token)
    request._api_key = api_key  # type: ignore[attr-defined]
    if api_key is None:
        return None
    api_key_touch(api_key)
    return Resolution(tenant=api_key.tenant, membership=None)
