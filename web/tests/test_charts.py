"""The SVG chart builders: escaped labels, accessible titles, sane geometry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from web import charts


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own markup, parsed to check it is well formed


def test_labels_from_crm_data_are_escaped_in_every_chart():
    evil = '<script>alert("x")</script>'
    svgs = [
        charts.trend_chart([charts.RatePoint(evil, 0.3, 0.2, 0.4, 50)], chart_id="t", title=evil),
        charts.waterfall_chart([charts.WaterfallStep(evil, 0.3, "total")], chart_id="w", title="w"),
        charts.interval_chart([charts.IntervalRow(evil, 0.3, 0.2, 0.4, 40)], chart_id="i", title="i"),
        charts.line_chart([charts.ValuePoint(evil, 0.4)], chart_id="l", title="l"),
    ]
    for svg in svgs:
        assert "<script>" not in svg
        parse(svg)


def test_a_chart_is_labelled_by_its_title_and_description():
    svg = charts.trend_chart(
        [charts.RatePoint("Jan", 0.25, 0.2, 0.3, 80)], chart_id="trend", title="Win rate by month"
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "trend-title trend-desc"
    assert "Jan: 25.0% (95% interval 20.0%–30.0%, n=80)" in svg


def test_months_without_deals_break_the_line_instead_of_drawing_zero():
    points = [
        charts.RatePoint("Jan", 0.3, 0.2, 0.4, 50),
        charts.RatePoint("Feb", 0.35, 0.25, 0.45, 50),
        charts.RatePoint("Mar", None),
        charts.RatePoint("Apr", 0.3, 0.2, 0.4, 50),
        charts.RatePoint("May", 0.32, 0.22, 0.42, 50),
    ]
    svg = charts.trend_chart(points, chart_id="t", title="t")
    assert svg.count("<polyline") == 2
    assert "Mar: no closed deals" in svg


def test_the_waterfall_labels_deltas_in_points_and_totals_in_percent():
    steps = [
        charts.WaterfallStep("Q1", 0.40, "total"),
        charts.WaterfallStep("Mix", -0.03),
        charts.WaterfallStep("Rate", 0.01),
        charts.WaterfallStep("Q2", 0.38, "total"),
    ]
    svg = charts.waterfall_chart(steps, chart_id="w", title="w")
    assert "40.0%" in svg and "38.0%" in svg
    assert "−3.0 pts" in svg and "+1.0 pts" in svg
    assert svg.count('class="bar-neg"') == 1 and svg.count('class="bar-pos"') == 1


def test_flagged_rows_of_an_interval_chart_are_marked():
    rows = [
        charts.IntervalRow("Ann", 0.42, 0.35, 0.5, 120),
        charts.IntervalRow("Bob", 0.2, 0.12, 0.29, 90, flag="below", raw=0.18),
        charts.IntervalRow("Cy", 0.6, 0.52, 0.68, 150, flag="above"),
    ]
    svg = charts.interval_chart(rows, chart_id="r", title="Reps", reference=0.4, reference_label="Team")
    assert svg.count('class="ci flagged"') == 1
    assert 'class="point raw"' in svg
    assert svg.count('class="ci above"') == 1
    assert "Bob: 20.0% (95% interval 12.0%–29.0%, n=90) — below the reference beyond noise" in svg


def test_reliability_dots_sit_on_the_diagonal_when_predictions_are_right():
    svg = charts.reliability_chart(
        [charts.ReliabilityBin(0.25, 0.25, 100), charts.ReliabilityBin(0.75, 0.75, 50)],
        chart_id="rel",
        title="Calibration",
        size=320,
    )
    circles = re.findall(r'<circle class="dot" cx="([\d.]+)" cy="([\d.]+)"', svg)
    # On the diagonal, x - margin = plot - (y - top) for every point.
    for cx, cy in circles:
        assert abs((float(cx) - 40) - (266 - (float(cy) - 10))) < 0.2


def test_nice_ticks_cover_the_range_with_round_steps():
    assert charts.nice_ticks(0.0, 0.47) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert charts.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(0.3, 0.45, count=4) == [0.3, 0.35, 0.4, 0.45]


def test_heat_colours_are_neutral_at_the_reference_and_diverge_around_it():
    assert charts.heat_colour(0.3, 0.3) == "rgb(244, 241, 234)"
    red = charts.heat_colour(0.1, 0.3)
    green = charts.heat_colour(0.5, 0.3)
    assert red != green
    assert int(green.split(",")[1]) > int(red.split(",")[1])
