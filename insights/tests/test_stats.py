"""Unit tests of insights.stats: each formula against a hand computation or a reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from insights import stats


def test_wilson_interval_matches_the_textbook_values() -> None:
    # Reference values from the closed form (Agresti & Coull 1998, Table 1 style).
    low, high = stats.wilson_interval(453, 1000)
    assert float(low) == pytest.approx(0.42239, abs=1e-5)
    assert float(high) == pytest.approx(0.48397, abs=1e-5)


def test_wilson_interval_of_zero_wins_starts_at_zero() -> None:
    low, high = stats.wilson_interval(0, 10)
    assert float(low) == 0.0
    assert float(high) == pytest.approx(0.27753, abs=1e-5)


def test_wilson_interval_of_an_empty_sample_is_the_whole_unit_interval() -> None:
    low, high = stats.wilson_interval(0, 0)
    assert (float(low), float(high)) == (0.0, 1.0)


def test_two_proportion_p_value_equals_the_uncorrected_chi_square_test() -> None:
    table = np.array([[279, 637 - 279], [462, 990 - 462]])
    chi2 = scipy_stats.chi2_contingency(table, correction=False)
    assert float(stats.two_proportion_p_value(279, 637, 462, 990)) == pytest.approx(chi2.pvalue, rel=1e-9)


def test_two_proportion_p_value_is_one_without_evidence() -> None:
    assert float(stats.two_proportion_p_value(0, 10, 0, 20)) == 1.0
    assert float(stats.two_proportion_p_value(3, 0, 5, 10)) == 1.0


def test_holm_adjustment_steps_down_and_keeps_the_order_of_the_input() -> None:
    adjusted = stats.holm_adjust([0.01, 0.04, 0.03, np.nan, 0.5])
    assert adjusted[:3] == pytest.approx([0.04, 0.09, 0.09])
    assert np.isnan(adjusted[3])
    assert adjusted[4] == pytest.approx(0.5)


def test_weighted_rate_equals_the_count_rate_when_every_amount_is_equal() -> None:
    estimate = stats.weighted_rate_estimate(
        n=100,
        amount_sum=100 * 5.0,
        won_amount_sum=40 * 5.0,
        amount_sq_sum=100 * 25.0,
        won_amount_sq_sum=40 * 25.0,
    )
    assert float(estimate.rate) == pytest.approx(0.4)
    assert float(estimate.effective_n) == pytest.approx(99)


def test_weighted_rate_delta_method_interval_agrees_with_a_seeded_bootstrap() -> None:
    rng = np.random.default_rng(20240701)
    amounts = rng.lognormal(9.5, 1.0, 800)
    won = rng.random(800) < 0.35 + 0.1 * (amounts > np.median(amounts))
    estimate = stats.weighted_rate_estimate(
        n=800,
        amount_sum=amounts.sum(),
        won_amount_sum=(amounts * won).sum(),
        amount_sq_sum=(amounts**2).sum(),
        won_amount_sq_sum=(amounts**2 * won).sum(),
    )
    resamples = rng.integers(0, 800, size=(4000, 800))
    boot = (amounts[resamples] * won[resamples]).sum(axis=1) / amounts[resamples].sum(axis=1)
    assert float(np.sqrt(estimate.variance)) == pytest.approx(boot.std(), rel=0.1)
    low, high = np.quantile(boot, [0.025, 0.975])
    assert float(estimate.ci_low) == pytest.approx(low, abs=0.02)
    assert float(estimate.ci_high) == pytest.approx(high, abs=0.02)


def test_weighted_rate_of_all_lost_deals_keeps_a_nonzero_upper_bound() -> None:
    estimate = stats.weighted_rate_estimate(
        n=20, amount_sum=200.0, won_amount_sum=0.0, amount_sq_sum=2000.0, won_amount_sq_sum=0.0
    )
    assert float(estimate.rate) == 0.0
    assert 0.0 < float(estimate.ci_high) < 0.3


def test_newcombe_interval_brackets_the_difference() -> None:
    low_b, high_b = stats.wilson_interval(462, 990)
    low_a, high_a = stats.wilson_interval(279, 637)
    low, high = stats.newcombe_difference_interval(
        rate_before=462 / 990,
        low_before=low_b,
        high_before=high_b,
        rate_after=279 / 637,
        low_after=low_a,
        high_after=high_a,
    )
    assert float(low) < 279 / 637 - 462 / 990 < float(high)
    assert float(low) == pytest.approx(-0.0778, abs=5e-4)


def test_shift_toward_a_weak_segment_is_that_segments_negative_mix_contribution() -> None:
    # Partner (20% win rate) grows from 10% to 40% of deals; rates within segments unchanged.
    result = stats.shift_share_decomposition(
        n_before=[100, 900], won_before=[20, 450], n_after=[400, 600], won_after=[80, 300]
    )
    assert result.rate_effect == pytest.approx(0.0)
    assert result.mix[0] < 0
    assert result.mix_effect == pytest.approx(result.total_change)
    assert result.total_change == pytest.approx(0.38 - 0.47)


def test_mix_contribution_follows_the_issue_formula() -> None:
    result = stats.shift_share_decomposition(
        n_before=[100, 900], won_before=[20, 450], n_after=[400, 600], won_after=[80, 330]
    )
    overall_mean = (470 / 1000 + 410 / 1000) / 2
    segment_mean = (0.2 + 0.2) / 2
    assert result.mix[0] == pytest.approx((0.4 - 0.1) * (segment_mean - overall_mean))
    assert result.rate[1] == pytest.approx((0.55 - 0.5) * (0.9 + 0.6) / 2)


def test_a_segment_in_one_period_only_contributes_mix_alone() -> None:
    result = stats.shift_share_decomposition(
        n_before=[100, 50, 0], won_before=[50, 10, 0], n_after=[80, 60, 20], won_after=[40, 12, 15]
    )
    assert result.rate[2] == 0.0
    assert result.mix[2] != 0.0
    assert result.mix_effect + result.rate_effect == pytest.approx(result.total_change, abs=1e-15)


def test_decomposing_an_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="Both periods"):
        stats.shift_share_decomposition(n_before=[0, 0], won_before=[0, 0], n_after=[5, 5], won_after=[1, 2])


def test_mantel_haenszel_with_one_stratum_is_the_plain_difference() -> None:
    change, variance = stats.mantel_haenszel_difference(
        n_before=[[100]], won_before=[[50]], n_after=[[80]], won_after=[[20]]
    )
    assert change[0] == pytest.approx(0.25 - 0.5)
    assert variance[0] == pytest.approx(0.25 * 0.75 / 80 + 0.25 / 100)


def test_mantel_haenszel_removes_a_change_that_is_only_stratum_mix() -> None:
    # Within each stratum nothing changed; the mix moved toward the weak stratum.
    change, _ = stats.mantel_haenszel_difference(
        n_before=[[90, 10]], won_before=[[45, 1]], n_after=[[50, 50]], won_after=[[25, 5]]
    )
    assert change[0] == pytest.approx(0.0)


def test_beta_prior_on_pure_noise_shrinks_every_group_to_the_pooled_rate() -> None:
    rng = np.random.default_rng(7)
    n = np.full(25, 200)
    won = rng.binomial(n, 0.45)
    prior = stats.beta_prior_fit(won=won, n=n)
    shrunk = stats.shrunk_rates(won=won, n=n, prior=prior)
    assert prior.strength > 10_000
    assert np.ptp(shrunk.rate) < 0.01


def test_pure_noise_has_no_group_unlike_the_rest() -> None:
    rng = np.random.default_rng(7)
    n = np.full(25, 200)
    shrinkage = stats.shrink_groups(won=rng.binomial(n, 0.45), n=n)
    assert not shrinkage.conflict.any()
    assert np.ptp(shrinkage.rates.rate) < 0.01


def test_a_group_unlike_many_alike_keeps_its_own_record() -> None:
    """The demo's case: one weak rep (30 of 104) among 24 alike. A Beta prior fitted across all
    of them pulled it to the team's rate with an interval that excluded its own record."""
    n = np.array([104] + [105] * 24)
    won = np.array([30] + [48, 49] * 12)
    shrinkage = stats.shrink_groups(won=won, n=n)

    assert shrinkage.conflict.tolist() == [True] + [False] * 24
    weak_low, weak_high = shrinkage.rates.ci_low[0], shrinkage.rates.ci_high[0]
    assert weak_low < 30 / 104 < weak_high
    assert weak_high < won[1:].sum() / n[1:].sum()
    # The prior is refitted on the alike: they shrink to their own pooled rate.
    assert shrinkage.prior.mean == pytest.approx(won[1:].sum() / n[1:].sum(), abs=0.005)
    assert np.ptp(shrinkage.rates.rate[1:]) < 0.01


def test_prior_conflicts_need_the_bonferroni_level_and_deals() -> None:
    prior = stats.BetaPrior(alpha=450.0, beta=550.0)  # 45%, between-group sd ≈ 1.6 pts
    # 34 of 100 is p ≈ 0.042 two-sided: a conflict for one group, not among twenty.
    assert stats.prior_conflicts(won=[34], n=[100], prior=prior).tolist() == [True]
    assert not stats.prior_conflicts(won=[34] + [45] * 19, n=[100] * 20, prior=prior)[0]
    assert stats.prior_conflicts(won=[0], n=[0], prior=prior).tolist() == [False]


def test_rank_ranges_are_wide_for_groups_alike_and_narrow_for_groups_apart() -> None:
    # Ten alike (posteriors of 46 of 100 each) and one far below.
    alpha = np.array([46.0] * 10 + [20.0])
    beta = np.array([54.0] * 10 + [80.0])
    low, high = stats.rank_intervals(alpha=alpha, beta=beta)
    assert (low[:10] <= 2).all() and (high[:10] >= 9).all()
    assert (low[10], high[10]) == (11, 11)
    # Seeded: the same ranges on every call.
    again = stats.rank_intervals(alpha=alpha, beta=beta)
    assert (again[0] == low).all() and (again[1] == high).all()
    assert stats.rank_intervals(alpha=[], beta=[])[0].size == 0


def test_beta_prior_recovers_a_real_spread_between_groups() -> None:
    rng = np.random.default_rng(11)
    true_rates = rng.beta(20, 30, size=400)  # mean 0.4, strength 50
    n = np.full(400, 300)
    prior = stats.beta_prior_fit(won=rng.binomial(n, true_rates), n=n)
    assert prior.mean == pytest.approx(0.4, abs=0.02)
    assert prior.strength == pytest.approx(50, rel=0.3)


def test_shrunk_rate_lies_between_the_raw_rate_and_the_prior_mean() -> None:
    prior = stats.BetaPrior(alpha=20, beta=30)
    shrunk = stats.shrunk_rates(won=[2, 45], n=[10, 50], prior=prior)
    assert 0.2 < shrunk.rate[0] < 0.4
    assert 0.4 < shrunk.rate[1] < 0.9


def test_beta_prior_with_two_groups_is_weak_and_centred_on_the_pooled_rate() -> None:
    prior = stats.beta_prior_fit(won=[10, 30], n=[50, 50])
    assert prior.mean == pytest.approx(0.4)
    assert prior.strength == stats.WEAK_PRIOR_STRENGTH


def test_noise_verdict_says_a_small_change_is_not_distinguishable_from_noise() -> None:
    verdict = stats.noise_verdict(
        subject="Win rate",
        rate_before=0.467,
        rate_after=0.438,
        p_value=0.26,
        change_ci_low=-0.078,
        change_ci_high=0.021,
    )
    assert verdict == (
        "Win rate fell 2.9 pts (46.7% → 43.8%). Not distinguishable from noise (p = 0.26): "
        "the true change is anywhere from −7.8 pts to +2.1 pts."
    )


def test_noise_verdict_says_a_large_change_is_distinguishable_from_noise() -> None:
    verdict = stats.noise_verdict(
        subject="Win rate",
        rate_before=0.5,
        rate_after=0.35,
        p_value=0.0001,
        change_ci_low=-0.2,
        change_ci_high=-0.1,
    )
    assert (
        "Distinguishable from noise (p < 0.001): the true change is between −20.0 pts and −10.0 pts."
        in verdict
    )
