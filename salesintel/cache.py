"""A Redis cache that degrades to "always a miss" while Redis is unreachable.

Everything we cache (menu options, rate-limit counts, sign-in failure counts) can be recomputed
or skipped, so an outage must cost speed, never a 500: reads return the default, writes are
dropped, and each failure is logged. Used by settings.cache whenever ``REDIS_URL``/``CACHE_URL``
is set (tests/faults/test_redis_outage.py stops Redis under running pages).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger(__name__)
T = TypeVar("T")
UNREACHABLE = (RedisError, OSError)
# After a failure, calls skip Redis for this long instead of each paying a connect timeout.
PAUSE_AFTER_FAILURE_S = 5.0


def _fail_safe(fallback: Callable[..., T]) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
            if time.monotonic() < self.paused_until:
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as error:
                self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
                logger.warning("cache unavailable (%s): %s treated as a miss", error, method.__name__)
                return fallback(*args, **kwargs)

        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    return decorate


def _default(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


class FailSafeRedisCache(RedisCache):
    paused_until = 0.0

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        # redis-py retries a refused connection with backoff by default; one try is enough here.
        options.setdefault("retry", Retry(NoBackoff(), 0))
        super().__init__(server, params)

    get = _fail_safe(_default)(RedisCache.get)
    get_many = _fail_safe(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _fail_safe(lambda *args, **kwargs: False)(RedisCache.has_key)
    add = _fail_safe(lambda *args, **kwargs: False)(RedisCache.add)
    set = _fail_safe(lambda *args, **kwargs: None)(RedisCache.set)
    set_many = _fail_safe(lambda *args, **kwargs: [])(RedisCache.set_many)
    touch = _fail_safe(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _fail_safe(lambda *args, **kwargs: False)(RedisCache.delete)
    delete_many = _fail_safe(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _fail_safe(lambda *args, **kwargs: False)(RedisCache.clear)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        # No sensible count without Redis: callers see "not cached" (ValueError), as for a miss.
        if time.monotonic() < self.paused_until:
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        try:
            return super().incr(key, delta, version)
        except UNREACHABLE as error:
            self.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
            raise ValueError(f"Key '{key}' not found (cache unavailable: {error})") from error
