"""Sign-in throttling: too many failed sign-ins lock the account (and the address) for a while.

:class:`ThrottledModelBackend` is Django's ModelBackend with a counter in front, so every
password check — the sign-in page, the Django admin's, ``Client.login`` — is throttled. Failures
are counted in the default cache (Redis in production, shared by every web process) per account
and per client address, each in a fixed window of ``LOGIN_FAILURE_WINDOW_SECONDS``. A locked
sign-in is refused with a ValidationError, which the sign-in forms show as their error; the
password is not even checked, so a locked account gives an attacker no oracle.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

logger = logging.getLogger(__name__)

LOCKED_MESSAGE = "Too many failed sign-ins. Wait {minutes} minutes and try again."


def _key(kind: str, value: str) -> str:
    # Hashed, so an email address never appears as a cache key (or in Redis' key list).
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def client_address(request: HttpRequest | None) -> str:
    """The peer address Django sees (behind a proxy, configure it to set REMOTE_ADDR)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))


def _counts(username: str, address: str) -> list[tuple[str, int]]:
    """(cache key, limit) pairs that apply to this sign-in attempt."""
    pairs = [(_key("account", username), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if address:
        pairs.append((_key("address", address), settings.LOGIN_FAILURES_PER_ADDRESS))
    return pairs


def login_is_locked(*, username: str, address: str) -> bool:
    """Whether sign-in for ``username`` from ``address`` is locked right now.

    An unreachable cache counts as "not locked": a Redis outage must not lock everyone out.
    """
    pairs = _counts(username, address)
    try:
        values = cache.get_many([key for key, _ in pairs])
    except Exception:  # the cache backend's own errors (redis.ConnectionError, OSError, …)
        logger.warning("sign-in throttle: cache unavailable, not throttling", exc_info=True)
        return False
    return any(int(values.get(key, 0)) >= limit for key, limit in pairs)


def login_failure_record(*, username: str, address: str) -> None:
    """Count one failed sign-in against the account and the address."""
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    try:
        for key, _ in _counts(username, address):
            # add() starts the window only for the first failure; incr() keeps its expiry.
            if not cache.add(key, 1, timeout=window):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add() and incr()
                    cache.set(key, 1, timeout=window)
    except Exception:  # see login_is_locked: an outage must not break sign-in
        logger.warning("sign-in throttle: cache unavailable, failure not counted", exc_info=True)


def login_failures_clear(*, username: str) -> None:
    """Forget the account's failures (after a successful sign-in)."""
    try:
        cache.delete(_key("account", username))
    except Exception:  # see login_is_locked
        logger.warning("sign-in throttle: cache unavailable, failures not cleared", exc_info=True)


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None:
            username = kwargs.get(self._username_field(), "")
        address = client_address(request)
        if login_is_locked(username=username or "", address=address):
            logger.warning("sign-in refused: too many failures (address %s)", address or "unknown")
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            raise ValidationError(LOCKED_MESSAGE.format(minutes=minutes), code="login_throttled")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failure_record(username=username or "", address=address)
        else:
            login_failures_clear(username=username or "")
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return str(get_user_model().USERNAME_FIELD)
