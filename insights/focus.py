"""The focus list: which segments bring the most revenue per opportunity, beyond noise.

Pure numpy/pandas, no Django. Expected revenue per opportunity of a segment = win rate ×
average won amount = Σ won amount / closed deals: the mean of y = amount if won else 0 over its
closed deals. Its interval is the normal interval of that mean (equivalently the delta method
for the product win rate × average won amount), with the standard error from Σ y and Σ y²
that SQL returns. The intervals are simultaneous: Bonferroni over every segment ranked, so that
on data with no real differences (the reference file) no segment is labelled by chance.

Labels, against the tenant average A (all closed deals in the window):

* "deprioritise" — the whole interval lies below A;
* "focus" — the whole interval lies above A × (1 + FOCUS_MIN_LIFT): clearly and materially
  better;
* "keep" — the whole interval lies above A, but its lower end is within FOCUS_MIN_LIFT of it:
  better than average beyond noise, by a margin not shown to be large;
* "no evidence either way" — the interval contains A.

Comparing the segment's own interval with A treats the average as fixed; because a segment is
part of the average, this is conservative (the interval of the difference is narrower).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights import stats

FAMILY_LEVEL = stats.SIGNIFICANCE_LEVEL
# "focus" needs the interval's lower end at least this far above the tenant average.
FOCUS_MIN_LIFT = 0.25
FOCUS = "focus"
KEEP = "keep"
DEPRIORITISE = "deprioritise"
NO_EVIDENCE = "no evidence either way"


def focus_table(
    frame: pd.DataFrame,
    *,
    overall_n: int,
    overall_won_amount: float,
    min_sample: int,
    family_level: float = FAMILY_LEVEL,
    focus_min_lift: float = FOCUS_MIN_LIFT,
) -> tuple[pd.DataFrame, float, float]:
    """Rank segments by expected revenue per opportunity and label them.

    ``frame`` has one row per segment with n, won, won_amount_sum, won_amount_sq_sum.
    Segments with fewer than ``min_sample`` closed deals are dropped (never ranked). Adds
    win_rate, avg_won_amount, expected_revenue, ci_low, ci_high, lift (expected / average − 1)
    and label; sorted best first. Returns (table, tenant average, the simultaneous confidence
    used, 1 − family_level / number of segments ranked).
    """
    average = overall_won_amount / overall_n if overall_n else float("nan")
    table = frame[frame["n"] >= min_sample].copy()
    ranked = len(table)
    confidence = 1 - family_level / max(ranked, 1)
    if table.empty:
        empty = table.assign(
            win_rate=[], avg_won_amount=[], expected_revenue=[], ci_low=[], ci_high=[], lift=[], label=[]
        )
        return empty, average, confidence
    n = table["n"].to_numpy(dtype=np.float64)
    won = table["won"].to_numpy(dtype=np.float64)
    total = table["won_amount_sum"].to_numpy(dtype=np.float64)
    squares = table["won_amount_sq_sum"].to_numpy(dtype=np.float64)
    expected = total / n
    variance = np.maximum(squares - n * expected**2, 0.0) / np.maximum(n - 1, 1.0)
    half_width = stats.z_value(confidence) * np.sqrt(variance / n)
    low, high = np.maximum(expected - half_width, 0.0), expected + half_width
    with np.errstate(invalid="ignore", divide="ignore"):
        average_won = np.where(won > 0, total / np.where(won > 0, won, 1.0), np.nan)
    label = np.full(ranked, NO_EVIDENCE, dtype=object)
    if np.isfinite(average) and average > 0:
        label[high < average] = DEPRIORITISE
        label[low > average] = KEEP
        label[low > average * (1 + focus_min_lift)] = FOCUS
    table = table.assign(
        win_rate=won / n,
        avg_won_amount=average_won,
        expected_revenue=expected,
        ci_low=low,
        ci_high=high,
        lift=expected / average - 1 if average else np.nan,
        label=label,
    )
    return table.sort_values("expected_revenue", ascending=False, kind="stable"), average, confidence


def implied_by_single(table: pd.DataFrame) -> np.ndarray:
    """Per row: a pair whose label one of its two single segments already carries.

    "Core × Partner: deprioritise" says nothing new when Partner is deprioritised; such pairs
    stay in the table but are left out of the short lists. ``table`` has ``dimension``
    (``a`` or ``a+b``), ``parts`` (display values in the same order) and ``label``.
    """
    singles = {
        (dimension, parts[0]): label
        for dimension, parts, label in zip(table["dimension"], table["parts"], table["label"], strict=True)
        if "+" not in dimension
    }
    implied = [
        "+" in dimension
        and label != NO_EVIDENCE
        and any(
            singles.get((key, part)) == label for key, part in zip(dimension.split("+"), parts, strict=True)
        )
        for dimension, parts, label in zip(table["dimension"], table["parts"], table["label"], strict=True)
    ]
    return np.array(implied, dtype=bool)
