"""Statistics for win-rate diagnosis: intervals, tests, shift-share decomposition, shrinkage.

Pure numpy/scipy, no Django, so every formula is testable without a database. Functions take
counts and sums (sufficient statistics that SQL aggregates produce) rather than per-deal rows,
and are vectorised: pass arrays to evaluate many segments at once. Rates are fractions in
[0, 1]; changes are in rate units (0.031 = 3.1 percentage points). docs/insights.md gives the
formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, special
from scipy import stats as scipy_stats

FloatArray = npt.NDArray[np.float64]

CONFIDENCE = 0.95
# Below this p-value a change is called distinguishable from noise.
SIGNIFICANCE_LEVEL = 0.05


def z_value(confidence: float = CONFIDENCE) -> float:
    """The two-sided standard-normal quantile for ``confidence`` (1.96 for 0.95)."""
    return float(scipy_stats.norm.ppf(0.5 + confidence / 2))


def _as_float(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def rate(won: npt.ArrayLike, n: npt.ArrayLike) -> FloatArray:
    """won / n, NaN where n is 0."""
    won_f, n_f = _as_float(won), _as_float(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_f > 0, won_f / np.where(n_f > 0, n_f, 1.0), np.nan)


def wilson_interval(
    won: npt.ArrayLike, n: npt.ArrayLike, *, confidence: float = CONFIDENCE
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of a proportion, vectorised.

    ``won`` may be fractional (an effective count, see :func:`weighted_rate_estimate`).
    Returns (low, high) within [0, 1]; where n is 0 the interval is the whole [0, 1].
    The interval always contains won / n.
    """
    won_f, n_f = _as_float(won), _as_float(n)
    z = z_value(confidence)
    safe_n = np.where(n_f > 0, n_f, 1.0)
    p = won_f / safe_n
    denominator = 1.0 + z * z / safe_n
    centre = (p + z * z / (2 * safe_n)) / denominator
    half_width = (
        z * np.sqrt(np.maximum(p * (1 - p) / safe_n + z * z / (4 * safe_n * safe_n), 0.0)) / denominator
    )
    low = np.where(n_f > 0, np.clip(centre - half_width, 0.0, 1.0), 0.0)
    high = np.where(n_f > 0, np.clip(centre + half_width, 0.0, 1.0), 1.0)
    # Rounding can put the bound a hair past p when p is 0 or 1; the contract is low ≤ p ≤ high.
    low = np.where(n_f > 0, np.minimum(low, p), low)
    high = np.where(n_f > 0, np.maximum(high, p), high)
    return low, high


@dataclass(frozen=True)
class WeightedRate:
    """Revenue-weighted win rate Σ amount·won / Σ amount with its delta-method interval.

    ``effective_n`` is the sample size at which a plain proportion would have the same
    variance; the interval is the Wilson interval at that size (see docs/insights.md).
    """

    rate: FloatArray
    variance: FloatArray
    effective_n: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


def weighted_rate_estimate(
    *,
    n: npt.ArrayLike,
    amount_sum: npt.ArrayLike,
    won_amount_sum: npt.ArrayLike,
    amount_sq_sum: npt.ArrayLike,
    won_amount_sq_sum: npt.ArrayLike,
    confidence: float = CONFIDENCE,
) -> WeightedRate:
    """Ratio estimator R = Σ a·y / Σ a and its delta-method variance, from sums alone.

    Var(R) ≈ n/(n−1) · Σ a²(y − R)² / (Σ a)², where Σ a²(y − R)² =
    (1 − R)²·Σ_won a² + R²·Σ_lost a². When R is 0 or 1 (or n < 2) that variance is zero
    and Kish's effective size (Σ a)² / Σ a² is used instead, so the interval never collapses.
    Where Σ a is 0 the rate is NaN and the interval [0, 1].
    """
    n_f = _as_float(n)
    total = _as_float(amount_sum)
    won_total = _as_float(won_amount_sum)
    sq = _as_float(amount_sq_sum)
    won_sq = _as_float(won_amount_sq_sum)
    defined = total > 0
    safe_total = np.where(defined, total, 1.0)
    ratio = np.where(defined, np.clip(won_total / safe_total, 0.0, 1.0), np.nan)
    r = np.nan_to_num(ratio)
    residual_ss = (1 - r) ** 2 * won_sq + r**2 * np.maximum(sq - won_sq, 0.0)
    delta_variance = np.where(n_f > 1, n_f / np.maximum(n_f - 1, 1.0) * residual_ss / safe_total**2, 0.0)
    kish_n = total**2 / np.where(sq > 0, sq, 1.0)
    use_delta = defined & (delta_variance > 0)
    effective_n = np.where(
        use_delta, r * (1 - r) / np.where(use_delta, delta_variance, 1.0), np.where(defined, kish_n, 0.0)
    )
    variance = np.where(
        use_delta,
        delta_variance,
        np.where(defined, r * (1 - r) / np.where(effective_n > 0, effective_n, 1.0), np.nan),
    )
    low, high = wilson_interval(r * effective_n, effective_n, confidence=confidence)
    return WeightedRate(rate=ratio, variance=variance, effective_n=effective_n, ci_low=low, ci_high=high)


def two_proportion_p_value(
    won_a: npt.ArrayLike, n_a: npt.ArrayLike, won_b: npt.ArrayLike, n_b: npt.ArrayLike
) -> FloatArray:
    """Two-sided p-value of the pooled two-proportion z-test of rate a == rate b, vectorised.

    1.0 where either sample is empty or the pooled rate is 0 or 1 (no evidence of a difference).
    """
    won_a_f, n_a_f, won_b_f, n_b_f = (_as_float(v) for v in (won_a, n_a, won_b, n_b))
    usable = (n_a_f > 0) & (n_b_f > 0)
    safe_a, safe_b = np.where(usable, n_a_f, 1.0), np.where(usable, n_b_f, 1.0)
    pooled = np.where(usable, np.clip((won_a_f + won_b_f) / (safe_a + safe_b), 0.0, 1.0), 0.0)
    se = np.sqrt(pooled * (1 - pooled) * (1 / safe_a + 1 / safe_b))
    usable &= se > 0
    z = np.where(usable, (won_a_f / safe_a - won_b_f / safe_b) / np.where(usable, se, 1.0), 0.0)
    return np.where(usable, 2 * scipy_stats.norm.sf(np.abs(z)), 1.0)


def wald_p_value(difference: npt.ArrayLike, variance: npt.ArrayLike) -> FloatArray:
    """Two-sided p-value of difference == 0 given its variance (1.0 where the variance is 0)."""
    diff, var = _as_float(difference), _as_float(variance)
    usable = np.isfinite(diff) & np.isfinite(var) & (var > 0)
    z = np.where(usable, diff / np.sqrt(np.where(usable, var, 1.0)), 0.0)
    return np.where(usable, 2 * scipy_stats.norm.sf(np.abs(z)), 1.0)


def newcombe_difference_interval(
    *,
    rate_before: npt.ArrayLike,
    low_before: npt.ArrayLike,
    high_before: npt.ArrayLike,
    rate_after: npt.ArrayLike,
    low_after: npt.ArrayLike,
    high_after: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's hybrid score interval for rate_after − rate_before from each rate's interval.

    With Wilson intervals this is Newcombe's method 10; it stays within [−1, 1] and contains
    the difference.
    """
    p1, l1, u1 = (_as_float(v) for v in (rate_before, low_before, high_before))
    p2, l2, u2 = (_as_float(v) for v in (rate_after, low_after, high_after))
    difference = p2 - p1
    low = difference - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = difference + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return low, high


def holm_adjust(p_values: npt.ArrayLike) -> FloatArray:
    """Holm–Bonferroni adjusted p-values (family-wise error control), same order as given.

    NaN entries are ignored and stay NaN.
    """
    p = _as_float(p_values)
    adjusted = np.full(p.shape, np.nan)
    present = np.flatnonzero(np.isfinite(p))
    m = present.size
    if m == 0:
        return adjusted
    order = present[np.argsort(p[present], kind="stable")]
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


@dataclass(frozen=True)
class ShiftShare:
    """Kitagawa shift-share decomposition of a change in overall win rate across segments.

    Arrays are per segment, aligned with the inputs. ``mix`` + ``rate`` summed over segments
    equals ``total_change`` = overall_after − overall_before (up to floating-point rounding).
    """

    share_before: FloatArray
    share_after: FloatArray
    rate_before: FloatArray
    rate_after: FloatArray
    mix: FloatArray
    rate: FloatArray
    overall_before: float
    overall_after: float
    total_change: float
    mix_effect: float
    rate_effect: float


def shift_share_decomposition(
    *,
    n_before: npt.ArrayLike,
    won_before: npt.ArrayLike,
    n_after: npt.ArrayLike,
    won_after: npt.ArrayLike,
) -> ShiftShare:
    """Split the change in overall win rate into mix and rate contributions per segment.

    For segment i with shares s (n_i / N) and rates r in the two periods, r̄_i the mean of its
    two rates, s̄_i the mean of its two shares and R̄ the mean of the two overall rates:

    * mix_i  = (s_after − s_before) · (r̄_i − R̄): a shift toward a segment weaker than
      average is negative;
    * rate_i = (r_after − r_before) · s̄_i.

    Σ mix_i = Σ (s_after − s_before)·r̄_i because shares sum to one in both periods, and
    (Δs)·r̄ + (Δr)·s̄ = s_after·r_after − s_before·r_before, so Σ mix + Σ rate equals the
    change in overall rate exactly. A segment with no deals in one period takes its other
    period's rate there, so its whole contribution is mix. Segments empty in both contribute 0
    with NaN rates. Raises ValueError if either period has no deals at all.
    """
    nb, wb, na, wa = (_as_float(v) for v in (n_before, won_before, n_after, won_after))
    total_before, total_after = float(nb.sum()), float(na.sum())
    if total_before <= 0 or total_after <= 0:
        raise ValueError("Both periods need closed deals to decompose a change.")
    share_before, share_after = nb / total_before, na / total_after
    rate_before, rate_after = rate(wb, nb), rate(wa, na)
    filled_before = np.where(nb > 0, rate_before, rate_after)
    filled_after = np.where(na > 0, rate_after, rate_before)
    present = (nb > 0) | (na > 0)
    overall_before = float(wb.sum()) / total_before
    overall_after = float(wa.sum()) / total_after
    overall_mean = (overall_before + overall_after) / 2
    segment_mean = np.where(present, (filled_before + filled_after) / 2, 0.0)
    mix = np.where(present, (share_after - share_before) * (segment_mean - overall_mean), 0.0)
    rate_contribution = np.where(
        present,
        (np.nan_to_num(filled_after) - np.nan_to_num(filled_before)) * (share_before + share_after) / 2,
        0.0,
    )
    return ShiftShare(
        share_before=share_before,
        share_after=share_after,
        rate_before=rate_before,
        rate_after=rate_after,
        mix=mix,
        rate=rate_contribution,
        overall_before=overall_before,
        overall_after=overall_after,
        total_change=overall_after - overall_before,
        mix_effect=float(mix.sum()),
        rate_effect=float(rate_contribution.sum()),
    )


def mantel_haenszel_difference(
    *,
    n_before: npt.ArrayLike,
    won_before: npt.ArrayLike,
    n_after: npt.ArrayLike,
    won_after: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Stratified ("like for like") rate change per row: Mantel–Haenszel risk difference.

    Inputs are 2-D arrays, one row per group and one column per stratum. For each row,
    Σ_j w_j (r_after,j − r_before,j) / Σ_j w_j with w_j = n_before,j · n_after,j /
    (n_before,j + n_after,j) over strata present in both periods, and its variance
    Σ_j w_j² (r(1 − r)/n after + before) / (Σ_j w_j)². A stratum seen in one period only gets no
    weight. Returns (change, variance), NaN for rows with no stratum in both periods.
    """
    nb, wb, na, wa = (np.atleast_2d(_as_float(v)) for v in (n_before, won_before, n_after, won_after))
    both = (nb > 0) & (na > 0)
    safe_b, safe_a = np.where(both, nb, 1.0), np.where(both, na, 1.0)
    rate_b, rate_a = wb / safe_b, wa / safe_a
    weight = np.where(both, safe_b * safe_a / (safe_b + safe_a), 0.0)
    cell_variance = rate_a * (1 - rate_a) / safe_a + rate_b * (1 - rate_b) / safe_b
    total = weight.sum(axis=1)
    usable = total > 0
    safe_total = np.where(usable, total, 1.0)
    change = np.where(usable, (weight * (rate_a - rate_b)).sum(axis=1) / safe_total, np.nan)
    variance = np.where(usable, (weight**2 * cell_variance).sum(axis=1) / safe_total**2, np.nan)
    return change, variance


# Bounds of the prior strength α + β. The upper bound means "the groups are indistinguishable":
# every shrunk rate then sits at the pooled rate.
MIN_PRIOR_STRENGTH = 0.5
MAX_PRIOR_STRENGTH = 1e6
# With fewer groups the spread between them cannot be estimated; a weak prior is used instead.
MIN_GROUPS_FOR_PRIOR = 3
WEAK_PRIOR_STRENGTH = 2.0


@dataclass(frozen=True)
class BetaPrior:
    """Beta(α, β) prior of group win rates, fitted across groups (e.g. a tenant's reps)."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def strength(self) -> float:
        """α + β: how many deals' worth of evidence the prior carries."""
        return self.alpha + self.beta


def _beta_binomial_negative_log_likelihood(params: FloatArray, won: FloatArray, n: FloatArray) -> float:
    mean = special.expit(params[0])
    strength = math.exp(params[1])
    alpha, beta = mean * strength, (1 - mean) * strength
    return float(-(special.betaln(won + alpha, n - won + beta) - special.betaln(alpha, beta)).sum())


def beta_prior_fit(*, won: npt.ArrayLike, n: npt.ArrayLike) -> BetaPrior:
    """Empirical-Bayes Beta prior by beta-binomial maximum likelihood across groups.

    Groups with n = 0 are ignored. The mean is started at the pooled rate and the strength
    α + β at its method-of-moments value; the strength is bounded to
    [MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH]. With fewer than MIN_GROUPS_FOR_PRIOR groups (or
    a pooled rate of 0 or 1) the between-group spread cannot be estimated and a weak prior of
    strength WEAK_PRIOR_STRENGTH centred on the pooled rate is returned. Raises ValueError
    when there are no deals at all.
    """
    won_f, n_f = _as_float(won), _as_float(n)
    keep = n_f > 0
    won_f, n_f = won_f[keep], n_f[keep]
    if n_f.sum() <= 0:
        raise ValueError("A prior needs at least one closed deal.")
    pooled = float(won_f.sum() / n_f.sum())
    if won_f.size < MIN_GROUPS_FOR_PRIOR or pooled in (0.0, 1.0):
        clipped = min(max(pooled, 0.01), 0.99)
        return BetaPrior(alpha=clipped * WEAK_PRIOR_STRENGTH, beta=(1 - clipped) * WEAK_PRIOR_STRENGTH)
    # Method of moments: observed spread of rates = binomial noise + between-group variance.
    rates = won_f / n_f
    between_variance = float(np.var(rates, ddof=1) - np.mean(pooled * (1 - pooled) / n_f))
    if between_variance > 0:
        start_strength = pooled * (1 - pooled) / between_variance - 1
    else:
        start_strength = MAX_PRIOR_STRENGTH / 10
    start_strength = float(np.clip(start_strength, MIN_PRIOR_STRENGTH * 2, MAX_PRIOR_STRENGTH / 2))
    result = optimize.minimize(
        _beta_binomial_negative_log_likelihood,
        x0=np.array([special.logit(pooled), math.log(start_strength)]),
        args=(won_f, n_f),
        method="L-BFGS-B",
        bounds=[(-12.0, 12.0), (math.log(MIN_PRIOR_STRENGTH), math.log(MAX_PRIOR_STRENGTH))],
    )
    mean = float(special.expit(result.x[0]))
    strength = float(math.exp(result.x[1]))
    return BetaPrior(alpha=mean * strength, beta=(1 - mean) * strength)


@dataclass(frozen=True)
class ShrunkRates:
    """Posterior win rates under a Beta prior: mean and equal-tailed credible interval."""

    rate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray


def shrunk_rates(
    *, won: npt.ArrayLike, n: npt.ArrayLike, prior: BetaPrior, confidence: float = CONFIDENCE
) -> ShrunkRates:
    """(won + α) / (n + α + β) per group, with the Beta(α + won, β + n − won) interval.

    Each shrunk rate lies between the group's raw rate and the prior mean; groups with little
    data are pulled furthest toward the prior mean.
    """
    won_f, n_f = _as_float(won), _as_float(n)
    alpha_post = prior.alpha + won_f
    beta_post = prior.beta + n_f - won_f
    tail = (1 - confidence) / 2
    mean = alpha_post / (alpha_post + beta_post)
    low = scipy_stats.beta.ppf(tail, alpha_post, beta_post)
    high = scipy_stats.beta.ppf(1 - tail, alpha_post, beta_post)
    return ShrunkRates(rate=mean, ci_low=np.minimum(low, mean), ci_high=np.maximum(high, mean))


# A group the prior "would not have predicted" gets no shrinkage: its own record under this
# weak Jeffreys prior, Beta(½, ½), instead.
OWN_RECORD_PRIOR = BetaPrior(alpha=0.5, beta=0.5)


def prior_conflicts(
    *, won: npt.ArrayLike, n: npt.ArrayLike, prior: BetaPrior, level: float = SIGNIFICANCE_LEVEL
) -> npt.NDArray[np.bool_]:
    """Groups whose own record conflicts with the prior fitted across all of them.

    A group conflicts when its count of wins is in either tail of the prior predictive, the
    beta-binomial(n, α, β), with two-sided p below ``level`` / k: Bonferroni over the k groups
    that have deals. A Beta prior has thin tails, so one group far from many similar ones would
    otherwise be pulled almost all the way to them, with an interval that excludes its own
    record. Groups with n = 0 never conflict.
    """
    won_f, n_f = _as_float(won), _as_float(n)
    has_deals = n_f > 0
    k = int(has_deals.sum())
    if k == 0:
        return np.zeros(n_f.shape, dtype=bool)
    predictive = scipy_stats.betabinom(n_f.astype(np.int64), prior.alpha, prior.beta)
    lower_tail = predictive.cdf(won_f)
    upper_tail = predictive.sf(won_f - 1)
    p_value = np.minimum(1.0, 2 * np.minimum(lower_tail, upper_tail))
    return has_deals & (p_value < level / k)


@dataclass(frozen=True)
class GroupShrinkage:
    """Shrunk rates of groups, the prior they were shrunk toward, and the groups left unshrunk."""

    rates: ShrunkRates
    prior: BetaPrior
    conflict: npt.NDArray[np.bool_]
    # Each group's Beta posterior, whose mean and interval ``rates`` holds.
    posterior_alpha: FloatArray
    posterior_beta: FloatArray


def shrink_groups(*, won: npt.ArrayLike, n: npt.ArrayLike) -> GroupShrinkage:
    """Empirical-Bayes shrinkage that leaves a group alone when its record conflicts with the rest.

    The prior is fitted across all groups; groups that conflict with it
    (:func:`prior_conflicts`) are set aside, the prior is refitted on the others (while enough
    remain), and the others are shrunk toward it. A conflicting group's rate and interval are
    its own record's (:data:`OWN_RECORD_PRIOR`).
    """
    won_f, n_f = _as_float(won), _as_float(n)
    prior = beta_prior_fit(won=won_f, n=n_f)
    conflict = prior_conflicts(won=won_f, n=n_f, prior=prior)
    agreeing = (n_f > 0) & ~conflict
    if conflict.any() and agreeing.sum() >= MIN_GROUPS_FOR_PRIOR:
        prior = beta_prior_fit(won=won_f[agreeing], n=n_f[agreeing])
    shrunk = shrunk_rates(won=won_f, n=n_f, prior=prior)
    own = shrunk_rates(won=won_f, n=n_f, prior=OWN_RECORD_PRIOR)
    rates = ShrunkRates(
        rate=np.where(conflict, own.rate, shrunk.rate),
        ci_low=np.where(conflict, own.ci_low, shrunk.ci_low),
        ci_high=np.where(conflict, own.ci_high, shrunk.ci_high),
    )
    alpha = np.where(conflict, OWN_RECORD_PRIOR.alpha, prior.alpha)
    beta = np.where(conflict, OWN_RECORD_PRIOR.beta, prior.beta)
    return GroupShrinkage(
        rates=rates,
        prior=prior,
        conflict=conflict,
        posterior_alpha=alpha + won_f,
        posterior_beta=beta + n_f - won_f,
    )


# Posterior draws behind rank intervals; seeded, so a page shows the same ranges on every load.
RANK_DRAWS = 4000
RANK_SEED = 20261207


def rank_intervals(
    *, alpha: npt.ArrayLike, beta: npt.ArrayLike, confidence: float = CONFIDENCE
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The ranks (1 = highest rate) each group could hold, given its Beta(α, β) posterior.

    Draws every group's rate RANK_DRAWS times, ranks the groups within each draw and returns
    the equal-tailed ``confidence`` interval of each group's rank: (low, high). Groups that
    the data cannot tell apart get wide, overlapping ranges, so a rank is never read as more
    than the data support.
    """
    alpha_f, beta_f = _as_float(alpha), _as_float(beta)
    if alpha_f.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    rng = np.random.default_rng(RANK_SEED)
    draws = rng.beta(alpha_f, beta_f, size=(RANK_DRAWS, alpha_f.size))
    ranks = (-draws).argsort(axis=1).argsort(axis=1) + 1
    tail = (1 - confidence) / 2
    low = np.floor(np.quantile(ranks, tail, axis=0)).astype(np.int64)
    high = np.ceil(np.quantile(ranks, 1 - tail, axis=0)).astype(np.int64)
    return low, high


def format_pts(change: float, *, signed: bool = True) -> str:
    """A rate change in percentage points, e.g. +3.1 pts."""
    points = change * 100
    if not signed:
        return f"{abs(points):.1f} pts"
    # A typographic minus reads better in sentences than a hyphen.
    return f"{points:+.1f} pts".replace("-", "−")


def format_percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def format_p_value(p_value: float) -> str:
    return (
        "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}" if p_value < 0.01 else f"p = {p_value:.2f}"
    )


def is_distinguishable_from_noise(p_value: float, *, level: float = SIGNIFICANCE_LEVEL) -> bool:
    return bool(np.isfinite(p_value) and p_value < level)


def noise_verdict(
    *,
    subject: str,
    rate_before: float,
    rate_after: float,
    p_value: float,
    change_ci_low: float,
    change_ci_high: float,
    level: float = SIGNIFICANCE_LEVEL,
) -> str:
    """One or two plain sentences: how the rate moved and whether that is more than noise.

    ``subject`` names the rate ("Win rate"). Example: "Win rate fell 2.9 pts (46.7% → 43.8%).
    Not distinguishable from noise (p = 0.25): the true change is anywhere from −7.8 to
    +2.1 pts."
    """
    if not (np.isfinite(rate_before) and np.isfinite(rate_after)):
        return f"{subject}: not enough closed deals in one of the periods to compare."
    change = rate_after - rate_before
    moved = "rose" if change > 0 else "fell" if change < 0 else "did not change"
    amount = f" {format_pts(change, signed=False)}" if change != 0 else ""
    headline = f"{subject} {moved}{amount} ({format_percent(rate_before)} → {format_percent(rate_after)})."
    low, high = format_pts(change_ci_low), format_pts(change_ci_high)
    if is_distinguishable_from_noise(p_value, level=level):
        return (
            f"{headline} Distinguishable from noise ({format_p_value(p_value)}): "
            f"the true change is between {low} and {high}."
        )
    return (
        f"{headline} Not distinguishable from noise ({format_p_value(p_value)}): "
        f"the true change is anywhere from {low} to {high}."
    )
