"""Server-rendered SVG charts: pure functions from numbers to SVG markup (no Django import).

Every function returns a complete ``<svg>`` string with a ``<title>`` and ``<desc>`` for screen
readers; pages also show the same numbers as a table. All text that reaches the markup goes
through :func:`html.escape`, so labels taken from CRM data (deal, rep or segment names) can
never inject markup. Rates are fractions (0.23 = 23%); the charts print them as percentages.
Styling comes from CSS classes (``static/css/app.css``), so the markup carries no colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class RatePoint:
    """One period of a rate series. ``rate`` is None when the period has no closed deals."""

    label: str
    rate: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0


@dataclass(frozen=True)
class WaterfallStep:
    """A bar of a waterfall. ``kind`` is "total" (drawn from zero) or "delta" (from the running sum)."""

    label: str
    value: float
    kind: str = "delta"


@dataclass(frozen=True)
class IntervalRow:
    """A row of an interval (forest) chart: estimate with its interval, and optionally the raw value."""

    label: str
    estimate: float
    low: float
    high: float
    n: int
    # "below" or "above" when the row differs from the reference beyond noise, else "".
    flag: str = ""
    raw: float | None = None


@dataclass(frozen=True)
class ReliabilityBin:
    """A calibration bin: mean predicted probability vs observed frequency over ``n`` deals."""

    predicted: float
    observed: float
    n: int


@dataclass(frozen=True)
class ValuePoint:
    """A plain (label, value) point, e.g. a deal's win probability on a date."""

    label: str
    value: float


def _f(value: float) -> str:
    """Coordinates with one decimal: small markup, no visible rounding."""
    return f"{value:.1f}"


def _pct(rate: float, digits: int = 0) -> str:
    return f"{rate * 100:.{digits}f}%"


def _pts(change: float) -> str:
    sign = "+" if change > 0 else "−" if change < 0 else "±"
    return f"{sign}{abs(change) * 100:.1f} pts"


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Round tick values covering [low, high] (about ``count`` of them)."""
    if high <= low:
        high = low + 1e-9 if high == low else low
        if high == low:
            return [low]
    raw_step = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step * (1 - 1e-9))
    start = math.floor(low / step + 1e-9) * step
    ticks = []
    value = start
    while value <= high + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _open_svg(chart_id: str, width: int, height: int, title: str, description: str) -> list[str]:
    cid = escape(chart_id, quote=True)
    return [
        f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def _text(x: float, y: float, content: str, *, anchor: str = "start", cls: str = "", extra: str = "") -> str:
    class_attr = f' class="{cls}"' if cls else ""
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{class_attr}{extra}>{escape(content)}</text>'


def trend_chart(
    points: Sequence[RatePoint],
    *,
    chart_id: str,
    title: str,
    reference: float | None = None,
    reference_label: str = "",
    width: int = 760,
    height: int = 260,
) -> str:
    """A rate over periods: line with dots, a shaded interval band, optional dashed reference line.

    Periods without a rate leave a gap. The y axis starts at zero so changes are not exaggerated.
    """
    left, right, top, bottom = 44, 16, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [p for p in points if p.rate is not None]
    highs = [p.high if p.high is not None else p.rate for p in known] + (
        [reference] if reference is not None else []
    )
    y_max = max([h for h in highs if h is not None] + [0.1])
    ticks = nice_ticks(0.0, min(1.0, y_max * 1.1))
    y_top = ticks[-1] if ticks[-1] > 0 else 1.0

    def x_of(index: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * index / (len(points) - 1)

    def y_of(rate: float) -> float:
        return top + plot_h * (1 - min(rate, y_top) / y_top)

    description = "; ".join(
        f"{p.label}: {_pct(p.rate, 1)} (95% interval {_pct(p.low or 0, 1)}–{_pct(p.high or 0, 1)}, n={p.n})"
        if p.rate is not None
        else f"{p.label}: no closed deals"
        for p in points
    )
    out = _open_svg(chart_id, width, height, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}"/>')
        out.append(_text(left - 8, y + 4, _pct(tick), anchor="end"))
    out.append("</g>")

    # The interval band, one polygon per run of consecutive known periods.
    runs: list[list[int]] = []
    for index, point in enumerate(points):
        if point.rate is None or point.low is None or point.high is None:
            runs.append([])
            continue
        if not runs or not runs[-1]:
            runs.append([])
        runs[-1].append(index)
    for run in (r for r in runs if r):
        upper = [f"{_f(x_of(i))},{_f(y_of(points[i].high or 0))}" for i in run]
        lower = [f"{_f(x_of(i))},{_f(y_of(points[i].low or 0))}" for i in reversed(run)]
        if len(run) == 1:
            i = run[0]
            x = x_of(i)
            upper = [
                f"{_f(x - 4)},{_f(y_of(points[i].high or 0))}",
                f"{_f(x + 4)},{_f(y_of(points[i].high or 0))}",
            ]
            lower = [
                f"{_f(x + 4)},{_f(y_of(points[i].low or 0))}",
                f"{_f(x - 4)},{_f(y_of(points[i].low or 0))}",
            ]
        out.append(f'<polygon class="band-area" points="{" ".join(upper + lower)}"/>')

    if reference is not None:
        y = y_of(reference)
        out.append(f'<line class="ref" x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}"/>')
        if reference_label:
            out.append(_text(width - right, y - 5, reference_label, anchor="end"))

    segments: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.rate is None:
            segments.append([])
            continue
        segments[-1].append(f"{_f(x_of(index))},{_f(y_of(point.rate))}")
    for segment in segments:
        if len(segment) > 1:
            out.append(f'<polyline class="series" points="{" ".join(segment)}"/>')
    for index, point in enumerate(points):
        if point.rate is not None:
            out.append(
                f'<circle class="dot" cx="{_f(x_of(index))}" cy="{_f(y_of(point.rate))}" r="3.5">'
                f"<title>{escape(point.label)}: {_pct(point.rate, 1)} (n={point.n})</title></circle>"
            )

    for index in _label_indices(len(points), 12):
        out.append(_text(x_of(index), height - 8, points[index].label, anchor="middle"))
    out.append("</svg>")
    return "".join(out)


def _label_indices(count: int, most: int) -> list[int]:
    """Which x positions get a label: evenly spaced, at most ``most``, always the last one."""
    if count == 0:
        return []
    every = max(1, math.ceil(count / most))
    indices = list(range(count - 1, -1, -every))
    return sorted(indices)


def waterfall_chart(
    steps: Sequence[WaterfallStep],
    *,
    chart_id: str,
    title: str,
    width: int = 760,
    height: int = 280,
) -> str:
    """Bridge from one rate to another: totals from zero, deltas floating on the running sum.

    Deltas are labelled in points, totals in percent. The y range is cropped to the data (a
    waterfall reads the steps, not the level) and the crop is shown by the axis ticks.
    """
    left, right, top, bottom = 44, 12, 22, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    levels: list[tuple[float, float]] = []
    running = 0.0
    for step in steps:
        if step.kind == "total":
            levels.append((0.0, step.value))
            running = step.value
        else:
            levels.append((running, running + step.value))
            running += step.value
    tops = [max(a, b) for a, b in levels] or [0.1]
    delta_bottoms = [min(a, b) for (a, b), s in zip(levels, steps, strict=True) if s.kind != "total"]
    # Totals are drawn from the axis floor; the floor follows the deltas, not zero.
    span_low = min([*delta_bottoms, *(s.value for s in steps if s.kind == "total")] or [0.0])
    span_high = max(tops)
    pad = max((span_high - span_low) * 0.6, 0.02)
    ticks = nice_ticks(max(0.0, span_low - pad), min(1.0, span_high + pad * 0.4))
    y_low, y_high = ticks[0], ticks[-1]
    if y_high <= y_low:
        y_high = y_low + 0.01

    def y_of(rate: float) -> float:
        clamped = max(y_low, min(y_high, rate))
        return top + plot_h * (1 - (clamped - y_low) / (y_high - y_low))

    slot = plot_w / max(len(steps), 1)
    bar_w = min(64.0, slot * 0.6)
    description = "; ".join(
        f"{s.label}: {_pct(s.value, 1) if s.kind == 'total' else _pts(s.value)}" for s in steps
    )
    out = _open_svg(chart_id, width, height, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}"/>')
        out.append(_text(left - 8, y + 4, _pct(tick), anchor="end"))
    out.append("</g>")
    for index, (step, (start, end)) in enumerate(zip(steps, levels, strict=True)):
        x = left + slot * index + (slot - bar_w) / 2
        y1, y2 = y_of(max(start, end)), y_of(min(start, end))
        if step.kind == "total":
            cls, label = "bar-total", _pct(step.value, 1)
            y1, y2 = y_of(step.value), y_of(y_low)
        else:
            cls, label = ("bar-pos" if step.value >= 0 else "bar-neg"), _pts(step.value)
        bar_h = max(y2 - y1, 1.5)
        out.append(
            f'<rect class="{cls}" x="{_f(x)}" y="{_f(y1)}" width="{_f(bar_w)}" height="{_f(bar_h)}" rx="3">'
            f"<title>{escape(step.label)}: {escape(label)}</title></rect>"
        )
        out.append(_text(x + bar_w / 2, y1 - 6, label, anchor="middle", cls="value-label"))
        if index + 1 < len(steps):
            y_conn = y_of(end)
            out.append(
                f'<line class="connector" x1="{_f(x + bar_w)}" x2="{_f(x + slot)}" '
                f'y1="{_f(y_conn)}" y2="{_f(y_conn)}"/>'
            )
        words = _wrap(step.label, 16)
        for line_no, line in enumerate(words[:2]):
            out.append(_text(x + bar_w / 2, height - bottom + 18 + 13 * line_no, line, anchor="middle"))
    out.append("</svg>")
    return "".join(out)


def _wrap(text: str, width: int) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    if len(lines) > 2:
        lines = [lines[0], (lines[1] + " " + " ".join(lines[2:]))[: width - 1] + "…"]
    return lines or [""]


def interval_chart(
    rows: Sequence[IntervalRow],
    *,
    chart_id: str,
    title: str,
    reference: float | None = None,
    reference_label: str = "",
    width: int = 760,
    row_height: int = 26,
) -> str:
    """A forest plot: one row per item, its 95% interval as a line, the estimate as a dot.

    ``raw`` (e.g. a rep's unshrunk rate) is drawn as a hollow dot; a row whose ``flag`` is
    "below" is drawn in the alert colour, "above" in the positive one. The dashed line is the
    reference (e.g. the team's rate).
    """
    label_w, right, top, bottom = min(170, round(width * 0.24)), 60, 10, 26
    height = top + bottom + row_height * max(len(rows), 1)
    plot_w = width - label_w - right
    values = [r.low for r in rows] + [r.high for r in rows] + [r.raw for r in rows if r.raw is not None]
    if reference is not None:
        values.append(reference)
    # The axis starts at zero so that distances between rates are read honestly.
    ticks = nice_ticks(0.0, min(1.0, max([*values, 0.1]) * 1.08))
    x_lo, x_hi = ticks[0], ticks[-1]

    def x_of(rate: float) -> float:
        return label_w + plot_w * (rate - x_lo) / ((x_hi - x_lo) or 1)

    description = "; ".join(
        f"{r.label}: {_pct(r.estimate, 1)} (95% interval {_pct(r.low, 1)}–{_pct(r.high, 1)}, n={r.n})"
        + (f" — {r.flag} the reference beyond noise" if r.flag else "")
        for r in rows
    )
    out = _open_svg(chart_id, width, height, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in ticks:
        x = x_of(tick)
        out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{top}" y2="{height - bottom}"/>')
        out.append(_text(x, height - 8, _pct(tick), anchor="middle"))
    out.append("</g>")
    if reference is not None:
        x = x_of(reference)
        out.append(f'<line class="ref" x1="{_f(x)}" x2="{_f(x)}" y1="{top - 4}" y2="{height - bottom}"/>')
    for index, row in enumerate(rows):
        y = top + row_height * index + row_height / 2
        flagged = {"below": " flagged", "above": " above"}.get(row.flag, "")
        label = row.label if len(row.label) <= 24 else row.label[:23] + "…"
        out.append(_text(label_w - 10, y + 4, label, anchor="end", cls="label"))
        out.append(
            f'<line class="ci{flagged}" x1="{_f(x_of(row.low))}" x2="{_f(x_of(row.high))}" '
            f'y1="{_f(y)}" y2="{_f(y)}"/>'
        )
        if row.raw is not None:
            out.append(f'<circle class="point raw" cx="{_f(x_of(row.raw))}" cy="{_f(y)}" r="3.5"/>')
        out.append(
            f'<circle class="point{flagged}" cx="{_f(x_of(row.estimate))}" cy="{_f(y)}" r="4.5">'
            f"<title>{escape(row.label)}: {_pct(row.estimate, 1)} "
            f"({_pct(row.low, 1)}–{_pct(row.high, 1)}, n={row.n})</title></circle>"
        )
        out.append(_text(width - right + 8, y + 4, f"n={row.n}", cls="muted"))
    if reference is not None and reference_label:
        out.append(_text(x_of(reference) + 4, top + 2, reference_label))
    out.append("</svg>")
    return "".join(out)


def reliability_chart(
    bins: Sequence[ReliabilityBin],
    *,
    chart_id: str,
    title: str,
    size: int = 320,
) -> str:
    """Calibration: predicted probability (x) vs observed win frequency (y), dot area by n.

    Points on the dashed diagonal mean the scores meant what they said.
    """
    margin = 40
    plot = size - margin - 14
    max_n = max([b.n for b in bins] + [1])

    def x_of(p: float) -> float:
        return margin + plot * p

    def y_of(p: float) -> float:
        return 10 + plot * (1 - p)

    description = "; ".join(
        f"predicted {_pct(b.predicted)}: observed {_pct(b.observed)} (n={b.n})" for b in bins
    )
    out = _open_svg(chart_id, size, size, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{_f(x_of(tick))}" x2="{_f(x_of(tick))}" y1="10" y2="{_f(10 + plot)}"/>')
        out.append(
            f'<line x1="{margin}" x2="{_f(margin + plot)}" y1="{_f(y_of(tick))}" y2="{_f(y_of(tick))}"/>'
        )
        out.append(_text(x_of(tick), size - 12, _pct(tick), anchor="middle"))
        out.append(_text(margin - 6, y_of(tick) + 4, _pct(tick), anchor="end"))
    out.append("</g>")
    out.append(
        f'<line class="diag" x1="{_f(x_of(0))}" y1="{_f(y_of(0))}" x2="{_f(x_of(1))}" y2="{_f(y_of(1))}"/>'
    )
    ordered = sorted((b for b in bins if b.n > 0), key=lambda b: b.predicted)
    if len(ordered) > 1:
        path = " ".join(f"{_f(x_of(b.predicted))},{_f(y_of(b.observed))}" for b in ordered)
        out.append(f'<polyline class="series" points="{path}"/>')
    for b in ordered:
        radius = 3 + 7 * math.sqrt(b.n / max_n)
        out.append(
            f'<circle class="dot" cx="{_f(x_of(b.predicted))}" cy="{_f(y_of(b.observed))}" r="{_f(radius)}">'
            f"<title>predicted {_pct(b.predicted)}, observed {_pct(b.observed)}, n={b.n}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def line_chart(
    points: Sequence[ValuePoint],
    *,
    chart_id: str,
    title: str,
    width: int = 520,
    height: int = 180,
    as_percent: bool = True,
) -> str:
    """A small line of values over time (a deal's win probability history), y from 0 to 100%."""
    left, right, top, bottom = 40, 12, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(index: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + plot_w * index / (len(points) - 1)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, value)))

    description = "; ".join(f"{p.label}: {_pct(p.value)}" for p in points)
    out = _open_svg(chart_id, width, height, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(tick)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{_f(y)}" y2="{_f(y)}"/>')
        out.append(_text(left - 6, y + 4, _pct(tick) if as_percent else f"{tick:g}", anchor="end"))
    out.append("</g>")
    if len(points) > 1:
        path = " ".join(f"{_f(x_of(i))},{_f(y_of(p.value))}" for i, p in enumerate(points))
        out.append(f'<polyline class="series" points="{path}"/>')
    for index, point in enumerate(points):
        out.append(
            f'<circle class="dot" cx="{_f(x_of(index))}" cy="{_f(y_of(point.value))}" r="3">'
            f"<title>{escape(point.label)}: {_pct(point.value)}</title></circle>"
        )
    for index in _label_indices(len(points), 6):
        out.append(_text(x_of(index), height - 8, points[index].label, anchor="middle"))
    out.append("</svg>")
    return "".join(out)


def heat_colour(rate: float, reference: float, spread: float = 0.2) -> str:
    """Background colour for a heatmap cell: red below ``reference``, green above, neutral at it.

    ``spread`` is the rate difference that reaches full colour. Returns a CSS ``rgb()`` string.
    Saturation is capped so dark text keeps a contrast of at least 4.5:1 on every cell.
    """
    t = max(-1.0, min(1.0, (rate - reference) / spread))
    neutral = (244, 241, 234)
    target = (18, 160, 107) if t >= 0 else (217, 71, 43)
    weight = abs(t) * 0.75
    r, g, b = (round(n + (c - n) * weight) for n, c in zip(neutral, target, strict=True))
    return f"rgb({r}, {g}, {b})"


def forecast_chart(
    *,
    won_so_far: float,
    expected_open: float,
    expected_new: float,
    p10: float,
    p90: float,
    quota: float | None,
    chart_id: str,
    title: str,
    currency_symbol: str = "$",
    width: int = 760,
    height: int = 120,
) -> str:
    """The quarter forecast as one stacked bar (won so far, expected from open deals, expected
    new business) with the P10–P90 interval as a bracket and the quota as a line."""
    left, right, top = 16, 16, 30
    bar_h = 30
    total = won_so_far + expected_open + expected_new
    x_max = max(total, p90, quota or 0.0) * 1.08 or 1.0
    plot_w = width - left - right

    def x_of(value: float) -> float:
        return left + plot_w * value / x_max

    def money(value: float) -> str:
        if abs(value) >= 1e6:
            return f"{currency_symbol}{value / 1e6:.1f}M"
        if abs(value) >= 1e3:
            return f"{currency_symbol}{value / 1e3:.0f}k"
        return f"{currency_symbol}{value:.0f}"

    description = (
        f"Won so far {money(won_so_far)}, expected from open deals {money(expected_open)}, expected new "
        f"business {money(expected_new)}; 80% interval {money(p10)}–{money(p90)}"
        + (f"; quota {money(quota)}" if quota else "")
    )
    out = _open_svg(chart_id, width, height, title, description)
    segments = [
        ("bar-total", won_so_far, "won so far"),
        ("bar-pos", expected_open, "open deals"),
        ("bar-neutral", expected_new, "new business"),
    ]
    start = 0.0
    for cls, value, label in segments:
        if value <= 0:
            continue
        x1, x2 = x_of(start), x_of(start + value)
        out.append(
            f'<rect class="{cls}" x="{_f(x1)}" y="{top}" width="{_f(max(x2 - x1, 1))}" height="{bar_h}">'
            f"<title>{escape(label)}: {escape(money(value))}</title></rect>"
        )
        if x2 - x1 > 70:
            out.append(_text((x1 + x2) / 2, top + bar_h / 2 + 4, label, anchor="middle", cls="on-bar"))
        start += value
    y_bracket = top + bar_h + 14
    low_x, high_x = _f(x_of(p10)), _f(x_of(p90))
    out.append(f'<line class="ci" x1="{low_x}" x2="{high_x}" y1="{y_bracket}" y2="{y_bracket}"/>')
    for x in (low_x, high_x):
        out.append(f'<line class="ci" x1="{x}" x2="{x}" y1="{y_bracket - 5}" y2="{y_bracket + 5}"/>')
    out.append(_text(x_of(p10), y_bracket + 18, f"P10 {money(p10)}", anchor="middle"))
    out.append(_text(x_of(p90), y_bracket + 18, f"P90 {money(p90)}", anchor="middle"))
    out.append(_text(x_of(total), top - 8, f"expected {money(total)}", anchor="middle", cls="value-label"))
    if quota:
        out.append(
            f'<line class="quota" x1="{_f(x_of(quota))}" x2="{_f(x_of(quota))}" y1="{top - 4}" '
            f'y2="{top + bar_h + 4}"/>'
        )
        out.append(_text(x_of(quota) + 4, top - 8, f"quota {money(quota)}", cls="label"))
    out.append("</svg>")
    return "".join(out)


def lorenz_chart(
    curves: Sequence[tuple[str, Sequence[Sequence[float]]]],
    *,
    chart_id: str,
    title: str,
    size: int = 300,
) -> str:
    """Lorenz curves: share of deals (x, largest first) against share of value (y).

    ``curves`` is (name, [[x, y], …]) with x and y in 0…1. The diagonal is perfect equality.
    """
    margin = 40
    plot = size - margin - 14

    def x_of(share: float) -> float:
        return margin + plot * share

    def y_of(share: float) -> float:
        return 10 + plot * (1 - share)

    description = "; ".join(
        f"{name}: top 20% of deals hold {_pct(_share_at(points, 0.2))}" for name, points in curves
    )
    out = _open_svg(chart_id, size, size, title, description or "No data.")
    out.append('<g class="grid">')
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        out.append(f'<line x1="{_f(x_of(tick))}" x2="{_f(x_of(tick))}" y1="10" y2="{_f(10 + plot)}"/>')
        out.append(
            f'<line x1="{margin}" x2="{_f(margin + plot)}" y1="{_f(y_of(tick))}" y2="{_f(y_of(tick))}"/>'
        )
        out.append(_text(x_of(tick), size - 12, _pct(tick), anchor="middle"))
        out.append(_text(margin - 6, y_of(tick) + 4, _pct(tick), anchor="end"))
    out.append("</g>")
    out.append(
        f'<line class="diag" x1="{_f(x_of(0))}" y1="{_f(y_of(0))}" x2="{_f(x_of(1))}" y2="{_f(y_of(1))}"/>'
    )
    for index, (name, points) in enumerate(curves):
        path = " ".join(f"{_f(x_of(p[0]))},{_f(y_of(p[1]))}" for p in points)
        label = f"<title>{escape(name)}</title>"
        out.append(f'<polyline class="series series-{index}" points="{path}">{label}</polyline>')
    out.append("</svg>")
    return "".join(out)


def _share_at(points: Sequence[Sequence[float]], x: float) -> float:
    """The curve's y at ``x`` (linear between points)."""
    previous = (0.0, 0.0)
    for point in points:
        if point[0] >= x:
            span = point[0] - previous[0]
            weight = (x - previous[0]) / span if span else 1.0
            return previous[1] + weight * (point[1] - previous[1])
        previous = (point[0], point[1])
    return previous[1]
