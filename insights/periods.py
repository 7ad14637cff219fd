"""Reporting periods on a tenant's fiscal calendar: months, quarters and fiscal years.

Pure date arithmetic, no Django. A period is a half-open range of dates [start, end). Fiscal
quarters and years start on the first day of the tenant's ``fiscal_year_start_month``; a
fiscal year is named after the calendar year in which it *ends* (a year starting in February
2024 is FY2025), and a calendar fiscal year (start month 1) is named plainly ("2024Q2").

"As of" semantics (docs/insights.md): ``as_of`` is the first day *not* yet known, i.e. the
analysis sees deals closed before ``as_of``. By default the current period is the last
*complete* period before ``as_of`` — on 15 August, the current quarter is Q2 (April–June),
because a quarter to date is biased toward deals that close fast. With ``to_date=True`` the
current period is the period to date (1 July – 14 August) and the baseline is the same
number of days of the baseline period, so like is compared with like.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Compare(enum.StrEnum):
    PREVIOUS = "previous"
    YEAR_AGO = "year_ago"


MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A half-open date range [start, end) on a fiscal calendar.

    ``end`` is exclusive; ``last_day`` is the last date inside. A period cut short by ``as_of``
    (period to date) has ``partial`` set and its ``end`` before the full period's end.
    """

    kind: PeriodKind
    start: dt.date
    end: dt.date
    fiscal_year_start_month: int = 1
    partial: bool = False

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def full_end(self) -> dt.date:
        return add_months(self.start, MONTHS_IN[self.kind])

    @property
    def fiscal_year(self) -> int:
        """The calendar year in which this period's fiscal year ends."""
        months_into_year = (self.start.month - self.fiscal_year_start_month) % 12
        year_start = add_months(self.start, -months_into_year)
        return year_start.year if self.fiscal_year_start_month == 1 else year_start.year + 1

    @property
    def label(self) -> str:
        """``2024-05``, ``2024Q2``, ``2024``; ``FY2025Q1``, ``FY2025`` on a non-calendar year."""
        prefix = "" if self.fiscal_year_start_month == 1 else "FY"
        if self.kind == PeriodKind.MONTH:
            base = f"{self.start:%Y-%m}"
        elif self.kind == PeriodKind.QUARTER:
            quarter = (self.start.month - self.fiscal_year_start_month) % 12 // 3 + 1
            base = f"{prefix}{self.fiscal_year}Q{quarter}"
        else:
            base = f"{prefix}{self.fiscal_year}"
        return f"{base} to {self.last_day.isoformat()}" if self.partial else base

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def shifted(self, periods: int) -> Period:
        """The full period ``periods`` steps later (negative: earlier) on the same calendar."""
        start = add_months(self.start, periods * MONTHS_IN[self.kind])
        return Period(
            kind=self.kind,
            start=start,
            end=add_months(start, MONTHS_IN[self.kind]),
            fiscal_year_start_month=self.fiscal_year_start_month,
        )

    def previous(self) -> Period:
        return self.shifted(-1)

    def year_ago(self) -> Period:
        return self.shifted(-(12 // MONTHS_IN[self.kind]))

    def truncated(self, days: int) -> Period:
        """The first ``days`` days of this period (the whole period if it is shorter)."""
        end = min(self.start + dt.timedelta(days=days), self.full_end)
        return replace(self, end=end, partial=end < self.full_end)

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "kind": str(self.kind),
            "start": self.start.isoformat(),
            "end": self.last_day.isoformat(),
            "partial": self.partial,
        }


def period_containing(*, day: dt.date, kind: PeriodKind | str, fiscal_year_start_month: int = 1) -> Period:
    """The full month, fiscal quarter or fiscal year that contains ``day``."""
    kind = PeriodKind(kind)
    if not 1 <= fiscal_year_start_month <= 12:
        raise ValueError("fiscal_year_start_month must be 1..12.")
    months_into_period = (day.month - fiscal_year_start_month) % MONTHS_IN[kind]
    if kind == PeriodKind.MONTH:
        months_into_period = 0
    start = add_months(day.replace(day=1), -months_into_period)
    return Period(
        kind=kind,
        start=start,
        end=add_months(start, MONTHS_IN[kind]),
        fiscal_year_start_month=fiscal_year_start_month,
    )


@dataclass(frozen=True)
class ComparedPeriods:
    current: Period
    baseline: Period
    previous: Period
    year_ago: Period


def periods_compared(
    *,
    as_of: dt.date,
    kind: PeriodKind | str = PeriodKind.QUARTER,
    compare: Compare | str = Compare.PREVIOUS,
    fiscal_year_start_month: int = 1,
    to_date: bool = False,
) -> ComparedPeriods:
    """The current period as of ``as_of`` (exclusive) and the periods it is compared with.

    Default: current = the last complete period ending on or before ``as_of``. With
    ``to_date``: current = the period containing the day before ``as_of``, cut at ``as_of``, and
    the previous and year-ago periods are cut to the same number of days. ``baseline`` is the
    previous or the year-ago period according to ``compare``.
    """
    kind, compare = PeriodKind(kind), Compare(compare)
    if to_date:
        full = period_containing(
            day=as_of - dt.timedelta(days=1), kind=kind, fiscal_year_start_month=fiscal_year_start_month
        )
        current = full.truncated((as_of - full.start).days)
        previous = full.previous().truncated(current.days)
        year_ago = full.year_ago().truncated(current.days)
    else:
        current = period_containing(
            day=as_of, kind=kind, fiscal_year_start_month=fiscal_year_start_month
        ).previous()
        previous, year_ago = current.previous(), current.year_ago()
    baseline = previous if compare == Compare.PREVIOUS else year_ago
    return ComparedPeriods(current=current, baseline=baseline, previous=previous, year_ago=year_ago)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)
