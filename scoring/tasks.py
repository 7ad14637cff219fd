"""Celery tasks for scoring: thin wrappers around scoring.services.

The tenant id is the first argument; :class:`tenants.tasks.TenantTask` runs the body inside
that tenant's context. Both tasks are idempotent: rescoring every open deal twice writes no
second history row for an unchanged score (scoring deals named by id appends one per deal
each time); training twice creates a second version.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from tenants.tasks import TenantTask

# Past this many deal ids a task rescores every open deal instead of carrying the id list.
MAX_IDS_IN_MESSAGE = 50_000


@shared_task(base=TenantTask, name="scoring.score_deals", time_limit=30 * 60, soft_time_limit=28 * 60)
def score_deals(tenant_id: int, deal_ids: list[int] | None = None, trigger: str = "batch") -> dict[str, Any]:
    """Score the tenant's open deals among ``deal_ids`` (all open deals when None).

    A tenant that has never trained gets its first training run instead, which scores every
    open deal (or records why it cannot).
    """
    from scoring.selectors import model_version_active
    from scoring.services import deal_scores_refresh, deal_scores_refresh_chunked, model_train

    if model_version_active() is None:
        version = model_train()
        return {"trained": True, "model_version": version.number, "serving": version.serving}
    if deal_ids is None:
        # The pass is this transaction's only work, so a large tenant's runs in chunks.
        batch = deal_scores_refresh_chunked(trigger=trigger)
    else:
        batch = deal_scores_refresh(deal_ids=deal_ids, trigger=trigger)
    return {
        "scored": batch.scored,
        "removed": batch.removed,
        "model_version": batch.version.number if batch.version else None,
    }


@shared_task(base=TenantTask, name="scoring.train_models", time_limit=60 * 60, soft_time_limit=58 * 60)
def train_models(tenant_id: int) -> dict[str, Any]:
    """Train, backtest, promote or not, and rescore every open deal."""
    from scoring.services import model_train, training_summary

    return training_summary(version=model_train())
