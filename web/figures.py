"""Page figures: the data of a page (selector rows, the diagnosis document) → safe SVG markup.

web.charts draws and escapes; this module only picks the numbers and the words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from web import charts
from web.selectors import MonthlyRate


def _safe(svg: str) -> SafeString:
    return mark_safe(svg)  # noqa: S308 - web.charts escapes every piece of text it draws


def monthly_trend_svg(
    months: Sequence[MonthlyRate],
    *,
    chart_id: str = "trend",
    title: str = "Win rate by month with its 95% interval",
    reference: float | None = None,
    reference_label: str = "",
) -> SafeString:
    points = [
        charts.RatePoint(
            label=f"{month.month:%b %y}", rate=month.win_rate, low=month.ci_low, high=month.ci_high, n=month.n
        )
        for month in months
    ]
    return _safe(
        charts.trend_chart(
            points, chart_id=chart_id, title=title, reference=reference, reference_label=reference_label
        )
    )


def pooled_rate(months: Sequence[MonthlyRate]) -> float | None:
    """Won ÷ closed over all the months (not the mean of monthly rates)."""
    n = sum(month.n for month in months)
    return sum(month.won for month in months) / n if n else None


def mix_rate_waterfall_svg(decomposition: dict[str, Any], headline: dict[str, Any]) -> SafeString:
    """Baseline rate → mix effect → conversion effect → current rate, for one dimension."""
    label = decomposition["label"].lower()
    steps = [
        charts.WaterfallStep(headline["baseline"]["period"], headline["baseline"]["rate"], "total"),
        charts.WaterfallStep(f"Mix ({label})", decomposition["mix_effect"]),
        charts.WaterfallStep("Conversion within segments", decomposition["rate_effect"]),
        charts.WaterfallStep(headline["current"]["period"], headline["current"]["rate"], "total"),
    ]
    return _safe(
        charts.waterfall_chart(
            steps, chart_id="waterfall", title=f"Win-rate change split into mix and conversion, by {label}"
        )
    )


def rep_interval_svg(reps: Sequence[dict[str, Any]], *, team_rate: float | None) -> SafeString:
    """Ranked reps' shrunk rates with credible intervals; raw rates hollow; flagged reps red."""
    rows = [
        charts.IntervalRow(
            label=rep["name"] or rep["rep"],
            estimate=rep["shrunk_rate"],
            low=rep["shrunk_ci_low"],
            high=rep["shrunk_ci_high"],
            n=rep["n"],
            flag="below" if rep["flag"] == "below" else "",
            raw=rep["win_rate"],
        )
        for rep in reps
        if rep["shrunk_rate"] is not None
    ]
    return _safe(
        charts.interval_chart(
            rows,
            chart_id="reps",
            title="Each rep's shrunk win rate with its 95% credible interval; hollow dot: raw rate",
            reference=team_rate,
            reference_label="team" if team_rate is not None else "",
        )
    )


def segment_interval_svg(
    segments: Sequence[dict[str, Any]],
    *,
    chart_id: str,
    title: str,
    reference: float | None,
    width: int = 440,
) -> SafeString:
    """Segments above the minimum sample: win rate with its Wilson interval; red below, green above."""
    rows = [
        charts.IntervalRow(
            label=segment["value"],
            estimate=segment["win_rate"],
            low=segment["ci_low"],
            high=segment["ci_high"],
            n=segment["n"],
            flag=segment.get("flag") if segment.get("flag") in ("above", "below") else "",
        )
        for segment in segments
        if segment["win_rate"] is not None and not segment["below_min_sample"]
    ]
    return _safe(
        charts.interval_chart(
            rows,
            chart_id=chart_id,
            title=title,
            reference=reference,
            reference_label="all deals",
            width=width,
        )
    )


def segment_history_svg(history: Sequence[Any], *, reference: float | None) -> SafeString:
    """A segment's stored monthly metrics (insights.SegmentMetric rows) as a rate trend."""
    points = [charts.RatePoint(f"{m.month:%b %y}", m.win_rate, m.ci_low, m.ci_high, m.n) for m in history]
    return _safe(
        charts.trend_chart(
            points,
            chart_id="segment-history",
            title="The segment's win rate by month with its 95% interval",
            reference=reference,
            reference_label="all deals in the window" if reference is not None else "",
        )
    )


def score_history_svg(history: Sequence[Any]) -> SafeString:
    """A deal's win probability at each scoring (scoring.DealScore rows, oldest first)."""
    points = [charts.ValuePoint(f"{score.scored_at:%d %b}", score.probability) for score in history]
    return _safe(charts.line_chart(points, chart_id="score-history", title="Win probability at each scoring"))


def reliability_svg(bins: Sequence[dict[str, Any]], *, chart_id: str, title: str) -> SafeString:
    """A reliability table (scoring's 10 bins: n, mean_predicted, observed_rate) as a chart."""
    points = [
        charts.ReliabilityBin(b["mean_predicted"], b["observed_rate"], b["n"])
        for b in bins
        if b.get("n") and b.get("mean_predicted") is not None
    ]
    return _safe(charts.reliability_chart(points, chart_id=chart_id, title=title))


def forecast_svg(forecast: dict[str, Any], *, currency_symbol: str) -> SafeString:
    """The briefing's quarter forecast as a stacked bar with its P10–P90 bracket and the quota."""
    return _safe(
        charts.forecast_chart(
            won_so_far=forecast["won_so_far"],
            expected_open=forecast["expected_open"],
            expected_new=forecast["expected_new"],
            p10=forecast["p10"],
            p90=forecast["p90"],
            quota=forecast.get("quota"),
            chart_id="forecast",
            title=f"{forecast['quarter']['label']} bookings forecast",
            currency_symbol=currency_symbol,
            width=1000,
        )
    )


def lorenz_svg(concentration: dict[str, Any]) -> SafeString:
    """Lorenz curves of won revenue and of the open pipeline."""
    curves = [
        (name, concentration[key]["lorenz"])
        for key, name in (("won_revenue", "Won revenue"), ("open_pipeline", "Open pipeline"))
        if concentration.get(key) and concentration[key].get("lorenz")
    ]
    return _safe(
        charts.lorenz_chart(curves, chart_id="lorenz", title="Share of value held by the largest deals")
    )
