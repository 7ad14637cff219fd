"""segment_metrics_refresh stores a month of segment metrics, idempotently."""

from __future__ import annotations

import datetime as dt

import pytest

from insights.models import SegmentMetric
from insights.selectors import segment_value_key
from insights.services import segment_metrics_refresh
from insights.tests.factories import DealSpec, deals_create
from tenants.models import Tenant

JUNE = dt.date(2024, 6, 10)


def _june_deals() -> None:
    deals_create(
        [DealSpec(JUNE, status="won", region="Europe", amount=5_000)] * 20
        + [DealSpec(JUNE, status="lost", region="APAC", amount=50_000)] * 15
        + [DealSpec(dt.date(2024, 7, 2), status="won")] * 4
    )


def test_refresh_stores_the_months_overall_row(in_tenant_a: Tenant) -> None:
    _june_deals()
    segment_metrics_refresh(month=JUNE)
    overall = SegmentMetric.objects.get(month=dt.date(2024, 6, 1), dimension_key="all")
    assert (overall.n, overall.won) == (35, 20)
    assert overall.win_rate == pytest.approx(20 / 35, abs=1e-6)
    assert overall.ci_low < overall.win_rate < overall.ci_high


def test_refresh_stores_singles_and_pairs_keyed_by_display_values(in_tenant_a: Tenant) -> None:
    _june_deals()
    segment_metrics_refresh(month=JUNE)
    europe = SegmentMetric.objects.get(dimension_key="region", value_key=segment_value_key(["Europe"]))
    assert (europe.n, europe.won, europe.values) == (20, 20, ["Europe"])
    assert SegmentMetric.objects.filter(dimension_key="industry+region").count() == 2


def test_running_the_refresh_twice_creates_no_duplicates(in_tenant_a: Tenant) -> None:
    _june_deals()
    first = segment_metrics_refresh(month=JUNE)
    rows = set(SegmentMetric.objects.values_list("dimension_key", "value_key", "n"))
    second = segment_metrics_refresh(month=JUNE)
    assert first == second == SegmentMetric.objects.count()
    assert set(SegmentMetric.objects.values_list("dimension_key", "value_key", "n")) == rows


def test_refresh_removes_segments_that_no_longer_exist(in_tenant_a: Tenant) -> None:
    _june_deals()
    segment_metrics_refresh(month=JUNE)
    from deals.models import Deal

    Deal.objects.filter(region="APAC").update(region="India")
    segment_metrics_refresh(month=JUNE)
    regions = set(SegmentMetric.objects.filter(dimension_key="region").values_list("value_key", flat=True))
    assert regions == {segment_value_key(["Europe"]), segment_value_key(["India"])}


def test_months_are_stored_separately(in_tenant_a: Tenant) -> None:
    _june_deals()
    segment_metrics_refresh(month=JUNE)
    segment_metrics_refresh(month=dt.date(2024, 7, 31))
    assert list(SegmentMetric.objects.filter(dimension_key="all").values_list("month", "n")) == [
        (dt.date(2024, 6, 1), 35),
        (dt.date(2024, 7, 1), 4),
    ]
