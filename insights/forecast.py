"""Quarter bookings forecast: what is won so far plus the distribution of what is still to come.

Pure numpy, no Django (insights.briefing runs the queries). Bookings of a quarter, as of a day
inside it, are

* the amount already won in the quarter (known),
* plus, for every deal open on that day, amount × Bernoulli(π): π = P(the deal is won before
  the quarter ends) = P(won | its state now) × P(it closes inside the quarter | it is still open
  at its current age or time in stage and it is won), from the tenant's closing-time
  distribution (:class:`ClosingTimes`),
* plus deals not created yet that will be created and won before the quarter ends ("new
  business"): a Gamma–Poisson count at the rate seen in the same window of past quarters, with
  amounts resampled from those deals.

The sum is simulated (seeded, vectorised): the deals with the largest variance exactly, the
rest as one normal term (their sum is a sum of many small independent parts). Quarters differ
more than coin flips do — a whole quarter's deals convert better or worse together — so each
simulated quarter shifts every win probability by a common log-odds drawn from N(0, σ²), σ
being the spread of past quarters' win rates beyond binomial noise (:func:`quarter_logit_sd`).
docs/briefing.md gives the formulas and the backtest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from insights import stats

FloatArray = npt.NDArray[np.float64]

# Central 80% interval: P10–P90.
LOW_QUANTILE = 0.10
HIGH_QUANTILE = 0.90
DEFAULT_SIMULATIONS = 10_000
# Deals simulated one by one; beyond this many (by variance), the rest are one normal term.
EXACT_DEALS = 2_000
# Bernoulli draws per block: bounds memory at ~20 MB whatever the pipeline's size.
_BLOCK_CELLS = 2_500_000
# Grid of common log-odds shifts at which the normal remainder's moments are evaluated.
_SHIFT_GRID = 41
# A survival curve floors at this pseudo-count so that an age beyond every observed
# duration has a small, not zero, chance to still be alive (keeps odds ratios finite).
_SURVIVAL_PSEUDO_COUNT = 0.5


@dataclass(frozen=True)
class Survival:
    """Empirical P(T > x) of a duration T in whole days, from a histogram.

    ``days`` are the distinct durations (ascending) and ``counts`` how many deals had each.
    ``at(x)`` is (#{T > x} + 0.5) / (n + 1): never 0 or 1, so ratios stay finite.
    """

    days: FloatArray
    counts: FloatArray

    @property
    def n(self) -> float:
        return float(self.counts.sum())

    def tail_count(self, x: npt.ArrayLike) -> FloatArray:
        """#{T > x} for each x (vectorised)."""
        cumulative = np.concatenate([[0.0], np.cumsum(self.counts)])
        below_or_at = np.searchsorted(self.days, np.asarray(x, dtype=np.float64), side="right")
        return self.n - cumulative[below_or_at]

    def at(self, x: npt.ArrayLike) -> FloatArray:
        return (self.tail_count(x) + _SURVIVAL_PSEUDO_COUNT) / (self.n + 2 * _SURVIVAL_PSEUDO_COUNT)


def survival_from_histogram(*, days: npt.ArrayLike, counts: npt.ArrayLike) -> Survival:
    """A :class:`Survival` from (duration, count) pairs in any order; negative days count as 0."""
    day_values = np.maximum(np.asarray(days, dtype=np.float64), 0.0)
    count_values = np.asarray(counts, dtype=np.float64)
    if day_values.size == 0:
        return Survival(days=np.zeros(0), counts=np.zeros(0))
    distinct, inverse = np.unique(day_values, return_inverse=True)
    summed = np.bincount(inverse, weights=count_values, minlength=distinct.size).astype(np.float64)
    return Survival(days=distinct, counts=summed)


@dataclass(frozen=True)
class ClosingTimes:
    """How long closed deals took, from a clock's start to their close, won and lost apart.

    The clock is the deal's age (created → closed) for the tenant-wide reference, or the time
    since entering a stage (entered → closed) for a stage's reference, whose deals are those
    that reached the stage. ``log_bayes_factor`` is log(P(reached | won) / P(reached | lost)):
    how much reaching the stage says about winning (0 for the age reference).
    """

    won: Survival
    lost: Survival
    log_bayes_factor: float = 0.0

    @property
    def n(self) -> float:
        return self.won.n + self.lost.n


def closing_times_from_histogram(
    *,
    days: npt.ArrayLike,
    won: npt.ArrayLike,
    counts: npt.ArrayLike,
    n_won_total: float | None = None,
    n_lost_total: float | None = None,
) -> ClosingTimes:
    """:class:`ClosingTimes` from rows (duration in days, won as 0/1, count).

    With ``n_won_total`` / ``n_lost_total`` (all won / lost deals the stage's deals are part
    of), the stage's Bayes factor is (won here / n_won_total) / (lost here / n_lost_total),
    with half a deal added to each count so that it stays finite.
    """
    day_values = np.asarray(days, dtype=np.float64)
    is_won = np.asarray(won, dtype=bool)
    count_values = np.asarray(counts, dtype=np.float64)
    won_survival = survival_from_histogram(days=day_values[is_won], counts=count_values[is_won])
    lost_survival = survival_from_histogram(days=day_values[~is_won], counts=count_values[~is_won])
    log_factor = 0.0
    if n_won_total and n_lost_total:
        log_factor = math.log((won_survival.n + 0.5) / (n_won_total + 0.5)) - math.log(
            (lost_survival.n + 0.5) / (n_lost_total + 0.5)
        )
    return ClosingTimes(won=won_survival, lost=lost_survival, log_bayes_factor=log_factor)


def logit(probability: npt.ArrayLike) -> FloatArray:
    clipped = np.clip(np.asarray(probability, dtype=np.float64), 1e-6, 1 - 1e-6)
    return special.logit(clipped)


@dataclass(frozen=True)
class DealOdds:
    """Per open deal: P(won | its state now) and P(it closes in the window | won)."""

    win_probability: FloatArray
    close_in_window: FloatArray

    @property
    def probability(self) -> FloatArray:
        """π = P(won before the window ends)."""
        return self.win_probability * self.close_in_window


def deal_window_odds(
    *,
    probability: npt.ArrayLike,
    state_conditioned: npt.ArrayLike,
    clock_days: npt.ArrayLike,
    reference: npt.ArrayLike,
    references: Sequence[ClosingTimes],
    horizon_days: float,
) -> DealOdds:
    """Each open deal's chance to be won and to close within ``horizon_days``.

    ``reference[i]`` indexes ``references`` (the stage the deal is in, or the age reference);
    ``clock_days[i]`` is how long the deal has run on that reference's clock. A probability
    that is not ``state_conditioned`` (a segment prior, known at creation) is updated with
    what the deal's state says, in odds: × the stage's Bayes factor × S_won(x) / S_lost(x) —
    deals that have lingered look more like the lost ones, which linger. A model score is
    already conditioned on the deal's state and is used as it is. Then
    P(close in window | won, open at x) = (S_won(x) − S_won(x + h)) / S_won(x).
    """
    prior = np.asarray(probability, dtype=np.float64)
    conditioned = np.asarray(state_conditioned, dtype=bool)
    clock = np.maximum(np.asarray(clock_days, dtype=np.float64), 0.0)
    index = np.asarray(reference, dtype=np.int64)
    win = np.empty(prior.shape)
    window = np.empty(prior.shape)
    for position, times in enumerate(references):  # a handful of references, not a loop per deal
        rows = index == position
        if not rows.any():
            continue
        x = clock[rows]
        alive_won, alive_lost = times.won.at(x), times.lost.at(x)
        updated = special.expit(
            logit(prior[rows]) + times.log_bayes_factor + np.log(alive_won) - np.log(alive_lost)
        )
        win[rows] = np.where(conditioned[rows], prior[rows], updated)
        closing = times.won.tail_count(x) - times.won.tail_count(x + horizon_days)
        window[rows] = closing / (times.won.tail_count(x) + _SURVIVAL_PSEUDO_COUNT)
    return DealOdds(win_probability=np.clip(win, 0.0, 1.0), close_in_window=np.clip(window, 0.0, 1.0))


def revenue_weighted_priors(
    *, n: npt.ArrayLike, won: npt.ArrayLike, amount_sum: npt.ArrayLike, won_amount_sum: npt.ArrayLike
) -> tuple[FloatArray, float]:
    """Per segment, the shrunk revenue-weighted win rate Σ won amount / Σ amount; and the pooled one.

    Bookings are amounts, and larger deals win less often, so a count win rate times an
    amount overstates the dollars a segment's open deals bring; the revenue-weighted rate
    does not. Each segment is shrunk toward the pooled rate with k pseudo-deals of its own
    average amount, k = the strength α + β of the Beta prior fitted across the segments'
    counts (:func:`insights.stats.beta_prior_fit`): segments with little history sit near
    the pooled rate. Returns NaNs and NaN when no deal closed.
    """
    n_f, won_f = np.asarray(n, dtype=np.float64), np.asarray(won, dtype=np.float64)
    total, won_total = np.asarray(amount_sum, dtype=np.float64), np.asarray(won_amount_sum, dtype=np.float64)
    if total.sum() <= 0 or n_f.sum() <= 0:
        return np.full(n_f.shape, np.nan), math.nan
    pooled = float(won_total.sum() / total.sum())
    strength = stats.beta_prior_fit(won=won_f, n=n_f).strength
    average = np.where(n_f > 0, total / np.where(n_f > 0, n_f, 1.0), 0.0)
    pseudo = strength * average
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(total + pseudo > 0, (won_total + pooled * pseudo) / (total + pseudo), pooled)
    return rates, pooled


@dataclass(frozen=True)
class NewBusiness:
    """Deals not created yet that will be created and won inside the window.

    From ``windows`` past windows of the same length and position: ``count`` such deals in
    all, with these ``amounts``, at a pooled win rate ``win_rate`` (used to shift the count with
    the common log-odds).
    """

    windows: int
    amounts: FloatArray
    win_rate: float

    @property
    def count(self) -> int:
        return int(self.amounts.size)

    @property
    def rate(self) -> float:
        """Expected deals per window."""
        return self.count / self.windows if self.windows else 0.0

    @property
    def expected(self) -> float:
        return float(self.amounts.sum() / self.windows) if self.windows else 0.0


NO_NEW_BUSINESS = NewBusiness(windows=0, amounts=np.zeros(0), win_rate=math.nan)


def quarter_logit_sd(*, won: npt.ArrayLike, n: npt.ArrayLike) -> float:
    """Spread (log-odds) of quarterly win rates beyond binomial noise, from past quarters.

    Fits the empirical-Bayes Beta prior across quarters (:func:`insights.stats.beta_prior_fit`):
    the between-quarter variance of the rate is m(1 − m)/(α + β + 1), and on the log-odds scale
    its standard deviation is √variance / (m(1 − m)). 0 with fewer than three quarters.
    """
    won_f, n_f = np.asarray(won, dtype=np.float64), np.asarray(n, dtype=np.float64)
    keep = n_f > 0
    if keep.sum() < stats.MIN_GROUPS_FOR_PRIOR:
        return 0.0
    prior = stats.beta_prior_fit(won=won_f[keep], n=n_f[keep])
    mean = prior.mean
    if not 0 < mean < 1:
        return 0.0
    variance = mean * (1 - mean) / (prior.strength + 1)
    return float(math.sqrt(variance) / (mean * (1 - mean)))


@dataclass(frozen=True)
class BookingsDistribution:
    """Bookings of the window: the known part, the expected rest, and simulated quantiles."""

    won_so_far: float
    expected_open: float
    expected_new: float
    expected: float
    p10: float
    p50: float
    p90: float
    simulations: int
    samples: FloatArray

    def probability_at_least(self, target: float) -> float:
        """Share of simulated quarters with bookings ≥ ``target``."""
        return float(np.mean(self.samples >= target))


def _shifted(probability: FloatArray, shift: FloatArray) -> FloatArray:
    """sigmoid(logit(p) + shift) for every shift (rows) and deal (columns), in odds form:
    odds · e^shift / (1 + odds · e^shift), which avoids a transcendental per cell."""
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    odds = np.outer(np.exp(shift), clipped / (1 - clipped))
    return odds / (1 + odds)


def bookings_distribution(
    *,
    won_so_far: float,
    amounts: npt.ArrayLike,
    odds: DealOdds,
    new_business: NewBusiness = NO_NEW_BUSINESS,
    logit_sd: float = 0.0,
    simulations: int = DEFAULT_SIMULATIONS,
    seed: int = 0,
    exact_deals: int = EXACT_DEALS,
) -> BookingsDistribution:
    """Simulate the window's bookings; the same inputs and ``seed`` give the same answer.

    Per simulation: a common log-odds shift z ~ N(0, logit_sd²) moves every deal's P(won);
    the ``exact_deals`` open deals with the largest amount² π(1 − π) are drawn one by one; the
    others add a normal term with their mean and variance at that z (interpolated on a grid of
    z); new business adds Poisson(λ·r(z)) deals with λ drawn from its Gamma posterior
    (shape = count + ½, rate = windows) and amounts resampled from the past ones, where r(z)
    moves the new deals' win rate by the same z. ``expected`` is the mean without the shift:
    won so far + Σ amount·π + λ̂·mean amount. Amounts in currency units.
    """
    amount = np.asarray(amounts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    shifts = rng.normal(0.0, logit_sd, simulations) if logit_sd > 0 else np.zeros(simulations)
    win, window = odds.win_probability, odds.close_in_window
    pi = win * window
    totals = np.full(simulations, float(won_so_far))

    spread = amount**2 * pi * (1 - pi)
    order = np.argsort(-spread, kind="stable")
    exact, rest = order[:exact_deals], order[exact_deals:]
    block = max(1, _BLOCK_CELLS // max(simulations, 1))
    for start in range(0, exact.size, block):
        chosen = exact[start : start + block]
        probability = _shifted(win[chosen], shifts) * window[chosen][None, :]
        draws = rng.random((simulations, chosen.size)) < probability
        totals += draws.astype(np.float64) @ amount[chosen]
    if rest.size:
        grid = np.linspace(shifts.min(initial=0.0), shifts.max(initial=0.0), _SHIFT_GRID)
        probability = _shifted(win[rest], grid) * window[rest][None, :]
        means = probability @ amount[rest]
        variances = (probability * (1 - probability)) @ amount[rest] ** 2
        mean_at = np.interp(shifts, grid, means)
        sd_at = np.sqrt(np.maximum(np.interp(shifts, grid, variances), 0.0))
        totals += mean_at + sd_at * rng.standard_normal(simulations)

    if new_business.count:
        rate = rng.gamma(new_business.count + 0.5, 1.0 / new_business.windows, simulations)
        if logit_sd > 0 and 0 < new_business.win_rate < 1:
            base = new_business.win_rate
            rate = rate * special.expit(special.logit(base) + shifts) / base
        counts = rng.poisson(rate)
        picks = rng.integers(0, new_business.count, int(counts.sum()))
        owner = np.repeat(np.arange(simulations), counts)
        totals += np.bincount(owner, weights=new_business.amounts[picks], minlength=simulations)

    expected_open = float(np.sum(amount * pi))
    expected = float(won_so_far) + expected_open + new_business.expected
    low, middle, high = np.quantile(totals, [LOW_QUANTILE, 0.5, HIGH_QUANTILE])
    return BookingsDistribution(
        won_so_far=float(won_so_far),
        expected_open=expected_open,
        expected_new=new_business.expected,
        expected=expected,
        p10=float(low),
        p50=float(middle),
        p90=float(high),
        simulations=simulations,
        samples=totals,
    )


@dataclass(frozen=True)
class BacktestSummary:
    """How replayed forecasts did: coverage of the P10–P90 interval and the error."""

    n: int
    covered: int
    coverage: float
    coverage_ci_low: float
    coverage_ci_high: float
    mean_error: float
    mean_absolute_percentage_error: float
    below_p10: int
    above_p90: int


def backtest_summary(
    *, actual: npt.ArrayLike, expected: npt.ArrayLike, p10: npt.ArrayLike, p90: npt.ArrayLike
) -> BacktestSummary:
    """Coverage (share of actuals inside [P10, P90], with its Wilson interval), mean error
    (actual − expected, currency) and mean absolute percentage error (of the actual)."""
    actual_f, expected_f = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    low, high = np.asarray(p10, dtype=np.float64), np.asarray(p90, dtype=np.float64)
    n = int(actual_f.size)
    if n == 0:
        return BacktestSummary(0, 0, math.nan, 0.0, 1.0, math.nan, math.nan, 0, 0)
    inside = (actual_f >= low) & (actual_f <= high)
    ci_low, ci_high = stats.wilson_interval(inside.sum(), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        percentage = np.abs(actual_f - expected_f) / np.where(actual_f > 0, actual_f, np.nan)
    return BacktestSummary(
        n=n,
        covered=int(inside.sum()),
        coverage=float(inside.mean()),
        coverage_ci_low=float(ci_low),
        coverage_ci_high=float(ci_high),
        mean_error=float(np.mean(actual_f - expected_f)),
        mean_absolute_percentage_error=float(np.nanmean(percentage))
        if np.isfinite(percentage).any()
        else 0.0,
        below_p10=int((actual_f < low).sum()),
        above_p90=int((actual_f > high).sum()),
    )
