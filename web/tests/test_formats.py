"""Number formats of the templates: missing values print "—", never zero."""

from __future__ import annotations

from decimal import Decimal

from web.templatetags import web as tags


def test_rates_print_as_percent_and_changes_as_signed_points():
    assert tags.pct(0.2345) == "23.4%"
    assert tags.pct(0.5, 0) == "50%"
    assert tags.pts(0.031) == "+3.1 pts"
    assert tags.pts(-0.0449) == "−4.5 pts"
    assert tags.pts(0.0) == "±0.0 pts"


def test_missing_numbers_print_a_dash():
    assert tags.pct(None) == "—"
    assert tags.pts(None) == "—"
    assert tags.money(None) == "—"
    assert tags.days(None) == "—"
    assert tags.interval({"ci_low": None, "ci_high": 0.4}) == "—"


def test_intervals_read_from_dicts_and_pairs():
    assert tags.interval({"ci_low": 0.198, "ci_high": 0.271}) == "19.8–27.1%"
    assert tags.interval((0.1, 0.2), 0) == "10–20%"


def test_money_is_compact_with_the_tenants_currency():
    assert tags.money(Decimal("1234567")) == "$1.23M"
    assert tags.money(118000) == "$118k"
    assert tags.money(48200) == "$48.2k"
    assert tags.money(9500, "EUR") == "€9,500"
    assert tags.money(9500, "CHF") == "9,500 CHF"
    assert tags.money_full(Decimal("48000.40")) == "$48,000"


def test_days_are_pluralised():
    assert tags.days(1) == "1 day"
    assert tags.days(12) == "12 days"


def test_percent_width_is_clamped():
    assert tags.percent_width(5, 10) == "50.0%"
    assert tags.percent_width(50, 10) == "100.0%"
    assert tags.percent_width(1, 0) == "0%"
