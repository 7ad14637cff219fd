"""Deals for alert tests, built in the active tenant (call inside tenant_context)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from typing import Any

from deals.models import Deal, DealStageChange, DealStatus

_numbers = count(1)


def deal_create(
    *,
    created: dt.date,
    stage: str = "Proposal",
    stage_entered: dt.date | None = None,
    status: str = DealStatus.OPEN,
    closed: dt.date | None = None,
    product_type: str = "Core",
    expected_close: dt.date | None = None,
    amount: int = 10_000,
    **fields: Any,
) -> Deal:
    """One deal; closed deals get their sales cycle filled in like the importer does."""
    return Deal.objects.create(
        crm_id=f"D-{next(_numbers)}",
        created_date=created,
        stage=stage,
        stage_entered_date=stage_entered,
        status=status,
        closed_date=closed,
        product_type=product_type,
        expected_close_date=expected_close,
        amount=Decimal(amount),
        sales_cycle_days=(closed - created).days if closed else None,
        **fields,
    )


def won_deal_with_history(
    *, created: dt.date, days_per_stage: dict[str, int], product_type: str = "Core"
) -> Deal:
    """A won deal that spent the given days in each stage, in order, with its stage history."""
    day = created
    changes: list[tuple[str, str, dt.date]] = []
    previous = ""
    for stage, days in days_per_stage.items():
        if previous:
            changes.append((previous, stage, day))
        previous = stage
        day += dt.timedelta(days=days)
    deal = deal_create(
        created=created, stage=previous, status=DealStatus.WON, closed=day, product_type=product_type
    )
    DealStageChange.objects.bulk_create(
        [
            DealStageChange(tenant_id=deal.tenant_id, deal=deal, from_stage=a, to_stage=b, changed_on=on)
            for a, b, on in changes
        ]
    )
    return deal


def closed_deals_create(*, closed: dt.date, won: int, lost: int, **fields: Any) -> None:
    """``won`` won and ``lost`` lost deals closed on ``closed`` (30-day cycle), in one INSERT."""
    from tenants.context import require_tenant_id

    tenant_id = require_tenant_id()
    created = closed - dt.timedelta(days=30)
    Deal.objects.bulk_create(
        [
            Deal(
                tenant_id=tenant_id,
                crm_id=f"C-{next(_numbers)}",
                created_date=created,
                closed_date=closed,
                stage="Negotiation",
                status=status,
                amount=Decimal(5_000),
                sales_cycle_days=30,
                **fields,
            )
            for status in [DealStatus.WON] * won + [DealStatus.LOST] * lost
        ]
    )


def score_set(*, deal: Deal, probability: float, band: str, trigger: str = "event", drivers=None, at=None):
    """Record a new score for ``deal`` the way scoring does: a DealScore row, and CurrentScore
    keeping the previous probability and band."""
    from django.db import connection
    from django.utils import timezone

    from scoring.models import CurrentScore, DealScore, ModelVersion
    from scoring.services import driver_entry_ids

    version = ModelVersion.objects.filter(is_active=True).first() or ModelVersion.objects.create(
        serving="model", is_active=True, promoted=True
    )
    at = at or timezone.now()
    score = DealScore.objects.create(
        deal=deal,
        model_version=version,
        probability=probability,
        band=band,
        driver_ids=driver_entry_ids(connection.cursor(), tenant_id=deal.tenant_id, entries=drivers or []),
        trigger=trigger,
        scored_at=at,
    )
    current = CurrentScore.objects.filter(deal=deal).first()
    if current is None:
        CurrentScore.objects.create(
            deal=deal,
            score=score,
            model_version=version,
            probability=probability,
            band=band,
            amount=deal.amount,
            scored_at=at,
        )
        return
    current.previous_probability, current.previous_band = current.probability, current.band
    current.score, current.probability, current.band, current.scored_at = score, probability, band, at
    current.amount = deal.amount
    current.save()
