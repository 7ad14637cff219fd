"""Deals with a planted signal written straight to the database, for scoring's service tests.

Rows go in with ``bulk_create`` (no save signals), like an import does; tests that exercise the
signals save deals themselves.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from deals.models import Deal, DealStatus, Rep
from tenants.context import require_tenant_id

ANCHOR = dt.date(2026, 6, 30)
LEAD_SOURCES = ("Inbound", "Referral", "Partner")
STAGES = ("Qualified", "Demo", "Proposal", "Negotiation")


def deals_seed(*, n_closed: int = 400, n_open: int = 40, seed: int = 0, prefix: str = "S") -> list[Deal]:
    """Closed and open deals of the active tenant; Partner deals win far less often.

    Closed deals close uniformly over the two years before ANCHOR; open deals were created in
    the last 90 days. Returns the created deals (closed first).
    """
    tenant_id = require_tenant_id()
    rng = np.random.default_rng(seed)
    reps = Rep.objects.bulk_create(
        [Rep(tenant_id=tenant_id, crm_id=f"{prefix}-rep-{i}", name=f"Rep {prefix}{i}") for i in range(4)]
    )
    deals = []
    for index in range(n_closed + n_open):
        is_open = index >= n_closed
        lead_source = LEAD_SOURCES[rng.integers(0, 3)]
        won = rng.random() < (0.15 if lead_source == "Partner" else 0.6)
        if is_open:
            created = ANCHOR - dt.timedelta(days=int(rng.integers(1, 90)))
            closed = None
        else:
            closed = ANCHOR - dt.timedelta(days=int(rng.integers(0, 730)))
            created = closed - dt.timedelta(days=int(rng.integers(5, 120)))
        stage_entered = created + (ANCHOR - created) / 2 if is_open else None
        deals.append(
            Deal(
                tenant_id=tenant_id,
                crm_id=f"{prefix}{index:05d}",
                name=f"Deal {index}",
                created_date=created,
                closed_date=closed,
                rep=reps[index % len(reps)],
                industry=("SaaS", "Retail")[index % 2],
                region=("Europe", "APAC")[(index // 2) % 2],
                product_type=("Core", "Pro")[(index // 4) % 2],
                lead_source=lead_source,
                stage=STAGES[rng.integers(0, 4)],
                stage_entered_date=stage_entered,
                amount=Decimal(int(rng.integers(1_000, 50_000))),
                status=DealStatus.OPEN if is_open else (DealStatus.WON if won else DealStatus.LOST),
                sales_cycle_days=(closed - created).days if closed else None,
            )
        )
    return Deal.objects.bulk_create(deals)
