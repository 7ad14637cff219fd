"""salesintel: win-rate diagnosis, deal risk scoring and alerts for B2B sales teams."""

from salesintel.celery import app as celery_app

__all__ = ["celery_app"]
