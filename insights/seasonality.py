"""Seasonality: do win rate and deal volume depend on the month of the year?

Pure numpy/scipy, no Django. Input is closed deals per calendar month of close (n, won).
Only whole years of complete months are analysed (the last 12·k complete months, k ≥ 2), so
every month of the year is seen equally often. Two tests, each comparing a model with
year-block and month-of-year terms against one with year-block terms only:

* win rate: binomial GLM (logistic) of won / closed per month;
* volume: Poisson GLM of closed deals per month with log(days in month) as offset.

Both are likelihood-ratio (deviance) tests. Month-to-month swings larger than binomial or
Poisson noise are common in real pipelines, so each test uses the quasi-likelihood F test when
the full model's Pearson dispersion exceeds 1 (the month effect is judged against how much
the same month varies from year to year), and the χ² test otherwise. The two p-values are
Holm-adjusted; a pattern is reported when either adjusted p-value is below 0.05.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special
from scipy import stats as scipy_stats

from insights import stats
from insights.periods import add_months, month_start

MIN_YEARS = 2
NOT_ENOUGH_HISTORY = "not enough history"
NO_SEASONAL_PATTERN = "no seasonal pattern"
SEASONAL_PATTERN = "seasonal pattern"
MONTH_NAMES = tuple(calendar.month_abbr[1:])

_IRLS_ITERATIONS = 50
_IRLS_TOLERANCE = 1e-10


@dataclass(frozen=True)
class GlmFit:
    deviance: float
    pearson: float
    residual_df: int


def _fit(*, y: np.ndarray, size: np.ndarray, design: np.ndarray, family: str) -> GlmFit:
    """Iteratively reweighted least squares for a binomial (size = trials) or Poisson (size =
    exposure) GLM with the canonical link. Cells with size 0 carry no information and are
    dropped. Returns the deviance, Pearson χ² and residual degrees of freedom."""
    keep = size > 0
    y, size, design = y[keep], size[keep], design[keep]
    # Drop design columns that became all-zero or duplicated by dropping cells.
    rank_columns = np.linalg.matrix_rank(design)
    if family == "binomial":
        share = (y + 0.5) / (size + 1.0)
        eta = special.logit(share)
    else:
        eta = np.log((y + 0.5) / size)
    beta = np.linalg.lstsq(design, eta, rcond=None)[0]
    for _ in range(_IRLS_ITERATIONS):
        eta = design @ beta
        if family == "binomial":
            p = special.expit(eta)
            mu = size * p
            weight = size * p * (1 - p)
            z = eta + (y - mu) / np.maximum(weight, 1e-12)
        else:
            mu = size * np.exp(eta)
            weight = mu
            z = eta + (y - mu) / np.maximum(mu, 1e-12)
        root = np.sqrt(np.maximum(weight, 1e-12))
        updated = np.linalg.lstsq(design * root[:, None], z * root, rcond=None)[0]
        converged = np.max(np.abs(updated - beta)) < _IRLS_TOLERANCE
        beta = updated
        if converged:
            break
    eta = design @ beta
    if family == "binomial":
        p = special.expit(eta)
        mu = size * p
        failures, expected_failures = size - y, size - mu
        deviance = 2 * np.sum(
            special.xlogy(y, y / np.maximum(mu, 1e-300))
            + special.xlogy(failures, failures / np.maximum(expected_failures, 1e-300))
        )
        variance = size * p * (1 - p)
    else:
        mu = size * np.exp(eta)
        deviance = 2 * np.sum(special.xlogy(y, y / np.maximum(mu, 1e-300)) - (y - mu))
        variance = mu
    pearson = float(np.sum((y - mu) ** 2 / np.maximum(variance, 1e-12)))
    return GlmFit(deviance=float(deviance), pearson=pearson, residual_df=int(y.size - rank_columns))


@dataclass(frozen=True)
class MonthTest:
    statistic: float
    df: int
    p_value: float
    dispersion: float
    method: str


def month_effect_test(
    *, y: npt.ArrayLike, size: npt.ArrayLike, year: npt.ArrayLike, month: npt.ArrayLike, family: str
) -> MonthTest:
    """Deviance test of month-of-year terms on top of year-block terms (see the module doc).

    ``y``/``size`` are successes/trials (binomial) or counts/exposure (Poisson) per cell;
    ``year`` and ``month`` (1–12) label the cells.
    """
    y_f, size_f = np.asarray(y, dtype=np.float64), np.asarray(size, dtype=np.float64)
    years, months = np.asarray(year), np.asarray(month)
    year_levels, month_levels = np.unique(years), np.unique(months)
    intercept = np.ones((y_f.size, 1))
    year_terms = (years[:, None] == year_levels[None, 1:]).astype(np.float64)
    month_terms = (months[:, None] == month_levels[None, 1:]).astype(np.float64)
    reduced = _fit(y=y_f, size=size_f, design=np.hstack([intercept, year_terms]), family=family)
    full = _fit(y=y_f, size=size_f, design=np.hstack([intercept, year_terms, month_terms]), family=family)
    df = reduced.residual_df - full.residual_df
    change = max(reduced.deviance - full.deviance, 0.0)
    dispersion = full.pearson / full.residual_df if full.residual_df > 0 else 1.0
    if df <= 0:
        return MonthTest(statistic=0.0, df=0, p_value=1.0, dispersion=dispersion, method="none")
    if dispersion > 1.0:
        statistic = change / df / dispersion
        p_value = float(scipy_stats.f.sf(statistic, df, full.residual_df))
        return MonthTest(statistic=statistic, df=df, p_value=p_value, dispersion=dispersion, method="F")
    p_value = float(scipy_stats.chi2.sf(change, df))
    return MonthTest(statistic=change, df=df, p_value=p_value, dispersion=dispersion, method="chi2")


@dataclass(frozen=True)
class Seasonality:
    """The verdict, the months analysed, per month of year figures and both tests."""

    verdict: str
    summary: str
    months_of_history: int
    years_analysed: int
    window_start: dt.date | None
    window_end: dt.date | None
    by_month: list[dict[str, Any]] = field(default_factory=list)
    win_rate_test: MonthTest | None = None
    volume_test: MonthTest | None = None
    win_rate_p_adjusted: float | None = None
    volume_p_adjusted: float | None = None


def _months_between(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def complete_months(*, first_close: dt.date, last_close: dt.date, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """[first, end) of the complete months of closes, as first days of months.

    The first close's month counts only when a deal closed on its first day (otherwise the
    history probably starts inside it). The end is ``as_of``'s month (its days so far are not a
    whole month); when closes stopped before the month before it — the data is stale, not the
    business quiet — the end is the month after the last close instead, so months with no data
    are not read as months with no deals.
    """
    first = month_start(first_close) if first_close.day == 1 else add_months(month_start(first_close), 1)
    end = month_start(as_of)
    if month_start(last_close) < add_months(end, -1):
        end = add_months(month_start(last_close), 1)
    return first, max(first, end)


def seasonality_analyse(
    *,
    months: npt.ArrayLike,
    n: npt.ArrayLike,
    won: npt.ArrayLike,
    as_of: dt.date,
    first_close: dt.date | None = None,
    last_close: dt.date | None = None,
    level: float = stats.SIGNIFICANCE_LEVEL,
) -> Seasonality:
    """Seasonality of closed deals per month of close (``months``: first days of months).

    The complete months are those of :func:`complete_months` (``first_close`` / ``last_close``
    default to the first and last month with closes, the first then counting as partial).
    Fewer than 24 of them: "not enough history". Otherwise the last 12·k complete months are
    tested (k whole years) and the verdict is "seasonal pattern" or "no seasonal pattern", with
    a sentence naming the strongest months.
    """
    month_starts = [
        dt.date(day.year, day.month, 1) for day in np.asarray(months, dtype="datetime64[D]").tolist()
    ]
    counts = dict(zip(month_starts, np.asarray(n, dtype=np.float64), strict=True))
    wins = dict(zip(month_starts, np.asarray(won, dtype=np.float64), strict=True))
    present = [month for month in month_starts if counts[month] > 0]
    if not present:
        return Seasonality(NOT_ENOUGH_HISTORY, "No closed deals yet.", 0, 0, None, None)
    first_day = first_close or add_months(min(present), 1) - dt.timedelta(days=1)
    last_day = last_close or max(present)
    first, end = complete_months(first_close=first_day, last_close=last_day, as_of=as_of)
    history = max(_months_between(first, end), 0)
    if history < 12 * MIN_YEARS:
        return Seasonality(
            NOT_ENOUGH_HISTORY,
            f"Not enough history: {history} complete months of closed deals; "
            f"seasonality needs two full years ({12 * MIN_YEARS} months).",
            history,
            0,
            first if history else None,
            end if history else None,
        )
    years = history // 12
    start = add_months(end, -12 * years)
    window = [add_months(start, index) for index in range(12 * years)]
    cell_n = np.array([counts.get(month, 0.0) for month in window])
    cell_won = np.array([wins.get(month, 0.0) for month in window])
    block = np.repeat(np.arange(years), 12)
    month_of_year = np.array([month.month for month in window])
    days = np.array([calendar.monthrange(month.year, month.month)[1] for month in window], dtype=np.float64)
    rate_test = month_effect_test(y=cell_won, size=cell_n, year=block, month=month_of_year, family="binomial")
    volume_test = month_effect_test(y=cell_n, size=days, year=block, month=month_of_year, family="poisson")
    adjusted = stats.holm_adjust([rate_test.p_value, volume_test.p_value])

    overall_rate = cell_won.sum() / cell_n.sum() if cell_n.sum() else float("nan")
    per_day = cell_n.sum() / days.sum()
    by_month = []
    for number in range(1, 13):
        rows = month_of_year == number
        closed, won_here = float(cell_n[rows].sum()), float(cell_won[rows].sum())
        low, high = stats.wilson_interval(won_here, closed)
        by_month.append(
            {
                "month": number,
                "name": MONTH_NAMES[number - 1],
                "n": int(closed),
                "won": int(won_here),
                "win_rate": won_here / closed if closed else None,
                "ci_low": float(low),
                "ci_high": float(high),
                "per_year": closed / years,
                "volume_index": (closed / days[rows].sum()) / per_day if per_day else None,
            }
        )
    rate_found = bool(adjusted[0] < level)
    volume_found = bool(adjusted[1] < level)
    parts = []
    if rate_found:
        rates = {str(m["name"]): float(m["win_rate"]) for m in by_month if m["win_rate"] is not None}
        best, worst = max(rates, key=rates.__getitem__), min(rates, key=rates.__getitem__)
        parts.append(
            f"win rate depends on the month (p = {adjusted[0]:.3g}, adjusted): highest in "
            f"{best} ({stats.format_percent(rates[best])}), lowest in "
            f"{worst} ({stats.format_percent(rates[worst])}) against "
            f"{stats.format_percent(overall_rate)} overall"
        )
    if volume_found:
        volumes = {str(m["name"]): float(m["volume_index"] or 0.0) for m in by_month}
        busiest, quietest = max(volumes, key=volumes.__getitem__), min(volumes, key=volumes.__getitem__)
        parts.append(
            f"deal volume depends on the month (p = {adjusted[1]:.3g}, adjusted): most closes in "
            f"{busiest} ({volumes[busiest]:.2f}× an average month), fewest in "
            f"{quietest} ({volumes[quietest]:.2f}×)"
        )
    span = f"{years} years of closes ({window[0]:%b %Y} – {window[-1]:%b %Y})"
    if parts:
        verdict = SEASONAL_PATTERN
        summary = f"Seasonal pattern over {span}: " + "; ".join(parts) + "."
    else:
        verdict = NO_SEASONAL_PATTERN
        summary = (
            f"No seasonal pattern over {span}: neither win rate (p = {adjusted[0]:.2f}) nor volume "
            f"(p = {adjusted[1]:.2f}, Holm-adjusted) depends on the month beyond noise."
        )
    return Seasonality(
        verdict=verdict,
        summary=summary,
        months_of_history=history,
        years_analysed=years,
        window_start=window[0],
        window_end=add_months(window[-1], 1) - dt.timedelta(days=1),
        by_month=by_month,
        win_rate_test=rate_test,
        volume_test=volume_test,
        win_rate_p_adjusted=float(adjusted[0]),
        volume_p_adjusted=float(adjusted[1]),
    )
