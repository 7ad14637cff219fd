"""The default cache: Redis when ``REDIS_URL`` (or ``CACHE_URL``) is set, else per-process memory.

API rate limits count in it, so production runs it on Redis to share counts across processes.
"""

from salesintel.settings.env import env_str

CACHE_URL = env_str("CACHE_URL", env_str("REDIS_URL"))

if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "salesintel.cache.FailSafeRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "salesintel",
            # A stopped Redis must not hang requests, and its errors read as misses (salesintel.cache).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
