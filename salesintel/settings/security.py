"""Security headers, cookies, CSP, sign-in throttling; strict unless DEBUG.

Production sets ``HTTPS=1`` (see docs/security.md): cookies become Secure, HTTP redirects to
HTTPS and browsers get HSTS for a year. ``manage.py check --deploy`` is clean with
``DEBUG=0``, a long random ``SECRET_KEY`` and ``HTTPS=1`` (tests/security/test_deploy_settings.py).
"""

from salesintel.settings.base import DEBUG
from salesintel.settings.env import env_bool, env_int

HTTPS = env_bool("HTTPS", default=False)

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG and HTTPS)
# The container's health check calls /healthz over plain HTTP from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env_bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A year of HSTS once the site is served over HTTPS; 0 (off) on plain-HTTP laptops.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy, sent by salesintel.middleware.SecurityHeadersMiddleware. Pages load
# scripts from our static files only (no inline script or handler anywhere). Inline *styles*
# are allowed: templates size bars with style="width: …", and styles cannot run code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Third-party pages we serve unchanged: drf-spectacular's Redoc page starts Redoc with an inline
# script and runs a worker from a blob. It shows the public schema only, never tenant data.
CONTENT_SECURITY_POLICY_EXCEPTIONS = {
    "/api/docs/redoc/": CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
    ),
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Sign-in throttling (salesintel.login_throttle): after this many failed sign-ins for one
# account (or many more from one address) within the window, sign-in is refused until the
# window has passed, even with the right password. Counts live in the default cache.
AUTHENTICATION_BACKENDS = ["salesintel.login_throttle.ThrottledModelBackend"]
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
