"""Base class for tenant-aware Celery tasks.

The tenant id is always the task's first positional argument. The task body runs inside
:func:`tenants.context.tenant_context` and the context is restored afterwards, so a worker
process can never carry one tenant's scope into the next task.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from tenants.context import tenant_context


class TenantTask(Task):
    abstract = True
    acks_late = True
    autoretry_for: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    retry_backoff = True
    retry_backoff_max = 600
    retry_jitter = True
    max_retries = 5

    def __call__(self, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
        with tenant_context(int(tenant_id)):
            return super().__call__(tenant_id, *args, **kwargs)
