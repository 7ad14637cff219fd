"""Django REST framework, API keys, rate limits and the OpenAPI schema."""

from salesintel.paths import LOCAL_DIR
from salesintel.settings.env import env_int, env_str

# Bearer keys are accepted on these paths only (never on web pages or the admin).
API_PATH_PREFIX = "/api/"
# Tenant resolution, in order: an API key on API paths, then the signed-in user's membership.
TENANT_REQUEST_RESOLVERS = [
    "api.resolvers.bearer_api_key",
    "tenants.resolvers.session_membership",
]
# Bulk upsert refuses more items than this with 413 (all or nothing, never partially applied).
API_BULK_MAX_ITEMS = env_int("API_BULK_MAX_ITEMS", 10_000)
# JSON bodies above this are refused with 413 before parsing (a full bulk upsert is ~4 MB).
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_BYTES", 16 * 1024 * 1024)
# Imports at most this size run inside the request; larger ones go to the Celery worker.
API_IMPORT_INLINE_MAX_BYTES = env_int("API_IMPORT_INLINE_MAX_BYTES", 2 * 1024 * 1024)
# Queued uploads wait here for the worker; web and worker must share it (a volume in compose).
IMPORT_SPOOL_DIR = env_str("IMPORT_SPOOL_DIR", str(LOCAL_DIR / "import-spool"))
# The web import wizard keeps an upload here (per tenant) between its steps; shared likewise.
WEB_UPLOAD_DIR = env_str("WEB_UPLOAD_DIR", str(LOCAL_DIR / "uploads"))
# A queued import whose task never reached the broker (it was down) is sent again after this
# long; one sent this long ago and still queued is sent again too (a restarted broker may have
# lost it). Beat runs the check every IMPORT_REQUEUE_EVERY_SECONDS (api.tasks.import_jobs_requeue).
IMPORT_REQUEUE_AFTER_SECONDS = env_int("IMPORT_REQUEUE_AFTER_SECONDS", 60)
IMPORT_RESEND_AFTER_SECONDS = env_int("IMPORT_RESEND_AFTER_SECONDS", 30 * 60)
IMPORT_REQUEUE_EVERY_SECONDS = env_int("IMPORT_REQUEUE_EVERY_SECONDS", 60)
API_THROTTLE_RATES = {
    "api_key": env_str("API_THROTTLE_RATE_KEY", "600/min"),
    "user": env_str("API_THROTTLE_RATE_USER", "600/min"),
    "anon": env_str("API_THROTTLE_RATE_ANON", "60/min"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, so unauthenticated calls get 401 with `WWW-Authenticate: Bearer`.
        "api.authentication.ApiKeyAuthentication",
        # The browser's session, with CSRF checks on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "api.permissions.IsTenantMember",
        "api.permissions.HasScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "salesintel API",
    "DESCRIPTION": (
        "Deals in, win probabilities and insights out. Every call is scoped to the tenant of its "
        "API key (or of the signed-in user). See docs/api.md for authentication, errors, "
        "pagination and rate limits."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Schema generation runs outside any tenant; it only needs models, never rows.
    "DEFAULT_QUERY_MANAGER": "unscoped",
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DealStatusEnum": "deals.models.DealStatus",
        "AlertStateEnum": "alerts.models.AlertState",
        "ImportJobStatusEnum": "api.models.ImportJobStatus",
        "BandEnum": "scoring.models.Band",
        "ServingEnum": "scoring.models.Serving",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and Redoc from our static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
