"""Rate limits per API key (and per signed-in user for browser calls), with ``Retry-After``.

Counts live in the default cache (Redis when configured, so every web process shares them).
When the cache is unreachable the limit is not enforced: serving beats refusing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiKey

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Rates from ``settings.API_THROTTLE_RATES``: ``api_key`` per key, ``user`` per browser user,
    ``anon`` per client IP."""

    def __init__(self) -> None:
        # The rate is chosen per request in allow_request (it depends on who is calling).
        pass

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            self.scope = "api_key"
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            self.scope = "user"
            ident = f"user:{request.user.pk}"
        else:
            self.scope = "anon"
            ident = f"ip:{self.get_ident(request)}"
        return f"api-throttle:{ident}"

    def allow_request(self, request: Request, view: Any) -> bool:
        self.key = self.get_cache_key(request, view)
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            self.history = self.cache.get(self.key, [])
            self.now = self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            if len(self.history) >= self.num_requests:
                return self.throttle_failure()
            return self.throttle_success()
        except Exception:  # the cache is down: log it and let the call through
            logger.exception("API throttle cache unavailable; not enforcing the rate limit")
            return True
