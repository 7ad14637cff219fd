"""Segment and rep tables from aggregated sums: rates, intervals, flags, shrinkage.

Pure pandas/numpy over the aggregate tables that insights.selectors returns (one row per
segment with n, won and amount sums); no Django. Every operation is vectorised over segments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from insights import stats

# A flag needs the Holm-adjusted p-value below this (family-wise error over all cells shown).
FLAG_LEVEL = stats.SIGNIFICANCE_LEVEL


def rate_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add win rate, Wilson interval, weighted win rate and its interval, average amount.

    ``frame`` needs the columns n, won, amount_sum, won_amount_sum, amount_sq_sum,
    won_amount_sq_sum. Returns a copy with ``win_rate``, ``ci_low``, ``ci_high``,
    ``weighted_win_rate``, ``weighted_ci_low``, ``weighted_ci_high``, ``weighted_variance``,
    ``avg_amount``.
    """
    n = frame["n"].to_numpy(dtype=float)
    won = frame["won"].to_numpy(dtype=float)
    low, high = stats.wilson_interval(won, n)
    weighted = stats.weighted_rate_estimate(
        n=n,
        amount_sum=frame["amount_sum"].to_numpy(dtype=float),
        won_amount_sum=frame["won_amount_sum"].to_numpy(dtype=float),
        amount_sq_sum=frame["amount_sq_sum"].to_numpy(dtype=float),
        won_amount_sq_sum=frame["won_amount_sq_sum"].to_numpy(dtype=float),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(n > 0, frame["amount_sum"].to_numpy(dtype=float) / np.where(n > 0, n, 1), np.nan)
    return frame.assign(
        win_rate=stats.rate(won, n),
        ci_low=low,
        ci_high=high,
        weighted_win_rate=weighted.rate,
        weighted_ci_low=weighted.ci_low,
        weighted_ci_high=weighted.ci_high,
        weighted_variance=weighted.variance,
        avg_amount=average,
    )


def flag_segments(
    frame: pd.DataFrame,
    *,
    overall_n: Sequence[int] | int,
    overall_won: Sequence[int] | int,
    min_sample: int,
    untested: Sequence[bool] | None = None,
) -> pd.DataFrame:
    """Test each segment against the rest of the tenant; flag only what survives Holm.

    A segment is ``below_min_sample`` when it, or the rest of the tenant, has fewer than
    ``min_sample`` closed deals; such a cell gets no p-value and is never flagged. The
    two-proportion test of segment vs rest is Holm-adjusted over all the other cells in
    ``frame`` (one family), and ``flag`` is "above" or "below" when the adjusted p-value is
    under FLAG_LEVEL, else None. ``overall_*`` are the totals the segment is part of (per row
    or one number). Rows marked in ``untested`` (e.g. segments defined by the outcome itself)
    get no test and no flag and are not counted in the family.
    """
    n = frame["n"].to_numpy(dtype=float)
    won = frame["won"].to_numpy(dtype=float)
    rest_n = np.asarray(overall_n, dtype=float) - n
    rest_won = np.asarray(overall_won, dtype=float) - won
    below = (n < min_sample) | (rest_n < min_sample)
    skip = below | (
        np.zeros(len(frame), dtype=bool) if untested is None else np.asarray(untested, dtype=bool)
    )
    p_values = np.where(skip, np.nan, stats.two_proportion_p_value(won, n, rest_won, rest_n))
    adjusted = stats.holm_adjust(p_values)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = np.where(won / np.maximum(n, 1) >= rest_won / np.maximum(rest_n, 1), "above", "below")
    flagged = np.isfinite(adjusted) & (adjusted < FLAG_LEVEL)
    return frame.assign(
        below_min_sample=below,
        p_value=p_values,
        p_value_adjusted=adjusted,
        flag=[str(side) if flag else None for side, flag in zip(direction, flagged, strict=True)],
    )


def rep_flag_confidence(ranked_reps: int, *, level: float = FLAG_LEVEL) -> float:
    """Two-sided confidence whose upper bound is a one-sided Bonferroni bound at ``level``.

    Flagging asks one question per rep — is it below the team? — so the family-wise error
    over ``ranked_reps`` reps is held at ``level`` by a one-sided level/k test each, i.e. the
    upper end of a two-sided (1 − 2·level/k) interval.
    """
    return 1 - 2 * level / max(ranked_reps, 1)


def rep_table(
    frame: pd.DataFrame, *, team_n: int, team_won: int, min_sample: int
) -> tuple[pd.DataFrame, stats.BetaPrior | None]:
    """Per-rep rates with empirical-Bayes shrinkage, ranks and flags.

    ``frame`` has one row per rep (n, won, amount sums, ``label``). The Beta prior is fitted
    across all reps with deals; ``shrunk_rate`` and its credible interval come from each rep's
    posterior — except for a rep whose record conflicts with the prior (``own_record``, see
    :func:`insights.stats.shrink_groups`), which keeps its own rate and interval. Reps with
    at least ``min_sample`` closed deals are ranked by shrunk rate (1 = best), with the 95%
    range of ranks their posteriors allow (``rank_low``, ``rank_high``; see
    :func:`insights.stats.rank_intervals`); the rest have rank None and ``below_min_sample``.
    A ranked rep is flagged "below" only when its Wilson interval at
    :func:`rep_flag_confidence` (``flag_ci_high``) lies wholly below the team's win rate —
    the evidence is the rep's own record, with the multiple comparisons across reps
    accounted for. Returns the table sorted by rank (unranked last) and the prior the
    others were shrunk toward (None without reps).
    """
    if frame.empty or team_n == 0:
        empty = frame.assign(
            shrunk_rate=[],
            shrunk_ci_low=[],
            shrunk_ci_high=[],
            flag_ci_high=[],
            own_record=[],
            rank=[],
            rank_low=[],
            rank_high=[],
            flag=[],
        )
        return empty.assign(below_min_sample=[]), None
    table = rate_columns(frame)
    shrinkage = stats.shrink_groups(won=table["won"], n=table["n"])
    prior, shrunk = shrinkage.prior, shrinkage.rates
    team_rate = team_won / team_n
    below = table["n"].to_numpy() < min_sample
    confidence = rep_flag_confidence(int((~below).sum()))
    _, flag_high = stats.wilson_interval(table["won"], table["n"], confidence=confidence)
    flagged = ~below & (flag_high < team_rate)
    table = table.assign(
        shrunk_rate=shrunk.rate,
        shrunk_ci_low=shrunk.ci_low,
        shrunk_ci_high=shrunk.ci_high,
        flag_ci_high=flag_high,
        own_record=shrinkage.conflict,
        below_min_sample=below,
        flag=["below" if flag else None for flag in flagged],
    )
    ranked = table[~below].sort_values(["shrunk_rate", "label"], ascending=[False, True])
    table["rank"] = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index).reindex(table.index)
    position = table.index.get_indexer(ranked.index)
    rank_low, rank_high = stats.rank_intervals(
        alpha=shrinkage.posterior_alpha[position], beta=shrinkage.posterior_beta[position]
    )
    table["rank_low"] = pd.Series(rank_low, index=ranked.index).reindex(table.index)
    table["rank_high"] = pd.Series(rank_high, index=ranked.index).reindex(table.index)
    order = pd.concat([ranked, table[below].sort_values("label")]).index
    return table.loc[order].reset_index(drop=True), prior


def top_to_bottom_gap(table: pd.DataFrame) -> dict[str, float | int | None]:
    """Best minus worst ranked rep, on shrunk and on raw rates (rate units)."""
    ranked = table[table["rank"].notna()] if "rank" in table else table.iloc[0:0]
    if len(ranked) < 2:
        return {"shrunk": None, "raw": None}
    return {
        "shrunk": clean_number(ranked["shrunk_rate"].max() - ranked["shrunk_rate"].min()),
        "raw": clean_number(ranked["win_rate"].max() - ranked["win_rate"].min()),
    }


def prior_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Empirical-Bayes shrunk win rate per segment, for weighting open pipeline.

    ``frame`` has one row per segment with ``values``, ``n`` and ``won``. Returns columns
    values, n, won, prior_rate, with the fitted prior's mean (the rate for a segment with no
    history) in ``attrs["prior_mean"]``; empty with prior_mean NaN when there are no deals.
    """
    frame = frame[frame["n"] > 0] if not frame.empty else frame
    if frame.empty:
        empty = pd.DataFrame(columns=["values", "n", "won", "prior_rate"])
        empty.attrs["prior_mean"] = math.nan
        return empty
    prior = stats.beta_prior_fit(won=frame["won"], n=frame["n"])
    shrunk = stats.shrunk_rates(won=frame["won"], n=frame["n"], prior=prior)
    result = frame[["values", "n", "won"]].assign(prior_rate=shrunk.rate)
    result.attrs["prior_mean"] = prior.mean
    return result


def clean_text(value: object) -> str | None:
    """JSON-ready optional text: pandas' missing markers (NaN, NA, None) → None."""
    return value if isinstance(value, str) else None


def clean_number(value: object, digits: int = 6) -> float | int | None:
    """JSON-ready number: NaN/inf → None, numpy scalars → Python, floats rounded."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        raise TypeError("Booleans are not numbers here.")
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number) or math.isinf(number):
        return None
    return round(number, digits)
