"""Filesystem locations shared by settings, the embedded database and the Celery broker."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the app writes locally (embedded PostgreSQL data, broker queues) lives here; git-ignored.
LOCAL_DIR = BASE_DIR / ".local"
