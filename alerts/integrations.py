"""What alerts read from scoring: the deals most at risk, with their drivers, for digests.

Kept in one place so the digest and the rules depend on scoring's public selectors and its
CurrentScore table only.
"""

from __future__ import annotations

from typing import Any

from deals.models import DealStatus

RISK_BANDS = ("high", "critical")


def top_risk_deals(*, limit: int) -> list[dict[str, Any]]:
    """Open deals in the high or critical band, largest amount first, with their drivers.

    Each item: id, crm_id, name, amount, stage, probability, band, drivers (the negative
    drivers' plain-language texts, e.g. "Partner lead source: −0.4"), serving_label (which
    model scored it). Empty when nothing is scored. Runs in the active tenant's context.
    """
    from scoring.models import CurrentScore
    from scoring.selectors import deal_scores_current

    rows = list(
        CurrentScore.objects.filter(band__in=RISK_BANDS, deal__status=DealStatus.OPEN)
        .order_by("-deal__amount", "probability", "deal_id")
        .values("deal_id", "deal__crm_id", "deal__name", "deal__amount", "deal__stage")[:limit]
    )
    views = deal_scores_current(deal_ids=[row["deal_id"] for row in rows])
    deals = []
    for row in rows:
        view = views.get(row["deal_id"])
        if view is None:
            continue
        deals.append(
            {
                "id": row["deal_id"],
                "crm_id": row["deal__crm_id"],
                "name": row["deal__name"] or row["deal__crm_id"],
                "amount": float(row["deal__amount"]),
                "stage": row["deal__stage"],
                "probability": view.probability,
                "band": view.band,
                "drivers": [driver["text"] for driver in view.negative_drivers],
                "serving_label": view.serving_label,
            }
        )
    return deals
