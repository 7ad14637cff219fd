"""Celery tasks of the insights app: thin wrappers around insights.services.

The schedule that runs them lives with the alerts app (per-tenant fan-out in the tenant's
time zone). Each task takes the tenant id first and runs inside that tenant's context.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from insights.periods import add_months, month_start
from insights.services import segment_metrics_refresh
from tenants.models import Tenant
from tenants.tasks import TenantTask


@shared_task(base=TenantTask, name="insights.segment_metrics_refresh")
def segment_metrics_refresh_task(tenant_id: int, month: str | None = None) -> int:
    """Store the segment metrics of ``month`` (ISO date; default: last complete month).

    Idempotent: running it twice leaves the same rows. Returns the number of rows stored.
    """
    if month is None:
        tenant = Tenant.objects.get(pk=tenant_id)
        day = add_months(month_start(tenant.today()), -1)
    else:
        day = dt.date.fromisoformat(month)
    return segment_metrics_refresh(month=day)
