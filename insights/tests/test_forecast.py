"""Quarter forecast: closing-time odds, the simulated distribution, and the backtest on the demo."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from insights import briefing, forecast
from salesintel.testing.data import DEMO_ANCHOR
from tenants.context import tenant_context

# The demo's closed deals end on the anchor: the first day not yet known is the day after.
DEMO_AS_OF = DEMO_ANCHOR + dt.timedelta(days=1)


def _times(
    *, won_days: list[int], lost_days: list[int], log_bayes_factor: float = 0.0
) -> forecast.ClosingTimes:
    days = [*won_days, *lost_days]
    won = [True] * len(won_days) + [False] * len(lost_days)
    times = forecast.closing_times_from_histogram(days=days, won=won, counts=[1] * len(days))
    return forecast.ClosingTimes(won=times.won, lost=times.lost, log_bayes_factor=log_bayes_factor)


def _odds(probability: list[float], window: list[float]) -> forecast.DealOdds:
    return forecast.DealOdds(
        win_probability=np.array(probability, dtype=float), close_in_window=np.array(window, dtype=float)
    )


def test_survival_counts_the_durations_longer_than_the_age():
    survival = forecast.survival_from_histogram(days=[10, 20, 30, 20], counts=[1, 2, 1, 1])
    assert survival.tail_count([0, 10, 19, 20, 30]).tolist() == [5, 4, 4, 1, 0]


def test_survival_never_reaches_zero_or_one():
    survival = forecast.survival_from_histogram(days=[10, 20], counts=[1, 1])
    assert 0 < survival.at(1_000)[()] < survival.at(0)[()] < 1


def test_a_deal_older_than_every_won_deal_is_not_expected_to_close_in_the_window():
    odds = forecast.deal_window_odds(
        probability=[0.5],
        state_conditioned=[False],
        clock_days=[200],
        reference=[0],
        references=[_times(won_days=[10, 20, 30], lost_days=[40, 90])],
        horizon_days=60,
    )
    assert odds.close_in_window[0] == 0.0


def test_a_window_longer_than_every_won_deal_makes_a_young_deal_certain_to_close_if_won():
    odds = forecast.deal_window_odds(
        probability=[0.5],
        state_conditioned=[True],
        clock_days=[0],
        reference=[0],
        references=[_times(won_days=[10, 20, 30], lost_days=[40])],
        horizon_days=90,
    )
    assert odds.close_in_window[0] == pytest.approx(3 / 3.5)


def test_a_segment_prior_is_lowered_for_a_deal_that_lingers_like_the_lost_ones():
    times = _times(won_days=[5, 10, 15, 20], lost_days=[60, 80, 100, 120])
    odds = forecast.deal_window_odds(
        probability=[0.5, 0.5],
        state_conditioned=[False, False],
        clock_days=[0, 40],
        reference=[0, 0],
        references=[times],
        horizon_days=30,
    )
    young, lingering = odds.win_probability
    assert young == pytest.approx(0.5)
    assert lingering < 0.2


def test_a_score_is_used_as_it_is_because_it_already_knows_the_deals_state():
    times = _times(won_days=[5, 10, 15, 20], lost_days=[60, 80, 100, 120])
    odds = forecast.deal_window_odds(
        probability=[0.5],
        state_conditioned=[True],
        clock_days=[40],
        reference=[0],
        references=[times],
        horizon_days=30,
    )
    assert odds.win_probability[0] == 0.5


def test_reaching_a_stage_that_won_deals_reach_more_often_raises_the_prior():
    stage = _times(won_days=[5, 10], lost_days=[5, 10], log_bayes_factor=np.log(2.0))
    odds = forecast.deal_window_odds(
        probability=[0.5],
        state_conditioned=[False],
        clock_days=[0],
        reference=[0],
        references=[stage],
        horizon_days=30,
    )
    assert odds.win_probability[0] == pytest.approx(2 / 3, abs=0.02)


def test_certain_deals_make_a_point_forecast():
    result = forecast.bookings_distribution(
        won_so_far=100.0, amounts=[50.0, 70.0], odds=_odds([1.0, 0.0], [1.0, 1.0]), simulations=500
    )
    assert result.p10 == result.p90 == result.expected == 150.0


def test_expected_bookings_are_won_so_far_plus_amount_times_probability_plus_new_business():
    new_business = forecast.NewBusiness(windows=2, amounts=np.array([10.0, 30.0, 20.0]), win_rate=0.5)
    result = forecast.bookings_distribution(
        won_so_far=1_000.0,
        amounts=[100.0, 200.0],
        odds=_odds([0.5, 0.25], [0.8, 1.0]),
        new_business=new_business,
        simulations=2_000,
    )
    assert result.expected == pytest.approx(1_000 + 100 * 0.4 + 200 * 0.25 + 60 / 2)
    assert result.expected_new == pytest.approx(30.0)


def test_the_same_seed_gives_the_same_forecast():
    arguments = {"won_so_far": 0.0, "amounts": [10.0, 20.0, 30.0], "odds": _odds([0.3, 0.5, 0.7], [1, 1, 1])}
    first = forecast.bookings_distribution(**arguments, seed=3, simulations=1_000)
    second = forecast.bookings_distribution(**arguments, seed=3, simulations=1_000)
    assert (first.p10, first.p50, first.p90) == (second.p10, second.p50, second.p90)


def test_the_simulated_median_and_interval_match_the_exact_distribution_of_a_sum_of_coin_flips():
    # 400 deals of 1,000 at 30%: bookings are 1,000 × Binomial(400, 0.3).
    result = forecast.bookings_distribution(
        won_so_far=0.0,
        amounts=np.full(400, 1_000.0),
        odds=_odds([0.3] * 400, [1.0] * 400),
        simulations=20_000,
    )
    assert result.p50 == pytest.approx(120_000, rel=0.02)
    assert result.p10 == pytest.approx(1_000 * 108, rel=0.02)
    assert result.p90 == pytest.approx(1_000 * 132, rel=0.02)


def test_the_normal_remainder_for_many_small_deals_matches_simulating_every_deal():
    rng = np.random.default_rng(1)
    amounts = rng.lognormal(9, 0.6, 3_000)
    odds = _odds(rng.uniform(0.1, 0.6, 3_000).tolist(), rng.uniform(0.5, 1.0, 3_000).tolist())
    exact = forecast.bookings_distribution(won_so_far=0.0, amounts=amounts, odds=odds, exact_deals=3_000)
    mixed = forecast.bookings_distribution(won_so_far=0.0, amounts=amounts, odds=odds, exact_deals=200)
    for key in ("p10", "p50", "p90"):
        assert getattr(mixed, key) == pytest.approx(getattr(exact, key), rel=0.01)


def test_a_common_log_odds_swing_between_quarters_widens_the_interval():
    arguments = {"won_so_far": 0.0, "amounts": np.full(300, 1_000.0), "odds": _odds([0.4] * 300, [1.0] * 300)}
    calm = forecast.bookings_distribution(**arguments, logit_sd=0.0)
    swinging = forecast.bookings_distribution(**arguments, logit_sd=0.4)
    assert swinging.p90 - swinging.p10 > 1.5 * (calm.p90 - calm.p10)


def test_the_chance_to_reach_a_quota_is_the_share_of_simulated_quarters_at_or_above_it():
    result = forecast.bookings_distribution(
        won_so_far=0.0,
        amounts=np.full(400, 1_000.0),
        odds=_odds([0.3] * 400, [1.0] * 400),
        simulations=20_000,
    )
    assert result.probability_at_least(0.0) == 1.0
    assert result.probability_at_least(120_000) == pytest.approx(0.5, abs=0.05)
    assert result.probability_at_least(1e9) == 0.0


def test_quarters_that_differ_less_than_coin_flips_would_get_no_common_swing():
    n = np.full(8, 600)
    won = np.array([268, 272, 270, 271, 269, 270, 272, 268])
    assert forecast.quarter_logit_sd(won=won, n=n) < 0.01


def test_quarters_that_swing_beyond_coin_flips_get_a_common_swing():
    n = np.full(8, 600)
    won = (n * np.array([0.30, 0.55, 0.35, 0.60, 0.30, 0.55, 0.40, 0.60])).astype(int)
    assert forecast.quarter_logit_sd(won=won, n=n) > 0.3


def test_a_segment_with_little_history_keeps_close_to_the_pooled_revenue_weighted_rate():
    rates, pooled = forecast.revenue_weighted_priors(
        n=[1_000, 1_000, 4],
        won=[500, 300, 4],
        amount_sum=[1e7, 1e7, 4e4],
        won_amount_sum=[4e6, 3e6, 4e4],
    )
    assert pooled == pytest.approx(7.04e6 / 2.004e7)
    assert rates[0] == pytest.approx(0.4, abs=0.01)
    assert pooled < rates[2] < 0.6


def test_the_backtest_summary_counts_the_outcomes_inside_the_interval():
    summary = forecast.backtest_summary(
        actual=[10, 20, 30, 40], expected=[10, 25, 30, 30], p10=[5, 21, 25, 25], p90=[15, 30, 35, 35]
    )
    assert (summary.n, summary.covered, summary.below_p10, summary.above_p90) == (4, 2, 1, 1)
    assert summary.mean_error == pytest.approx(1.25)


def test_on_the_demo_data_the_80_percent_interval_holds_the_outcome_80_percent_of_the_time_give_or_take_10(
    demo_tenant,
):
    result = briefing.forecast_backtest(tenant=demo_tenant, as_of=DEMO_AS_OF)
    # Six complete quarters (2025Q2 … 2026Q3), replayed on the 1st and 15th of each month.
    assert result["quarters"] == ["2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    assert result["n"] == 36
    assert 0.70 <= result["coverage"] <= 0.90
    assert result["meets_target"] is True
    assert result["mean_absolute_percentage_error"] < 0.15


def test_the_demo_forecast_counts_what_was_won_this_quarter_so_far(demo_tenant, demo_deals: pd.DataFrame):
    result = briefing.quarter_forecast(tenant=demo_tenant, as_of=DEMO_AS_OF, simulations=2_000)
    won = demo_deals[
        (demo_deals["outcome"] == "Won")
        & (demo_deals["closed_date"] >= pd.Timestamp("2026-10-01"))
        & (demo_deals["closed_date"] < pd.Timestamp(DEMO_AS_OF))
    ]
    assert result["quarter"]["label"] == "2026Q4"
    assert result["won_so_far"] == pytest.approx(float(won["deal_amount"].sum()))
    assert result["n_open"] == 600
    assert result["won_so_far"] < result["p10"] <= result["expected"] <= result["p90"]


def test_scores_replace_the_segment_priors_of_the_scored_deals(demo_tenant):
    with tenant_context(demo_tenant):
        inputs, _ = briefing.forecast_at(tenant=demo_tenant, as_of=DEMO_AS_OF, simulations=500)
        hopeless = dict.fromkeys(inputs.deals["deal_id"].tolist(), 0.0)
        scored, distribution = briefing.forecast_at(
            tenant=demo_tenant, as_of=DEMO_AS_OF, probabilities=hopeless, simulations=500
        )
    assert scored.method == "scores"
    assert distribution.expected_open == 0.0


def test_a_quota_below_what_is_already_won_is_certain_to_be_reached(demo_tenant):
    result = briefing.quarter_forecast(tenant=demo_tenant, as_of=DEMO_AS_OF, quota=1_000.0, simulations=500)
    assert result["probability_of_quota"] == 1.0
    assert result["expected_attainment"] > 1
