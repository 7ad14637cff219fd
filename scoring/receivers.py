"""Signal receivers that keep scores fresh.

* Deal ``pre_save``/``post_save``: a created deal, or a change to a field the score depends on
  (stage, amount, dates, status, segment, rep), queues ``scoring.score_deals`` for that deal
  once the transaction commits. This covers single edits however they are made (services, admin,
  shell).
* ``deals.signals.deals_changed``: bulk writes (imports, API bulk upserts) queue one batch task;
  reason "edit" is skipped because those saves already went through ``post_save``.

The task trains a first model when the tenant has none yet (see scoring.tasks.score_deals).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from kombu.exceptions import OperationalError

from deals.models import Deal
from deals.signals import deals_changed

logger = logging.getLogger(__name__)

SCORE_FIELDS = (
    "stage",
    "stage_entered_date",
    "amount",
    "expected_close_date",
    "closed_date",
    "status",
    "rep_id",
    "industry",
    "region",
    "product_type",
    "lead_source",
)


@receiver(pre_save, sender=Deal, dispatch_uid="scoring_deal_pre_save")
def remember_scored_fields(sender: type[Deal], instance: Deal, raw: bool = False, **kwargs: Any) -> None:
    """Keep the stored values of the score's fields so post_save can tell what changed."""
    if raw or instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {name.removesuffix("_id") for name in update_fields} & {
        name.removesuffix("_id") for name in SCORE_FIELDS
    }:
        return
    instance._scoring_before = (  # type: ignore[attr-defined]
        Deal.unscoped.filter(tenant_id=instance.tenant_id, pk=instance.pk).values_list(*SCORE_FIELDS).first()
    )


@receiver(post_save, sender=Deal, dispatch_uid="scoring_deal_post_save")
def score_saved_deal(
    sender: type[Deal], instance: Deal, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    before = getattr(instance, "_scoring_before", None)
    instance._scoring_before = None  # type: ignore[attr-defined]
    after = tuple(getattr(instance, name) for name in SCORE_FIELDS)
    if created or (before is not None and tuple(before) != after):
        _queue_after_commit(
            tenant_id=instance.tenant_id, deal_id=instance.pk, trigger="created" if created else "changed"
        )


def _queue_after_commit(*, tenant_id: int, deal_id: int, trigger: str) -> None:
    """Send the scoring task once the row is committed (a worker must be able to read it)."""
    from scoring.tasks import score_deals

    transaction.on_commit(partial(_send, score_deals, tenant_id, [deal_id], trigger))


@receiver(deals_changed, dispatch_uid="scoring_deals_changed")
def score_changed_deals(sender: Any, tenant_id: int, deal_ids: list[int], reason: str, **kwargs: Any) -> None:
    """Queue the batch task for a bulk change (sent by deals after commit)."""
    if reason == "edit":
        return
    from scoring.tasks import MAX_IDS_IN_MESSAGE, score_deals

    ids = None if len(deal_ids) > MAX_IDS_IN_MESSAGE else list(deal_ids)
    _send(score_deals, tenant_id, ids, reason)


def _send(task: Any, *args: Any) -> None:
    """Queue ``task``; with the broker down, log and go on: the change is committed, and the
    request (or import) that made it must still succeed. The deals are scored on their next
    change or the next full rescoring."""
    try:
        task.delay(*args)
    except OperationalError:
        logger.warning("broker unavailable: %s%r not queued", task.name, args[:1], exc_info=True)
