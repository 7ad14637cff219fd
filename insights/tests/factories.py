"""Small hand-specified deal sets for insights tests (bulk-created in the active tenant)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from deals.models import Deal, DealStageChange, Rep
from tenants.context import require_tenant_id


@dataclass(frozen=True)
class DealSpec:
    closed: dt.date | None
    status: str = "won"
    amount: float = 10_000
    cycle_days: int = 30
    industry: str = "SaaS"
    region: str = "Europe"
    product_type: str = "Core"
    lead_source: str = "Inbound"
    stage: str = "Proposal"
    rep: str = "rep_1"


def deals_create(specs: Iterable[DealSpec]) -> list[Deal]:
    """Create the deals (and their reps) in the active tenant; ``closed=None`` makes an open deal."""
    tenant_id = require_tenant_id()
    specs = list(specs)
    reps = {rep.crm_id: rep for rep in Rep.objects.all()}
    for crm_id in sorted({spec.rep for spec in specs} - set(reps)):
        reps[crm_id] = Rep.objects.create(crm_id=crm_id, name=f"Rep {crm_id}")
    offset = Deal.objects.count()
    deals = []
    for index, spec in enumerate(specs, start=offset):
        reference = spec.closed or dt.date(2024, 6, 1)
        deals.append(
            Deal(
                tenant_id=tenant_id,
                crm_id=f"T{index:06d}",
                created_date=reference - dt.timedelta(days=spec.cycle_days),
                closed_date=spec.closed,
                status=spec.status if spec.closed else "open",
                amount=spec.amount,
                sales_cycle_days=spec.cycle_days if spec.closed else None,
                industry=spec.industry,
                region=spec.region,
                product_type=spec.product_type,
                lead_source=spec.lead_source,
                stage=spec.stage,
                rep=reps[spec.rep],
            )
        )
    return Deal.objects.bulk_create(deals)


def stage_history_create(deal: Deal, moves: Iterable[tuple[str, str, dt.date]]) -> None:
    """Record (from_stage, to_stage, changed_on) moves of ``deal``."""
    DealStageChange.objects.bulk_create(
        DealStageChange(tenant_id=deal.tenant_id, deal=deal, from_stage=a, to_stage=b, changed_on=on)
        for a, b, on in moves
    )
