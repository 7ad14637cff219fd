"""Reads the API needs beyond the domain apps' selectors."""

from __future__ import annotations

from collections.abc import Sequence

from scoring.models import CurrentScore


def current_scores_by_deal(*, deal_ids: Sequence[int]) -> dict[int, tuple[float, str]]:
    """Deal id → (win probability, band) of the given deals that have a current score; one query."""
    rows = CurrentScore.objects.filter(deal_id__in=list(deal_ids)).values_list(
        "deal_id", "probability", "band"
    )
    return {deal_id: (probability, band) for deal_id, probability, band in rows}
