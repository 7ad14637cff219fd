"""Property tests (hypothesis): the decomposition identity, rates in [0, 1], intervals contain estimates."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from insights import stats

counts = st.integers(min_value=0, max_value=5_000)
# The machine is shared; a wall-clock deadline would make these tests flaky, not stricter.
no_deadline = settings(deadline=None)


@st.composite
def two_periods(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[int]]:
    """Segments with closed and won counts in two periods; each period has at least one deal."""
    size = draw(st.integers(min_value=1, max_value=12))
    n_before = draw(st.lists(counts, min_size=size, max_size=size))
    n_after = draw(st.lists(counts, min_size=size, max_size=size))
    n_before[draw(st.integers(0, size - 1))] += 1
    n_after[draw(st.integers(0, size - 1))] += 1
    won_before = [draw(st.integers(0, n)) for n in n_before]
    won_after = [draw(st.integers(0, n)) for n in n_after]
    return n_before, won_before, n_after, won_after


@no_deadline
@given(two_periods())
def test_mix_plus_rate_equals_the_total_change(data: tuple[list[int], ...]) -> None:
    n_before, won_before, n_after, won_after = data
    result = stats.shift_share_decomposition(
        n_before=n_before, won_before=won_before, n_after=n_after, won_after=won_after
    )
    assert abs(result.mix_effect + result.rate_effect - result.total_change) < 1e-12
    assert (
        abs(result.total_change - (sum(won_after) / sum(n_after) - sum(won_before) / sum(n_before))) < 1e-12
    )


@no_deadline
@given(two_periods())
def test_segment_rates_and_shares_stay_within_the_unit_interval(data: tuple[list[int], ...]) -> None:
    n_before, won_before, n_after, won_after = data
    result = stats.shift_share_decomposition(
        n_before=n_before, won_before=won_before, n_after=n_after, won_after=won_after
    )
    for values in (result.rate_before, result.rate_after, result.share_before, result.share_after):
        present = values[np.isfinite(values)]
        assert ((present >= 0) & (present <= 1)).all()


@no_deadline
@given(st.integers(min_value=1, max_value=100_000), st.data())
def test_wilson_interval_contains_the_rate_within_the_unit_interval(n: int, data: st.DataObject) -> None:
    won = data.draw(st.integers(min_value=0, max_value=n))
    low, high = stats.wilson_interval(won, n)
    assert 0.0 <= float(low) <= won / n <= float(high) <= 1.0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(min_value=0.01, max_value=1e7, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_weighted_rate_interval_contains_the_weighted_rate(deals: list[tuple[float, bool]]) -> None:
    amounts = np.array([amount for amount, _ in deals])
    won = np.array([flag for _, flag in deals], dtype=float)
    estimate = stats.weighted_rate_estimate(
        n=len(deals),
        amount_sum=amounts.sum(),
        won_amount_sum=(amounts * won).sum(),
        amount_sq_sum=(amounts**2).sum(),
        won_amount_sq_sum=(amounts**2 * won).sum(),
    )
    rate = float(estimate.rate)
    assert 0.0 <= rate <= 1.0
    assert float(estimate.ci_low) - 1e-12 <= rate <= float(estimate.ci_high) + 1e-12
    assert float(estimate.ci_low) >= 0.0 and float(estimate.ci_high) <= 1.0


@no_deadline
@given(st.lists(st.tuples(st.integers(1, 400), st.floats(0, 1)), min_size=3, max_size=30))
def test_shrunk_rates_lie_between_raw_rates_and_the_prior_mean(groups: list[tuple[int, float]]) -> None:
    n = np.array([size for size, _ in groups])
    won = np.array([round(size * share) for size, share in groups])
    prior = stats.beta_prior_fit(won=won, n=n)
    shrunk = stats.shrunk_rates(won=won, n=n, prior=prior)
    raw = won / n
    low, high = np.minimum(raw, prior.mean), np.maximum(raw, prior.mean)
    assert ((shrunk.rate >= low - 1e-9) & (shrunk.rate <= high + 1e-9)).all()
    assert ((shrunk.ci_low <= shrunk.rate) & (shrunk.rate <= shrunk.ci_high)).all()
