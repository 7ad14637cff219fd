"""The CRO briefing: the one page read on Monday morning, as one JSON-ready document.

``briefing`` brings together the win-rate headline and its top contributors (insights.diagnose),
the quarter forecast with its 80% interval (:func:`quarter_forecast`, backtested by
:func:`forecast_backtest`), sales velocity, revenue concentration, seasonality, the focus list,
the deals most at risk (scoring) and the alerts summary. ``briefing_digest_header`` is the
compact part the weekly digest shows on top. The statistics live in the pure modules
insights.forecast / velocity / concentration / seasonality / focus; the reads in
insights.briefing_selectors. docs/briefing.md documents every key and formula.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings

from insights import briefing_selectors, concentration, focus, forecast, seasonality, selectors, velocity
from insights.cube import OVERALL
from insights.periods import Period, PeriodKind, add_months, period_containing
from insights.segments import clean_number
from tenants.context import tenant_context
from tenants.models import Tenant

# Closed deals that teach the forecast how long deals take and how often they win.
REFERENCE_LOOKBACK_DAYS = 365
# A stage's own closing-time reference needs this many won deals that passed through it;
# deals in thinner stages are timed by their age instead.
MIN_STAGE_WON = 30
# Past quarters whose same window measures new business (deals created and won inside it).
NEW_BUSINESS_QUARTERS = 4
# Past quarters whose win rates measure how much quarters differ beyond coin flips.
DISPERSION_QUARTERS = 8
TOP_FORECAST_DEALS = 5
DOLLAR_WEIGHTED_TIMES = True
# Open deals without a score are weighted by their segment's history along these fields.
PRIOR_DIMENSIONS = selectors.PIPELINE_PRIOR_DIMENSIONS


def _quarter(day: dt.date, tenant: Tenant) -> Period:
    return period_containing(
        day=day, kind=PeriodKind.QUARTER, fiscal_year_start_month=tenant.fiscal_year_start_month
    )


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    delta = pd.to_datetime(later) - pd.to_datetime(earlier)
    return delta.dt.days.to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class ForecastInputs:
    """Everything the simulation needs for one as-of date (built by :func:`_forecast_inputs`)."""

    quarter: Period
    as_of: dt.date
    horizon_days: int
    won_so_far: float
    n_won_so_far: int
    deals: pd.DataFrame
    odds: forecast.DealOdds
    new_business: forecast.NewBusiness
    logit_sd: float
    method: str
    stage_references: tuple[str, ...]


def _weights(histogram: pd.DataFrame) -> np.ndarray:
    """Dollar weights scaled to sum to the deal count: bookings are dollars, and large deals
    take longer, so durations are weighted by amount while pseudo-counts keep their meaning."""
    counts = histogram["count"].to_numpy(dtype=np.float64)
    if not DOLLAR_WEIGHTED_TIMES:
        return counts
    amounts = histogram["amount"].to_numpy(dtype=np.float64)
    total = amounts.sum()
    return amounts * counts.sum() / total if total > 0 else counts


def _references(
    histograms: briefing_selectors.ClosingHistograms, *, stages: Sequence[str]
) -> tuple[list[forecast.ClosingTimes], list[str]]:
    """The age reference first, then one per pipeline stage with enough won deals through it."""
    cycle = histograms.cycle
    references = [
        forecast.closing_times_from_histogram(days=cycle["days"], won=cycle["won"], counts=_weights(cycle))
    ]
    names = [""]
    stage_rows = histograms.stage
    for stage in stages:
        rows = stage_rows[stage_rows["stage"] == stage] if not stage_rows.empty else stage_rows
        if rows.empty or int(rows.loc[rows["won"].astype(bool), "count"].sum()) < MIN_STAGE_WON:
            continue
        references.append(
            forecast.closing_times_from_histogram(
                days=rows["days"],
                won=rows["won"],
                counts=_weights(rows),
                n_won_total=histograms.with_history_won,
                n_lost_total=histograms.with_history_lost,
            )
        )
        names.append(stage)
    return references, names


def _new_business(
    *, quarter: Period, as_of: dt.date, first_close: dt.date | None, win_rate: float
) -> forecast.NewBusiness:
    """Deals created and won inside the same window of each of the last few quarters.

    The window of quarter −j starts as many days into that quarter as ``as_of`` is into this
    one and ends with it; only windows after the tenant's first close count (before it the
    tenant's history is not in the data).
    """
    offset = as_of - quarter.start
    windows = []
    for back in range(1, NEW_BUSINESS_QUARTERS + 1):
        past = quarter.shifted(-back)
        start = min(past.start + offset, past.end)
        if first_close is not None and start >= first_close:
            windows.append((start, past.end))
    if not windows:
        return forecast.NO_NEW_BUSINESS
    amounts = briefing_selectors.won_created_within(windows=windows)
    return forecast.NewBusiness(
        windows=len(windows), amounts=amounts["amount"].to_numpy(dtype=np.float64), win_rate=win_rate
    )


def _revenue_weighted_prior(deals: pd.DataFrame, *, as_of: dt.date) -> np.ndarray:
    """Each open deal's segment prior: the shrunk revenue-weighted win rate of its (lead source,
    product type) over the year before ``as_of`` (0 when the tenant never closed a deal)."""
    aggregates = selectors.closed_deal_aggregates(
        ranges=[(as_of - dt.timedelta(days=REFERENCE_LOOKBACK_DAYS), as_of)],
        dimension_sets=[PRIOR_DIMENSIONS],
        with_medians=False,
    )
    if aggregates.empty:
        return np.zeros(len(deals))
    rates, pooled = forecast.revenue_weighted_priors(
        n=aggregates["n"],
        won=aggregates["won"],
        amount_sum=aggregates["amount_sum"],
        won_amount_sum=aggregates["won_amount_sum"],
    )
    by_values = dict(zip(aggregates["values"], rates, strict=True))
    keys = zip(*(deals[key] for key in PRIOR_DIMENSIONS), strict=True)
    return np.nan_to_num(np.array([by_values.get(key, pooled) for key in keys], dtype=np.float64))


def _forecast_inputs(
    *, tenant: Tenant, as_of: dt.date, probabilities: Mapping[int, float] | None
) -> ForecastInputs:
    quarter = _quarter(as_of, tenant)
    won_so_far, n_won = briefing_selectors.won_amount_between(start=quarter.start, before=as_of)
    deals = briefing_selectors.open_deals_at(as_of=as_of)
    histograms = briefing_selectors.closing_histograms(
        closed_from=as_of - dt.timedelta(days=REFERENCE_LOOKBACK_DAYS), closed_before=as_of
    )
    pipeline_stages = list(tenant.stages[:-1]) if tenant.stages else []
    references, names = _references(histograms, stages=pipeline_stages)
    prior = _revenue_weighted_prior(deals, as_of=as_of)
    scores = pd.Series(probabilities or {}, dtype=np.float64)
    scored = deals["deal_id"].map(scores).to_numpy(dtype=np.float64) if len(deals) else np.zeros(0)
    has_score = np.isfinite(scored)
    probability = np.where(has_score, np.clip(np.nan_to_num(scored), 0.0, 1.0), prior)
    reference_of = {name: index for index, name in enumerate(names) if name}
    reference = deals["stage"].map(reference_of).fillna(0).to_numpy(dtype=np.int64)
    in_stage = (reference > 0) & deals["stage_entered"].notna().to_numpy()
    reference = np.where(in_stage, reference, 0)
    as_of_series = pd.Series(pd.Timestamp(as_of), index=deals.index)
    clock = np.where(
        in_stage,
        _days(as_of_series, deals["stage_entered"].where(deals["stage_entered"].notna(), as_of)),
        _days(as_of_series, deals["created_date"]),
    )
    horizon = (quarter.end - as_of).days
    odds = forecast.deal_window_odds(
        probability=probability,
        state_conditioned=has_score,
        clock_days=clock,
        reference=reference,
        references=references,
        horizon_days=horizon,
    )
    cycle = histograms.cycle
    n_closed = float(cycle["count"].sum()) if not cycle.empty else 0.0
    win_rate = float(cycle.loc[cycle["won"].astype(bool), "count"].sum()) / n_closed if n_closed else math.nan
    new_business = _new_business(
        quarter=quarter, as_of=as_of, first_close=briefing_selectors.first_close_date(), win_rate=win_rate
    )
    past = [quarter.shifted(-back) for back in range(DISPERSION_QUARTERS, 0, -1)]
    quarterly = selectors.closed_deal_aggregates(
        ranges=[(period.start, period.end) for period in past], dimension_sets=[()], with_medians=False
    )
    logit_sd = (
        forecast.quarter_logit_sd(won=quarterly["won"], n=quarterly["n"]) if not quarterly.empty else 0.0
    )
    if not len(deals) or not has_score.any():
        method = "segment_prior"
    else:
        method = "scores" if has_score.all() else "scores+segment_prior"
    return ForecastInputs(
        quarter=quarter,
        as_of=as_of,
        horizon_days=horizon,
        won_so_far=won_so_far,
        n_won_so_far=n_won,
        deals=deals,
        odds=odds,
        new_business=new_business,
        logit_sd=logit_sd,
        method=method,
        stage_references=tuple(names[1:]),
    )


def forecast_at(
    *,
    tenant: Tenant,
    as_of: dt.date,
    probabilities: Mapping[int, float] | None = None,
    simulations: int = forecast.DEFAULT_SIMULATIONS,
    seed: int = 0,
) -> tuple[ForecastInputs, forecast.BookingsDistribution]:
    """The bookings distribution of the quarter containing ``as_of``, as known at ``as_of``.

    Runs in the active tenant's context. ``probabilities`` (deal id → P(won), e.g. current
    scores) replace the segment priors of those deals.
    """
    inputs = _forecast_inputs(tenant=tenant, as_of=as_of, probabilities=probabilities)
    distribution = forecast.bookings_distribution(
        won_so_far=inputs.won_so_far,
        amounts=inputs.deals["amount"].to_numpy(dtype=np.float64),
        odds=inputs.odds,
        new_business=inputs.new_business,
        logit_sd=inputs.logit_sd,
        simulations=simulations,
        seed=seed,
    )
    return inputs, distribution


def format_money(value: float | None, currency: str = "USD") -> str:
    """12_345_678 → "$12.3M" (compact, for sentences); None → "—"."""
    if value is None or not math.isfinite(value):
        return "—"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}.get(currency, "")
    suffix = "" if symbol else f" {currency}"
    magnitude = abs(value)
    for threshold, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{'-' if value < 0 else ''}{symbol}{magnitude / threshold:.1f}{unit}{suffix}"
    return f"{'-' if value < 0 else ''}{symbol}{magnitude:.0f}{suffix}"


def _default_as_of(tenant: Tenant, as_of: dt.date | None) -> dt.date:
    return as_of or tenant.today()


def _live_scores(*, tenant: Tenant, as_of: dt.date, use_scores: bool | None) -> Mapping[int, float] | None:
    """Current scores when forecasting from today (scores describe deals as they are now)."""
    if use_scores is False or (use_scores is None and as_of < tenant.today()):
        return None
    from scoring.selectors import pipeline_probabilities

    scores = pipeline_probabilities()
    return dict(zip(scores["deal_id"], scores["probability"], strict=True)) if not scores.empty else None


def _quota(tenant: Tenant, quota: float | None) -> tuple[float | None, str | None]:
    """The quota to forecast against and where it came from: the caller's ``quota`` ("argument")
    overrides the tenant's stored quarterly quota ("tenant"); (None, None) when neither is set."""
    if quota is not None:
        return float(quota), "argument"
    if tenant.quarterly_quota is not None:
        return float(tenant.quarterly_quota), "tenant"
    return None, None


def _forecast_section(
    *,
    tenant: Tenant,
    as_of: dt.date,
    quota: float | None,
    use_scores: bool | None,
    simulations: int,
    seed: int,
) -> dict[str, Any]:
    quota, quota_source = _quota(tenant, quota)
    scores = _live_scores(tenant=tenant, as_of=as_of, use_scores=use_scores)
    inputs, distribution = forecast_at(
        tenant=tenant, as_of=as_of, probabilities=scores, simulations=simulations, seed=seed
    )
    deals = inputs.deals
    odds = inputs.odds
    contribution = deals["amount"].to_numpy(dtype=np.float64) * odds.probability
    top = np.argsort(-contribution, kind="stable")[:TOP_FORECAST_DEALS]
    currency = tenant.currency
    quarter = inputs.quarter
    attainment = distribution.expected / quota if quota else None
    chance = distribution.probability_at_least(quota) if quota else None
    summary = (
        f"{quarter.label} bookings forecast {format_money(distribution.expected, currency)} "
        f"(80% interval {format_money(distribution.p10, currency)}–"
        f"{format_money(distribution.p90, currency)}): "
        f"{format_money(distribution.won_so_far, currency)} won so far, "
        f"{format_money(distribution.expected_open, currency)} expected from {len(deals)} open deals and "
        f"{format_money(distribution.expected_new, currency)} from deals not yet created, "
        f"with {inputs.horizon_days} days left."
    )
    if quota:
        summary += (
            f" Quota {format_money(quota, currency)}: expected attainment "
            f"{attainment:.0%}, {chance:.0%} chance to reach it."
        )
    return {
        "quarter": {**quarter.as_dict(), "days_left": inputs.horizon_days},
        "as_of": as_of.isoformat(),
        "currency": currency,
        "won_so_far": clean_number(distribution.won_so_far, 2),
        "n_won_so_far": inputs.n_won_so_far,
        "expected": clean_number(distribution.expected, 2),
        "p10": clean_number(distribution.p10, 2),
        "p50": clean_number(distribution.p50, 2),
        "p90": clean_number(distribution.p90, 2),
        "expected_open": clean_number(distribution.expected_open, 2),
        "expected_new": clean_number(distribution.expected_new, 2),
        "n_open": len(deals),
        "open_amount": clean_number(float(deals["amount"].sum()) if len(deals) else 0.0, 2),
        "quota": clean_number(quota, 2) if quota else None,
        "quota_source": quota_source if quota else None,
        "expected_attainment": clean_number(attainment, 4) if attainment is not None else None,
        "probability_of_quota": clean_number(chance, 4) if chance is not None else None,
        "method": inputs.method,
        "stage_references": list(inputs.stage_references),
        "new_business_windows": inputs.new_business.windows,
        "logit_sd": clean_number(inputs.logit_sd, 4),
        "simulations": distribution.simulations,
        "seed": seed,
        "top_deals": [
            {
                "deal_id": int(deals["deal_id"].iloc[index]),
                "crm_id": deals["crm_id"].iloc[index],
                "name": deals["name"].iloc[index] or deals["crm_id"].iloc[index],
                "amount": clean_number(deals["amount"].iloc[index], 2),
                "stage": deals["stage"].iloc[index] or None,
                "win_probability": clean_number(odds.win_probability[index], 4),
                "close_in_quarter": clean_number(odds.close_in_window[index], 4),
                "probability": clean_number(odds.probability[index], 4),
                "expected": clean_number(contribution[index], 2),
            }
            for index in top
            if contribution[index] > 0
        ],
        "summary": summary,
    }


def quarter_forecast(
    *,
    tenant: Tenant,
    as_of: dt.date | None = None,
    quota: float | None = None,
    use_scores: bool | None = None,
    simulations: int = forecast.DEFAULT_SIMULATIONS,
    seed: int = 0,
) -> dict[str, Any]:
    """The bookings forecast of the quarter containing ``as_of`` (default: today), as a dict.

    Expected bookings with the P10–P90 (80%) interval and median, split into won so far,
    expected from open deals and from deals not yet created; against ``quota`` (currency; default
    the tenant's stored ``quarterly_quota``) the expected attainment and the chance to reach it.
    Open deals use their current score when forecasting from today (``use_scores`` None) and
    their segment prior otherwise or without a score. docs/briefing.md lists the keys.
    """
    day = _default_as_of(tenant, as_of)
    with tenant_context(tenant):
        return _forecast_section(
            tenant=tenant, as_of=day, quota=quota, use_scores=use_scores, simulations=simulations, seed=seed
        )


BACKTEST_TARGET = 0.80
BACKTEST_TOLERANCE = 0.10
BACKTEST_MAX_QUARTERS = 8
BACKTEST_DAYS_OF_MONTH = (1, 15)


def backtest_dates(*, quarters: Sequence[Period]) -> list[dt.date]:
    """Replay dates: the 1st and the 15th of every month of each quarter, in order."""
    return [
        month.replace(day=day)
        for quarter in quarters
        for month in (add_months(quarter.start, offset) for offset in range(3))
        for day in BACKTEST_DAYS_OF_MONTH
    ]


def _backtest_quarters(*, tenant: Tenant, as_of: dt.date) -> list[Period]:
    """Complete quarters before ``as_of`` with at least one full quarter of closes before them
    (the last BACKTEST_MAX_QUARTERS of them), oldest first."""
    first_close = briefing_selectors.first_close_date()
    if first_close is None:
        return []
    earliest = _quarter(first_close, tenant).shifted(1)
    # The quarter containing as_of is not complete (as_of is the first day not yet known).
    quarter = _quarter(as_of, tenant).previous()
    quarters: list[Period] = []
    while quarter.start >= earliest.start and len(quarters) < BACKTEST_MAX_QUARTERS:
        quarters.append(quarter)
        quarter = quarter.previous()
    return quarters[::-1]


def forecast_backtest(
    *,
    tenant: Tenant,
    as_of: dt.date | None = None,
    simulations: int = 4_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Replay the forecast at past dates and compare it with what was booked.

    For each complete quarter before ``as_of`` (default today) that has a full quarter of
    history before it (at most the last 8), the forecast is recomputed as of the 1st and the
    15th of each of its months, seeing only what was known then (deals created, stage moves and
    closes before that day; segment priors, not today's scores), and compared with the amount
    actually won in that quarter. Reports each replay, the share of actuals inside the
    P10–P90 interval (target 80% ± 10%), the mean error (actual − expected) and the mean
    absolute percentage error, overall and for quarter starts only. Replays of one quarter
    share its outcome, so they are not independent: the interval on the coverage is optimistic.
    """
    day = _default_as_of(tenant, as_of)
    with tenant_context(tenant):
        quarters = _backtest_quarters(tenant=tenant, as_of=day)
        replays = []
        for quarter in quarters:
            actual, n_won = briefing_selectors.won_amount_between(start=quarter.start, before=quarter.end)
            for replay_day in backtest_dates(quarters=[quarter]):
                _, distribution = forecast_at(
                    tenant=tenant, as_of=replay_day, probabilities=None, simulations=simulations, seed=seed
                )
                replays.append(
                    {
                        "as_of": replay_day.isoformat(),
                        "quarter": quarter.label,
                        "actual": clean_number(actual, 2),
                        "n_won": n_won,
                        "expected": clean_number(distribution.expected, 2),
                        "p10": clean_number(distribution.p10, 2),
                        "p90": clean_number(distribution.p90, 2),
                        "won_so_far": clean_number(distribution.won_so_far, 2),
                        "inside": bool(distribution.p10 <= actual <= distribution.p90),
                        "quarter_start": replay_day == quarter.start,
                    }
                )

    def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
        summary = forecast.backtest_summary(
            actual=[row["actual"] for row in rows],
            expected=[row["expected"] for row in rows],
            p10=[row["p10"] for row in rows],
            p90=[row["p90"] for row in rows],
        )
        return {
            "n": summary.n,
            "covered": summary.covered,
            "coverage": clean_number(summary.coverage, 4),
            "coverage_ci_low": clean_number(summary.coverage_ci_low, 4),
            "coverage_ci_high": clean_number(summary.coverage_ci_high, 4),
            "below_p10": summary.below_p10,
            "above_p90": summary.above_p90,
            "mean_error": clean_number(summary.mean_error, 2),
            "mean_absolute_percentage_error": clean_number(summary.mean_absolute_percentage_error, 4),
        }

    overall = summarise(replays)
    starts = summarise([row for row in replays if row["quarter_start"]])
    coverage = overall["coverage"]
    meets = coverage is not None and abs(coverage - BACKTEST_TARGET) <= BACKTEST_TOLERANCE + 1e-9
    return {
        "as_of": day.isoformat(),
        "quarters": [quarter.label for quarter in quarters],
        "replay_days_of_month": list(BACKTEST_DAYS_OF_MONTH),
        "method": "segment_prior",
        "target": BACKTEST_TARGET,
        "tolerance": BACKTEST_TOLERANCE,
        "meets_target": bool(meets),
        **overall,
        "quarter_starts": starts,
        "replays": replays,
        "summary": (
            f"Replayed {overall['n']} times over {len(quarters)} quarters, the 80% interval held the "
            f"outcome {overall['covered']} times ({coverage:.0%}; target 80% ± 10%); mean absolute "
            f"error {overall['mean_absolute_percentage_error']:.1%} of the actual."
            if overall["n"]
            else "Not enough history to replay the forecast (needs a full quarter of closes first)."
        ),
    }


# Business dimensions a sales leader can steer toward or away from. Reps are people, not
# segments; the last stage reached is partly the outcome; deal size is the amount itself.
FOCUS_DIMENSIONS: tuple[str, ...] = ("industry", "region", "product_type", "lead_source")
FOCUS_WINDOW_MONTHS = 24
VELOCITY_DIMENSIONS: tuple[str, ...] = (*FOCUS_DIMENSIONS, "rep")
SECTION_LOOKBACK_MONTHS = 12


def _window_start(as_of: dt.date, months: int) -> dt.date:
    """The same day ``months`` months before ``as_of`` (clamped to the month's last day)."""
    first = add_months(as_of.replace(day=1), -months)
    last_day = (add_months(first, 1) - dt.timedelta(days=1)).day
    return first.replace(day=min(as_of.day, last_day))


def _labels(frame: pd.DataFrame) -> pd.Series:
    return selectors.value_label_parts(
        frame=frame, dimension_keys=list(frame["dimension"].unique()), band_edges=[]
    ).map(selectors.join_label)


def _joined_velocity_parts(closed: pd.DataFrame, opened: pd.DataFrame) -> pd.DataFrame:
    """One row per segment seen closed in the window or open now, with every part of velocity."""
    open_parts = {
        (row.dimension, row.values): (int(row.n_open), float(row.open_amount))
        for row in opened.itertuples(index=False)
    }
    rows = []
    for row in closed.itertuples(index=False):
        n_open, open_amount = open_parts.pop((row.dimension, row.values), (0, 0.0))
        rows.append(
            {
                "dimension": row.dimension,
                "values": row.values,
                "n": int(row.n),
                "won": int(row.won),
                "won_amount_sum": float(row.won_amount_sum),
                "median_cycle_won_days": float(row.median_cycle_won_days),
                "n_open": n_open,
                "open_amount": open_amount,
            }
        )
    for (dimension, values), (n_open, open_amount) in open_parts.items():
        rows.append(
            {
                "dimension": dimension,
                "values": values,
                "n": 0,
                "won": 0,
                "won_amount_sum": 0.0,
                "median_cycle_won_days": math.nan,
                "n_open": n_open,
                "open_amount": open_amount,
            }
        )
    columns = [
        "dimension",
        "values",
        "n",
        "won",
        "won_amount_sum",
        "median_cycle_won_days",
        "n_open",
        "open_amount",
    ]
    return pd.DataFrame(rows, columns=columns)


def _velocity_section(*, as_of: dt.date, min_sample: int, currency: str) -> dict[str, Any]:
    start = _window_start(as_of, SECTION_LOOKBACK_MONTHS)
    sets = [(), *((key,) for key in VELOCITY_DIMENSIONS)]
    closed = selectors.closed_deal_aggregates(ranges=[(start, as_of)], dimension_sets=sets)
    opened = briefing_selectors.open_counts(as_of=as_of, dimension_sets=sets)
    table = _joined_velocity_parts(closed, opened)
    ranked = velocity.velocity_table(table, min_sample=min_sample) if not table.empty else table
    if not ranked.empty:
        ranked = ranked.assign(label=_labels(ranked))

    def rows(dimension: str) -> list[dict[str, Any]]:
        part = ranked[ranked["dimension"] == dimension] if not ranked.empty else ranked
        return [
            {
                "value": record["label"],
                "n_open": int(record["n_open"]),
                "open_amount": clean_number(record["open_amount"], 2),
                "n_closed": int(record["n"]),
                "won": int(record["won"]),
                "win_rate": clean_number(record["win_rate"]),
                "avg_won_amount": clean_number(record["avg_won_amount"], 2),
                "median_cycle_won_days": clean_number(record["median_cycle_won_days"], 1),
                "velocity_per_day": clean_number(record["velocity_per_day"], 2),
                "below_min_sample": bool(record["below_min_sample"]),
            }
            for record in part.to_dict("records")
        ]

    overall = rows(OVERALL)
    by_dimension = [
        {"dimension": key, "label": selectors.DIMENSIONS[key].label, "segments": rows(key)}
        for key in VELOCITY_DIMENSIONS
    ]
    tenant_row = overall[0] if overall else None
    summary = "No deals in the last 12 months."
    if tenant_row and tenant_row["velocity_per_day"] is not None:
        summary = (
            f"Sales velocity {format_money(tenant_row['velocity_per_day'], currency)} a day: "
            f"{tenant_row['n_open']} open deals × {stats_percent(tenant_row['win_rate'])} win rate × "
            f"{format_money(tenant_row['avg_won_amount'], currency)} average won deal ÷ "
            f"{tenant_row['median_cycle_won_days']:.0f}-day median winning cycle."
        )
    elif tenant_row:
        summary = "Sales velocity needs open deals, won deals and their cycles in the last 12 months."
    return {
        "window": {"start": start.isoformat(), "end": (as_of - dt.timedelta(days=1)).isoformat()},
        "overall": tenant_row,
        "by_dimension": by_dimension,
        "summary": summary,
    }


def stats_percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _concentration_block(frame: pd.DataFrame) -> dict[str, Any]:
    figures = concentration.concentration_from_percentiles(
        percentile=frame["percentile"] if not frame.empty else [],
        n=frame["n"] if not frame.empty else [],
        amount=frame["amount"].astype(float) if not frame.empty else [],
        largest=frame["largest"].astype(float) if not frame.empty else [],
    )
    return {
        "n": figures.n,
        "total": clean_number(figures.total, 2),
        "top_10_share": clean_number(figures.top_10_share, 4),
        "top_20_share": clean_number(figures.top_20_share, 4),
        "n_top_10": figures.n_top_10,
        "n_top_20": figures.n_top_20,
        "largest": clean_number(figures.largest, 2),
        "largest_share": clean_number(figures.largest_share, 4),
        "gini": clean_number(figures.gini, 4),
        "lorenz": [list(point) for point in figures.lorenz],
    }


def _concentration_section(*, as_of: dt.date, currency: str, expected_open: float | None) -> dict[str, Any]:
    start = _window_start(as_of, SECTION_LOOKBACK_MONTHS)
    won = _concentration_block(
        briefing_selectors.amount_percentiles(population="won", as_of=as_of, closed_from=start)
    )
    pipeline = _concentration_block(briefing_selectors.amount_percentiles(population="open", as_of=as_of))
    largest = briefing_selectors.largest_open_deal(as_of=as_of)
    exposure = None
    if largest is not None:
        exposure = {
            "deal_id": largest["id"],
            "crm_id": largest["crm_id"],
            "name": largest["name"] or largest["crm_id"],
            "amount": clean_number(largest["amount"], 2),
            "stage": largest["stage"],
            "share_of_pipeline": pipeline["largest_share"],
            "share_of_expected_open": clean_number(largest["amount"] / expected_open, 4)
            if expected_open
            else None,
        }
    lines = []
    if won["top_20_share"] is not None:
        lines.append(
            f"The largest 20% of won deals ({won['n_top_20']}) brought {won['top_20_share']:.0%} "
            "of won revenue "
            f"in the last 12 months (top 10%: {won['top_10_share']:.0%})."
        )
    if pipeline["top_20_share"] is not None:
        lines.append(
            f"The largest 20% of open deals hold {pipeline['top_20_share']:.0%} of the open pipeline."
        )
    if exposure is not None and exposure["share_of_pipeline"] is not None:
        lines.append(
            f"Largest single deal: {exposure['name']} at {format_money(exposure['amount'], currency)}, "
            f"{exposure['share_of_pipeline']:.1%} of the open pipeline."
        )
    return {
        "window": {"start": start.isoformat(), "end": (as_of - dt.timedelta(days=1)).isoformat()},
        "won_revenue": won,
        "open_pipeline": pipeline,
        "largest_open_deal": exposure,
        "summary": " ".join(lines) or "No won or open deals to measure concentration on.",
    }


def _seasonality_section(*, as_of: dt.date) -> dict[str, Any]:
    monthly = briefing_selectors.monthly_closed_counts(before=as_of)
    first_close, last_close = briefing_selectors.closed_date_range(before=as_of)
    result = seasonality.seasonality_analyse(
        months=monthly["month"].to_numpy(dtype="datetime64[D]")
        if not monthly.empty
        else np.array([], "datetime64[D]"),
        n=monthly["n"] if not monthly.empty else [],
        won=monthly["won"] if not monthly.empty else [],
        as_of=as_of,
        first_close=first_close,
        last_close=last_close,
    )

    def test(block: Any, adjusted: float | None) -> dict[str, Any] | None:
        if block is None:
            return None
        return {
            "method": block.method,
            "statistic": clean_number(block.statistic, 4),
            "df": block.df,
            "dispersion": clean_number(block.dispersion, 4),
            "p_value": clean_number(block.p_value),
            "p_value_adjusted": clean_number(adjusted),
        }

    return {
        "verdict": result.verdict,
        "summary": result.summary,
        "months_of_history": result.months_of_history,
        "years_analysed": result.years_analysed,
        "window": {
            "start": result.window_start.isoformat() if result.window_start else None,
            "end": result.window_end.isoformat() if result.window_end else None,
        },
        "by_month": [
            {
                key: (clean_number(value) if isinstance(value, float) else value)
                for key, value in month.items()
            }
            for month in result.by_month
        ],
        "win_rate_test": test(result.win_rate_test, result.win_rate_p_adjusted),
        "volume_test": test(result.volume_test, result.volume_p_adjusted),
    }


def _focus_section(*, as_of: dt.date, min_sample: int, currency: str) -> dict[str, Any]:
    start = _window_start(as_of, FOCUS_WINDOW_MONTHS)
    sets = [(), *((key,) for key in FOCUS_DIMENSIONS), *combinations(FOCUS_DIMENSIONS, 2)]
    frame = selectors.closed_deal_aggregates(ranges=[(start, as_of)], dimension_sets=sets, with_medians=False)
    window = {"start": start.isoformat(), "end": (as_of - dt.timedelta(days=1)).isoformat()}
    if frame.empty:
        return {
            "window": window,
            "tenant_average": None,
            "confidence": None,
            "min_sample": min_sample,
            "segments": [],
            "summary": "No closed deals in the last 24 months.",
        }
    overall = frame[frame["dimension"] == OVERALL].iloc[0]
    cells = frame[frame["dimension"] != OVERALL]
    table, average, confidence = focus.focus_table(
        cells,
        overall_n=int(overall["n"]),
        overall_won_amount=float(overall["won_amount_sum"]),
        min_sample=min_sample,
    )
    if not table.empty:
        parts = selectors.value_label_parts(frame=table, dimension_keys=list(FOCUS_DIMENSIONS), band_edges=[])
        table = table.assign(parts=parts, label_text=parts.map(selectors.join_label))
        table = table.assign(implied=focus.implied_by_single(table))
    segments = [
        {
            "dimension": record["dimension"],
            "value": record["label_text"],
            "n": int(record["n"]),
            "won": int(record["won"]),
            "win_rate": clean_number(record["win_rate"]),
            "avg_won_amount": clean_number(record["avg_won_amount"], 2),
            "expected_revenue": clean_number(record["expected_revenue"], 2),
            "ci_low": clean_number(record["ci_low"], 2),
            "ci_high": clean_number(record["ci_high"], 2),
            "lift": clean_number(record["lift"], 4),
            "label": record["label"],
            "implied": bool(record["implied"]),
        }
        for record in table.to_dict("records")
    ]
    chosen = {
        name: [
            segment["value"] for segment in segments if segment["label"] == name and not segment["implied"]
        ]
        for name in (focus.FOCUS, focus.KEEP, focus.DEPRIORITISE)
    }
    # The list is best first; the segments to deprioritise read worst first.
    chosen[focus.DEPRIORITISE].reverse()
    if any(chosen.values()):
        parts = [
            f"{name}: {', '.join(values[:4])}{' …' if len(values) > 4 else ''}"
            for name, values in (
                ("Focus", chosen[focus.FOCUS]),
                ("Keep", chosen[focus.KEEP]),
                ("Deprioritise", chosen[focus.DEPRIORITISE]),
            )
            if values
        ]
        summary = (
            "; ".join(parts)
            + f" (expected revenue per opportunity vs the {format_money(average, currency)} average)."
        )
    else:
        summary = (
            f"No evidence either way: no segment's expected revenue per opportunity differs from the "
            f"{format_money(average, currency)} average beyond noise ({len(segments)} segments compared)."
        )
    return {
        "window": window,
        "tenant_average": clean_number(average, 2),
        "confidence": clean_number(confidence, 6),
        "min_sample": min_sample,
        "focus_min_lift": focus.FOCUS_MIN_LIFT,
        "segments": segments,
        "focus": chosen[focus.FOCUS],
        "keep": chosen[focus.KEEP],
        "deprioritise": chosen[focus.DEPRIORITISE],
        "summary": summary,
    }


TOP_CONTRIBUTORS = 3
TOP_RISK_DEALS = 5
NEW_ALERTS_DAYS = 7


def _headline(document: Mapping[str, Any]) -> dict[str, Any]:
    rate = document["win_rate"]
    return {
        "current": rate["current"],
        "baseline": rate["baseline"],
        "change": rate["change"],
        "change_ci_low": rate["change_ci_low"],
        "change_ci_high": rate["change_ci_high"],
        "p_value": rate["p_value"],
        "distinguishable_from_noise": rate["distinguishable_from_noise"],
        "verdict": rate["verdict"],
        "weighted_current": document["weighted_win_rate"]["current"],
        "weighted_verdict": document["weighted_win_rate"]["verdict"],
    }


def _contributors(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "dimension_label": item["dimension_label"],
            "value": item["value"],
            "effect": item["effect"],
            "contribution": item["contribution"],
            "significant": item["significant"],
            "summary": item["summary"],
        }
        for item in document["top_contributors"][:TOP_CONTRIBUTORS]
    ]


def _risk_deals(forecast_section: Mapping[str, Any]) -> dict[str, Any]:
    """The open deals most at risk by their scores (alerts' reading of scoring), largest first."""
    from alerts.integrations import top_risk_deals

    deals = top_risk_deals(limit=TOP_RISK_DEALS)
    return {
        "source": "scores" if deals else "none",
        "deals": [
            {
                "deal_id": deal["id"],
                "crm_id": deal["crm_id"],
                "name": deal["name"],
                "amount": clean_number(deal["amount"], 2),
                "stage": deal["stage"],
                "probability": clean_number(deal["probability"], 4),
                "band": deal["band"],
                "drivers": deal["drivers"][:3],
            }
            for deal in deals
        ],
        "note": None
        if deals
        else (
            "No open deal is scored in the high or critical band."
            if forecast_section["method"] != "segment_prior"
            else "Deals are not scored yet: train a model (train_models) to see risk deals here."
        ),
    }


def _alerts_summary(*, as_of: dt.date) -> dict[str, Any]:
    from alerts.selectors import alert_count_since, alert_counts

    counts = alert_counts()
    since = dt.datetime.combine(as_of - dt.timedelta(days=NEW_ALERTS_DAYS), dt.time.min, tzinfo=dt.UTC)
    new = alert_count_since(since=since)
    return {
        **counts,
        "new_last_7_days": new,
        "summary": (
            f"{counts['open']} open alerts ({counts['critical']} critical), {new} raised in the last 7 days."
            if counts["open"] or new
            else "No open alerts."
        ),
    }


def _document(
    *,
    tenant: Tenant,
    as_of: dt.date,
    quota: float | None,
    min_sample: int,
    diagnosis: Mapping[str, Any] | None,
    simulations: int,
) -> dict[str, Any]:
    from insights.services import diagnose

    document = diagnosis if diagnosis is not None else diagnose(tenant=tenant, as_of=as_of)
    forecast_section = _forecast_section(
        tenant=tenant, as_of=as_of, quota=quota, use_scores=None, simulations=simulations, seed=0
    )
    focus_section = _focus_section(as_of=as_of, min_sample=min_sample, currency=tenant.currency)
    concentration_section = _concentration_section(
        as_of=as_of, currency=tenant.currency, expected_open=forecast_section["expected_open"]
    )
    seasonality_section = _seasonality_section(as_of=as_of)
    velocity_section = _velocity_section(as_of=as_of, min_sample=min_sample, currency=tenant.currency)
    headline = _headline(document)
    contributors = _contributors(document)
    risk = _risk_deals(forecast_section)
    alerts = _alerts_summary(as_of=as_of)
    summary = [
        headline["verdict"],
        forecast_section["summary"],
        *(item["summary"] for item in contributors[:2]),
        focus_section["summary"],
        concentration_section["summary"],
        seasonality_section["summary"],
        velocity_section["summary"],
        alerts["summary"],
    ]
    return {
        "tenant": tenant.slug,
        "tenant_name": tenant.name,
        "as_of": as_of.isoformat(),
        "currency": tenant.currency,
        "min_sample": min_sample,
        "period": document["period"],
        "headline": headline,
        "top_contributors": contributors,
        "forecast": forecast_section,
        "risk_deals": risk,
        "focus": focus_section,
        "velocity": velocity_section,
        "concentration": concentration_section,
        "seasonality": seasonality_section,
        "alerts": alerts,
        "summary": [line for line in summary if line],
    }


def briefing(
    *,
    tenant: Tenant,
    as_of: dt.date | None = None,
    quota: float | None = None,
    min_sample: int | None = None,
    diagnosis: Mapping[str, Any] | None = None,
    simulations: int = forecast.DEFAULT_SIMULATIONS,
) -> dict[str, Any]:
    """The CRO briefing of ``tenant`` as of ``as_of`` (default: today in its time zone).

    One JSON-ready document: the win-rate headline and top contributors (insights.diagnose,
    or ``diagnosis`` when the caller has it), the quarter forecast against ``quota``
    (currency units; default the tenant's stored quarterly quota, if any), the riskiest scored
    deals, the focus list, sales velocity, revenue concentration, seasonality, the alerts
    summary and a list of plain sentences.
    ``min_sample`` defaults to settings.INSIGHTS_MIN_SEGMENT_SAMPLE. Runs in ``tenant``'s
    context; docs/briefing.md documents every key.
    """
    day = _default_as_of(tenant, as_of)
    minimum = settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample
    with tenant_context(tenant):
        return _document(
            tenant=tenant,
            as_of=day,
            quota=quota,
            min_sample=minimum,
            diagnosis=diagnosis,
            simulations=simulations,
        )


DIGEST_ITEMS = 3


def _digest_segment(segment: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: segment[key]
        for key in ("dimension", "value", "n", "win_rate", "expected_revenue", "ci_low", "ci_high", "label")
    }


def _digest_focus(section: Mapping[str, Any]) -> dict[str, Any]:
    """The focus list for the digest: up to three segments per label with their intervals, and
    how many segments had no evidence either way (so a short list is not read as a verdict)."""
    by_value = {segment["value"]: segment for segment in section.get("segments", [])}
    lists = {
        name: [_digest_segment(by_value[value]) for value in section.get(name, [])[:DIGEST_ITEMS]]
        for name in ("focus", "keep", "deprioritise")
    }
    return {
        "tenant_average": section.get("tenant_average"),
        "compared": len(by_value),
        "no_evidence": sum(1 for segment in by_value.values() if segment["label"] == focus.NO_EVIDENCE),
        "counts": {name: len(section.get(name, [])) for name in lists},
        **lists,
        "summary": section["summary"],
    }


def briefing_digest_header(
    *,
    tenant: Tenant,
    as_of: dt.date | None = None,
    quota: float | None = None,
    diagnosis: Mapping[str, Any] | None = None,
    document: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The briefing's top for the digest: short, JSON-ready, the same for every reader.

    The numbers are the briefing page's for the same ``as_of`` (same document, same seed).
    Keys: as_of, currency, headline (win rate with its 95% interval, n, the change with its
    interval and the verdict), forecast (quarter, days_left, expected, p10, p50, p90,
    won_so_far, n_won_so_far, n_open, quota and quota_source — the tenant's stored quota unless
    ``quota`` overrides it —, expected_attainment, probability_of_quota, summary),
    top_contributors (3: summary, effect, significant), risk_deals (3), focus (names of the
    focus segments) and deprioritise (names), focus_list (up to 3 segments per label with
    their intervals, the count of "no evidence either way" segments and the sentence), alerts
    (counts and a sentence), and lines (the same content as plain sentences). Pass the
    ``diagnosis`` the digest already computed (saves a diagnose run) or a whole ``document``.
    """
    full = document or briefing(tenant=tenant, as_of=as_of, quota=quota, diagnosis=diagnosis)
    headline = full["headline"]
    current = headline["current"]
    projection = full["forecast"]
    focus_section = full["focus"]
    contributors = full["top_contributors"][:DIGEST_ITEMS]
    lines = [
        headline["verdict"],
        projection["summary"],
        *(item["summary"] for item in contributors),
        focus_section["summary"],
        full["alerts"]["summary"],
    ]
    return {
        "as_of": full["as_of"],
        "currency": full["currency"],
        "headline": {
            "period": current["period"],
            "rate": current["rate"],
            "ci_low": current["ci_low"],
            "ci_high": current["ci_high"],
            "n": current["n"],
            "won": current.get("won"),
            "baseline_period": headline["baseline"]["period"],
            "baseline_rate": headline["baseline"]["rate"],
            "baseline_n": headline["baseline"]["n"],
            "change": headline["change"],
            "change_ci_low": headline["change_ci_low"],
            "change_ci_high": headline["change_ci_high"],
            "distinguishable_from_noise": headline["distinguishable_from_noise"],
            "verdict": headline["verdict"],
        },
        "forecast": {
            key: projection[key]
            for key in (
                "expected",
                "p10",
                "p50",
                "p90",
                "won_so_far",
                "n_won_so_far",
                "n_open",
                "quota",
                "quota_source",
                "expected_attainment",
                "probability_of_quota",
                "summary",
            )
        }
        | {"quarter": projection["quarter"]["label"], "days_left": projection["quarter"]["days_left"]},
        "top_contributors": [
            {"summary": item["summary"], "effect": item["effect"], "significant": item["significant"]}
            for item in contributors
        ],
        "risk_deals": full["risk_deals"]["deals"][:DIGEST_ITEMS],
        "focus": focus_section.get("focus", [])[:DIGEST_ITEMS],
        "deprioritise": focus_section.get("deprioritise", [])[:DIGEST_ITEMS],
        "focus_list": _digest_focus(focus_section),
        "alerts": full["alerts"],
        "lines": [line for line in lines if line],
    }


def sales_velocity(
    *, tenant: Tenant, as_of: dt.date | None = None, min_sample: int | None = None
) -> dict[str, Any]:
    """The ``velocity`` section alone: per segment and rep, over the 12 months before ``as_of``."""
    minimum = settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample
    with tenant_context(tenant):
        return _velocity_section(
            as_of=_default_as_of(tenant, as_of), min_sample=minimum, currency=tenant.currency
        )


def revenue_concentration(*, tenant: Tenant, as_of: dt.date | None = None) -> dict[str, Any]:
    """The ``concentration`` section alone (without the share of the forecast's open part)."""
    with tenant_context(tenant):
        return _concentration_section(
            as_of=_default_as_of(tenant, as_of), currency=tenant.currency, expected_open=None
        )


def seasonality_report(*, tenant: Tenant, as_of: dt.date | None = None) -> dict[str, Any]:
    """The ``seasonality`` section alone: verdict, per month of year figures and both tests."""
    with tenant_context(tenant):
        return _seasonality_section(as_of=_default_as_of(tenant, as_of))


def focus_list(
    *, tenant: Tenant, as_of: dt.date | None = None, min_sample: int | None = None
) -> dict[str, Any]:
    """The ``focus`` section alone: segments and pairs ranked by expected revenue per opportunity."""
    minimum = settings.INSIGHTS_MIN_SEGMENT_SAMPLE if min_sample is None else min_sample
    with tenant_context(tenant):
        return _focus_section(
            as_of=_default_as_of(tenant, as_of), min_sample=minimum, currency=tenant.currency
        )
