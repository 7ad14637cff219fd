"""Revenue concentration: how much of the money sits in the largest deals, and a Lorenz curve.

Pure numpy, no Django. Input is deals ranked by amount, largest first, in 100 rank buckets
(bucket b holds the deals ranked r with ⌈100·r / N⌉ = b), which SQL returns whatever the number
of deals; buckets 1…p are then exactly the ⌊p·N / 100⌋ largest deals, so top-10% and top-20%
shares are exact and the Lorenz curve is exact at every bucket boundary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Concentration:
    """Shares of the total held by the largest deals, the largest deal, the Lorenz curve.

    Shares are fractions of ``total``; ``top_10_share`` / ``top_20_share`` are None when fewer
    than 10 / 5 deals make "the top 10% / 20%" empty. ``lorenz`` runs from (0, 0) to (1, 1):
    (share of deals, smallest first; share of the amount they hold). ``gini`` is twice the area
    between the curve and the diagonal (0 = all deals equal; near 1 = one deal holds all).
    """

    n: int
    total: float
    top_10_share: float | None
    top_20_share: float | None
    n_top_10: int
    n_top_20: int
    largest: float | None
    largest_share: float | None
    gini: float | None
    lorenz: list[tuple[float, float]] = field(default_factory=list)


def _top_share(
    percentile: np.ndarray, n: np.ndarray, amount: np.ndarray, top: int, total: float
) -> tuple[float | None, int]:
    chosen = percentile <= top
    count = int(n[chosen].sum())
    return (float(amount[chosen].sum() / total) if count and total > 0 else None), count


def concentration_from_percentiles(
    *,
    percentile: npt.ArrayLike,
    n: npt.ArrayLike,
    amount: npt.ArrayLike,
    largest: npt.ArrayLike,
) -> Concentration:
    """Concentration figures from the 100 rank buckets (bucket number, deals, Σ amount, max).

    Buckets may be missing (fewer than 100 deals). With no deal (or a zero total) every share
    is None and the curve is empty.
    """
    bucket = np.asarray(percentile, dtype=np.int64)
    count = np.asarray(n, dtype=np.float64)
    money = np.asarray(amount, dtype=np.float64)
    biggest = np.asarray(largest, dtype=np.float64)
    deals, total = int(count.sum()), float(money.sum())
    if deals == 0 or total <= 0:
        return Concentration(deals, total, None, None, 0, 0, None, None, None, [])
    top_10, n_top_10 = _top_share(bucket, count, money, 10, total)
    top_20, n_top_20 = _top_share(bucket, count, money, 20, total)
    # Smallest first: the buckets in reverse rank order.
    order = np.argsort(-bucket, kind="stable")
    deal_share = np.concatenate([[0.0], np.cumsum(count[order]) / deals])
    amount_share = np.concatenate([[0.0], np.cumsum(money[order]) / total])
    area = float(np.sum(np.diff(deal_share) * (amount_share[1:] + amount_share[:-1]) / 2))
    top = float(biggest.max())
    return Concentration(
        n=deals,
        total=total,
        top_10_share=top_10,
        top_20_share=top_20,
        n_top_10=n_top_10,
        n_top_20=n_top_20,
        largest=top,
        largest_share=top / total,
        gini=max(0.0, 1.0 - 2.0 * area),
        lorenz=[
            (round(float(x), 4), round(float(y), 4))
            for x, y in zip(deal_share, amount_share, strict=True)
            if math.isfinite(x) and math.isfinite(y)
        ],
    )
