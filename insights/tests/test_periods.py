"""Fiscal periods, labels, and what "current" means as of a date."""

from __future__ import annotations

import datetime as dt

from insights.periods import Compare, PeriodKind, period_containing, periods_compared


def test_calendar_quarter_is_labelled_like_the_reference_readme() -> None:
    period = period_containing(day=dt.date(2024, 5, 17), kind=PeriodKind.QUARTER)
    assert (period.label, period.start, period.end) == ("2024Q2", dt.date(2024, 4, 1), dt.date(2024, 7, 1))


def test_fiscal_year_is_named_after_the_year_it_ends_in() -> None:
    period = period_containing(day=dt.date(2024, 2, 10), kind=PeriodKind.QUARTER, fiscal_year_start_month=2)
    assert (period.label, period.start) == ("FY2025Q1", dt.date(2024, 2, 1))
    assert (
        period_containing(day=dt.date(2025, 1, 31), kind="year", fiscal_year_start_month=2).label == "FY2025"
    )


def test_january_is_the_last_fiscal_quarter_of_a_year_starting_in_february() -> None:
    period = period_containing(day=dt.date(2025, 1, 15), kind=PeriodKind.QUARTER, fiscal_year_start_month=2)
    assert (period.label, period.start, period.end) == ("FY2025Q4", dt.date(2024, 11, 1), dt.date(2025, 2, 1))


def test_current_period_is_the_last_complete_one_before_as_of() -> None:
    compared = periods_compared(as_of=dt.date(2024, 8, 15), kind=PeriodKind.QUARTER)
    assert compared.current.label == "2024Q2"
    assert compared.baseline.label == "2024Q1"
    assert compared.year_ago.label == "2023Q2"


def test_as_of_the_first_day_of_a_quarter_makes_the_quarter_that_just_ended_current() -> None:
    compared = periods_compared(as_of=dt.date(2024, 7, 1), kind=PeriodKind.QUARTER, compare=Compare.YEAR_AGO)
    assert compared.current.label == "2024Q2"
    assert compared.baseline.label == "2023Q2"


def test_period_to_date_compares_the_same_number_of_days() -> None:
    compared = periods_compared(as_of=dt.date(2024, 8, 15), kind=PeriodKind.QUARTER, to_date=True)
    assert (compared.current.start, compared.current.end) == (dt.date(2024, 7, 1), dt.date(2024, 8, 15))
    assert compared.current.partial
    assert (compared.previous.start, compared.previous.end) == (dt.date(2024, 4, 1), dt.date(2024, 5, 16))
    assert compared.current.days == compared.previous.days == compared.year_ago.days == 45


def test_previous_month_crosses_the_year_boundary() -> None:
    compared = periods_compared(as_of=dt.date(2025, 1, 1), kind=PeriodKind.MONTH)
    assert (compared.current.label, compared.previous.label, compared.year_ago.label) == (
        "2024-12",
        "2024-11",
        "2023-12",
    )
