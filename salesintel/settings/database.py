"""Database: ``DATABASE_URL`` when set, otherwise the embedded PostgreSQL (never SQLite)."""

import dj_database_url

from salesintel.settings.env import env_int, env_str

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    from salesintel.devdb import embedded_database_url

    DATABASE_URL = embedded_database_url()

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
# Requests get their transaction from tenants.middleware.TenantMiddleware, which must also
# issue SET LOCAL app.tenant_id inside it; ATOMIC_REQUESTS would add a redundant savepoint.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel test runs (several developers or CI jobs on one server) each name their own test database.
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_salesintel")}
