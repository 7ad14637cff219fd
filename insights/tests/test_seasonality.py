"""Seasonality: the verdict on the reference file, and on generated years with and without a season."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from deals.models import Deal, DealStatus
from insights import briefing, seasonality
from tenants.context import require_tenant_id, tenant_context

START = dt.date(2021, 1, 1)


def generated_deals(
    *,
    years: int,
    seed: int,
    deals_per_month: float = 150,
    win_rate: float = 0.45,
    win_rate_by_month: dict[int, float] | None = None,
    volume_by_month: dict[int, float] | None = None,
    monthly_noise_sd: float = 0.0,
) -> pd.DataFrame:
    """Closed deals over ``years`` years from START: close date and outcome, one row per deal.

    Volume is Poisson per month (× ``volume_by_month`` factors, × a lognormal month-to-month
    swing of ``monthly_noise_sd``); each deal wins with ``win_rate`` or its month's rate.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(12 * years):
        month = pd.Timestamp(START) + pd.DateOffset(months=index)
        factor = (volume_by_month or {}).get(month.month, 1.0) * np.exp(rng.normal(0, monthly_noise_sd))
        count = rng.poisson(deals_per_month * factor)
        days = rng.integers(0, month.days_in_month, count)
        rate = (win_rate_by_month or {}).get(month.month, win_rate)
        won = rng.random(count) < rate
        rows.append(pd.DataFrame({"closed_date": month + pd.to_timedelta(days, unit="D"), "won": won}))
    return pd.concat(rows, ignore_index=True)


def analyse(deals: pd.DataFrame, *, as_of: dt.date) -> seasonality.Seasonality:
    """Aggregate deals per calendar month of close, as insights.briefing_selectors does, and analyse."""
    monthly = (
        deals.assign(month=deals["closed_date"].dt.to_period("M").dt.to_timestamp())
        .groupby("month")
        .agg(n=("won", "size"), won=("won", "sum"))
        .reset_index()
    )
    return seasonality.seasonality_analyse(
        months=monthly["month"].to_numpy(dtype="datetime64[D]"),
        n=monthly["n"],
        won=monthly["won"],
        as_of=as_of,
        first_close=deals["closed_date"].min().date(),
        last_close=deals["closed_date"].max().date(),
    )


# Generated data ends on the last day of its last month; as_of is the next day.
def end_of(years: int) -> dt.date:
    return dt.date(START.year + years, 1, 1)


def test_the_reference_file_with_19_months_of_closes_has_not_enough_history(skygeni_tenant):
    report = briefing.seasonality_report(tenant=skygeni_tenant, as_of=dt.date(2024, 7, 21))
    assert report["verdict"] == "not enough history"
    assert report["months_of_history"] == 17
    assert report["by_month"] == []


def test_the_reference_file_has_not_enough_history_whenever_it_is_read(skygeni_tenant):
    assert briefing.seasonality_report(tenant=skygeni_tenant)["verdict"] == "not enough history"


def test_two_generated_years_without_a_season_show_no_seasonal_pattern():
    # Any seed's verdict is a draw; the false-alarm rate is tested below.
    result = analyse(generated_deals(years=2, seed=7), as_of=end_of(2))
    assert result.verdict == "no seasonal pattern"
    assert (result.months_of_history, result.years_analysed) == (24, 2)
    assert len(result.by_month) == 12


def test_three_generated_years_without_a_season_show_no_seasonal_pattern_over_the_last_three():
    result = analyse(generated_deals(years=3, seed=12), as_of=end_of(3))
    assert (result.verdict, result.years_analysed) == ("no seasonal pattern", 3)


def test_two_generated_years_with_a_planted_win_rate_season_find_it():
    season = {10: 0.60, 11: 0.65, 12: 0.65, 6: 0.30, 7: 0.30}
    result = analyse(generated_deals(years=2, seed=11, win_rate_by_month=season), as_of=end_of(2))
    assert result.verdict == "seasonal pattern"
    assert result.win_rate_p_adjusted < 0.001
    assert "win rate depends on the month" in result.summary


def test_a_planted_volume_season_is_found_and_its_busiest_month_named():
    season = {12: 1.8, 3: 1.4, 8: 0.6}
    result = analyse(generated_deals(years=2, seed=5, volume_by_month=season), as_of=end_of(2))
    assert result.verdict == "seasonal pattern"
    assert result.volume_p_adjusted < 0.001
    assert "most closes in Dec" in result.summary


def test_month_to_month_swings_without_a_season_are_not_called_a_pattern():
    # Volume swings ±25% from month to month (overdispersed), but no month is special.
    deals = generated_deals(years=4, seed=3, monthly_noise_sd=0.25)
    result = analyse(deals, as_of=end_of(4))
    assert result.volume_test is not None and result.volume_test.method == "F"
    assert result.verdict == "no seasonal pattern"


def test_without_a_season_the_verdict_is_rarely_a_pattern():
    verdicts = [analyse(generated_deals(years=2, seed=seed), as_of=end_of(2)).verdict for seed in range(40)]
    # Two tests at 5%, Holm-adjusted: about two false alarms in 40 are expected.
    assert verdicts.count("seasonal pattern") <= 5


def test_history_that_starts_inside_a_month_does_not_count_that_month():
    deals = generated_deals(years=2, seed=11)
    late_start = deals[deals["closed_date"] >= pd.Timestamp("2021-01-10")]
    result = analyse(late_start, as_of=end_of(2))
    assert (result.verdict, result.months_of_history) == ("not enough history", 23)


def test_months_after_the_data_stops_are_not_read_as_months_without_deals():
    result = analyse(generated_deals(years=2, seed=7), as_of=dt.date(2026, 5, 1))
    assert (result.verdict, result.months_of_history) == ("no seasonal pattern", 24)


def test_a_month_without_closes_inside_the_history_counts_as_zero_volume():
    months = pd.date_range("2021-01-01", periods=30, freq="MS").to_numpy(dtype="datetime64[D]")
    counts = np.full(30, 100)
    counts[[13]] = 0
    result = seasonality.seasonality_analyse(
        months=months, n=counts, won=counts // 2, as_of=dt.date(2023, 7, 1), first_close=dt.date(2021, 1, 1)
    )
    assert result.by_month[1]["n"] == 100  # February: one of its two years had no closes


@pytest.fixture
def seasonal_tenant(tenant_a):
    """Tenant A with three generated years of closed deals whose Q4 wins more often."""
    deals = generated_deals(years=3, seed=8, win_rate_by_month={10: 0.65, 11: 0.65, 12: 0.70})
    with tenant_context(tenant_a):
        tenant_id = require_tenant_id()
        Deal.objects.bulk_create(
            Deal(
                tenant_id=tenant_id,
                crm_id=f"S-{index}",
                created_date=closed.date() - dt.timedelta(days=30),
                closed_date=closed.date(),
                stage="Negotiation",
                amount=Decimal(10_000),
                status=DealStatus.WON if won else DealStatus.LOST,
                sales_cycle_days=30,
            )
            for index, (closed, won) in enumerate(zip(deals["closed_date"], deals["won"], strict=True))
        )
    return tenant_a


def test_a_planted_season_in_stored_deals_is_found_end_to_end(seasonal_tenant):
    report = briefing.seasonality_report(tenant=seasonal_tenant, as_of=end_of(3))
    assert report["verdict"] == "seasonal pattern"
    assert report["win_rate_test"]["p_value_adjusted"] < 0.001
    best = max(report["by_month"], key=lambda month: month["win_rate"])
    assert best["name"] in {"Oct", "Nov", "Dec"}
