"""Concentration: top-10% and top-20% shares, the largest deal, the Lorenz curve — exact from SQL buckets."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from insights import briefing, concentration
from insights.briefing import _window_start
from salesintel.testing.data import DEMO_ANCHOR

DEMO_AS_OF = DEMO_ANCHOR + dt.timedelta(days=1)


def buckets(amounts: np.ndarray) -> pd.DataFrame:
    """The rank buckets insights.briefing_selectors.amount_percentiles returns, built in numpy."""
    ranked = np.sort(np.asarray(amounts, dtype=float))[::-1]
    rank = np.arange(1, ranked.size + 1)
    frame = pd.DataFrame({"percentile": np.ceil(100 * rank / ranked.size).astype(int), "amount": ranked})
    return (
        frame.groupby("percentile")
        .agg(n=("amount", "size"), amount=("amount", "sum"), largest=("amount", "max"))
        .reset_index()
    )


def figures(amounts: np.ndarray) -> concentration.Concentration:
    frame = buckets(amounts)
    return concentration.concentration_from_percentiles(
        percentile=frame["percentile"], n=frame["n"], amount=frame["amount"], largest=frame["largest"]
    )


def test_equal_deals_are_not_concentrated():
    result = figures(np.full(200, 5_000.0))
    assert (result.top_10_share, result.top_20_share) == pytest.approx((0.1, 0.2))
    assert result.gini == pytest.approx(0.0, abs=1e-9)


def test_top_shares_are_those_of_the_largest_tenth_and_fifth_of_the_deals():
    amounts = np.random.default_rng(5).lognormal(10, 1.0, 1_234)
    result = figures(amounts)
    ranked = np.sort(amounts)[::-1]
    assert result.n_top_10 == 123 and result.n_top_20 == 246
    assert result.top_10_share == pytest.approx(ranked[:123].sum() / amounts.sum())
    assert result.top_20_share == pytest.approx(ranked[:246].sum() / amounts.sum())


def test_one_huge_deal_is_the_largest_exposure():
    result = figures(np.array([1_000_000.0, *np.full(99, 100.0)]))
    assert result.largest == 1_000_000.0
    assert result.largest_share == pytest.approx(1_000_000 / 1_009_900)
    assert result.gini > 0.95


def test_the_lorenz_curve_runs_from_corner_to_corner_below_the_diagonal():
    result = figures(np.random.default_rng(6).lognormal(10, 0.8, 500))
    xs, ys = zip(*result.lorenz, strict=True)
    assert (result.lorenz[0], result.lorenz[-1]) == ((0.0, 0.0), (1.0, 1.0))
    assert all(np.diff(xs) >= 0) and all(np.diff(ys) >= 0)
    assert all(y <= x + 1e-9 for x, y in result.lorenz)


def test_a_handful_of_deals_has_no_top_tenth():
    result = figures(np.array([10.0, 20.0, 30.0, 40.0, 50.0, 60.0]))
    assert result.top_10_share is None
    assert result.top_20_share == pytest.approx(60 / 210)


def test_no_deals_give_no_shares():
    result = concentration.concentration_from_percentiles(percentile=[], n=[], amount=[], largest=[])
    assert (result.n, result.top_20_share, result.largest, result.lorenz) == (0, None, None, [])


def test_the_demo_tenants_won_revenue_shares_match_its_deals(demo_tenant, demo_deals: pd.DataFrame):
    result = briefing.revenue_concentration(tenant=demo_tenant, as_of=DEMO_AS_OF)
    start = pd.Timestamp(_window_start(DEMO_AS_OF, 12))
    won = demo_deals[
        (demo_deals["outcome"] == "Won")
        & (demo_deals["closed_date"] >= start)
        & (demo_deals["closed_date"] < pd.Timestamp(DEMO_AS_OF))
    ]["deal_amount"].to_numpy(dtype=float)
    ranked = np.sort(won)[::-1]
    top = math.floor(0.2 * won.size)
    assert result["won_revenue"]["n"] == won.size
    assert result["won_revenue"]["top_20_share"] == pytest.approx(ranked[:top].sum() / won.sum(), abs=1e-4)
    open_amounts = demo_deals.loc[demo_deals["outcome"] == "", "deal_amount"].to_numpy(dtype=float)
    assert result["largest_open_deal"]["amount"] == open_amounts.max()
    assert result["open_pipeline"]["largest_share"] == pytest.approx(
        open_amounts.max() / open_amounts.sum(), abs=1e-4
    )
