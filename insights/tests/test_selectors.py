"""The reads other apps use: typical winning cycle, time in stage, pipeline value, segment metrics."""

from __future__ import annotations

import datetime as dt

import pytest

from insights import selectors
from insights.tests.factories import DealSpec, deals_create, stage_history_create
from tenants.context import tenant_context
from tenants.models import Tenant

JUNE = dt.date(2024, 6, 10)


def test_winning_cycle_is_the_median_and_p75_of_won_deals_per_segment(in_tenant_a: Tenant) -> None:
    deals_create(
        [DealSpec(JUNE, cycle_days=days, product_type="Core") for days in (10, 20, 30, 40)]
        + [DealSpec(JUNE, cycle_days=100, product_type="Pro")]
        + [DealSpec(JUNE, status="lost", cycle_days=500, product_type="Core")]
    )
    cycles = selectors.winning_cycle_days(
        closed_from=dt.date(2024, 1, 1), closed_before=dt.date(2024, 7, 1), dimensions=["product_type"]
    )
    assert cycles[("Core",)] == selectors.CycleStat(median_days=25.0, p75_days=32.5, n_won=4)
    assert cycles[("Pro",)].median_days == 100.0
    assert cycles[()].n_won == 5


def test_stage_time_p75_measures_won_deals_time_in_each_stage(in_tenant_a: Tenant) -> None:
    deals = deals_create([DealSpec(JUNE, cycle_days=30), DealSpec(JUNE, cycle_days=30)])
    for deal, demo_days in zip(deals, (4, 8), strict=True):
        created = deal.created_date
        stage_history_create(
            deal,
            [
                ("", "Qualified", created),
                ("Qualified", "Demo", created + dt.timedelta(days=5)),
                ("Demo", "Proposal", created + dt.timedelta(days=5 + demo_days)),
            ],
        )
    times = selectors.stage_time_p75_days(closed_from=dt.date(2024, 1, 1), closed_before=dt.date(2024, 7, 1))
    assert times[("Qualified", ())].quantile_days == 5.0
    assert times[("Demo", ())].quantile_days == 7.0  # p75 of 4 and 8
    assert times[("Demo", ())].median_days == 6.0
    assert times[("Proposal", ())].n_won == 2


def test_pipeline_value_weights_open_deals_by_segment_priors(in_tenant_a: Tenant) -> None:
    deals_create(
        [DealSpec(JUNE, status="won", lead_source="Referral")] * 40
        + [DealSpec(JUNE, status="lost", lead_source="Partner")] * 40
        + [
            DealSpec(None, amount=1_000, lead_source="Referral"),
            DealSpec(None, amount=1_000, lead_source="Partner"),
        ]
    )
    value = selectors.pipeline_value(as_of=dt.date(2024, 7, 1))
    assert (value.n_open, value.raw, value.method) == (2, 2_000.0, "segment_prior")
    assert 0 < value.weighted < value.raw
    assert value.gap == pytest.approx(value.raw - value.weighted)


def test_pipeline_value_uses_scores_when_given_and_priors_for_the_rest(in_tenant_a: Tenant) -> None:
    deals = deals_create(
        [DealSpec(JUNE)] * 6 + [DealSpec(JUNE, status="lost")] * 4 + [DealSpec(None, amount=1_000)] * 2
    )
    as_of = dt.date(2024, 7, 1)
    prior = selectors.segment_prior_rates(as_of=as_of)["prior_rate"].iloc[0]
    value = selectors.pipeline_value(as_of=as_of, probabilities={deals[-1].pk: 0.25})
    assert value.method == "scores+segment_prior"
    assert value.weighted == pytest.approx(250 + 1_000 * prior)


def test_stage_entries_count_moves_into_each_stage_of_deals_closed_in_the_range(in_tenant_a: Tenant) -> None:
    (deal,) = deals_create([DealSpec(JUNE)])
    stage_history_create(
        deal, [("", "Qualified", dt.date(2024, 5, 1)), ("Qualified", "Demo", dt.date(2024, 5, 9))]
    )
    entries = selectors.stage_entry_counts(closed_from=dt.date(2024, 6, 1), closed_before=dt.date(2024, 7, 1))
    assert entries == {"Qualified": 1, "Demo": 1}


def test_segment_metrics_flag_nothing_below_the_minimum_sample(in_tenant_a: Tenant) -> None:
    deals_create(
        [DealSpec(JUNE, status="won", region="Europe")] * 10
        + [DealSpec(JUNE, status="lost", region="APAC")] * 10
    )
    rows = selectors.segment_metric_list(
        closed_from=dt.date(2024, 6, 1),
        closed_before=dt.date(2024, 7, 1),
        dimension_sets=[("region",)],
        min_sample=30,
    )
    regions = [row for row in rows if row["dimension_key"] == "region"]
    assert {row["value"] for row in regions} == {"Europe", "APAC"}
    assert all(row["below_min_sample"] and row["flag"] is None for row in regions)


def test_segment_metrics_of_one_tenant_never_include_another_tenants_deals(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    with tenant_context(tenant_b):
        deals_create([DealSpec(JUNE)] * 5)
    with tenant_context(tenant_a):
        deals_create([DealSpec(JUNE, status="lost")] * 3)
        rows = selectors.segment_metric_list(
            closed_from=dt.date(2024, 6, 1), closed_before=dt.date(2024, 7, 1), dimension_sets=[()]
        )
    assert [(row["n"], row["won"]) for row in rows] == [(3, 0)]


@pytest.mark.parametrize("dimensions", [(), ("product_type",), ("size_band",), ("industry", "size_band")])
def test_winning_cycle_of_a_tenant_with_no_won_deals_is_empty(in_tenant_a: Tenant, dimensions) -> None:
    deals_create([DealSpec(JUNE, status="lost", cycle_days=40), DealSpec(None)])  # lost and open only

    cycles = selectors.winning_cycle_days(
        closed_from=dt.date(2024, 1, 1), closed_before=dt.date(2024, 7, 1), dimensions=dimensions
    )

    assert cycles == {}


def test_winning_cycle_of_a_tenant_with_no_deals_at_all_is_empty(in_tenant_a: Tenant) -> None:
    cycles = selectors.winning_cycle_days(
        closed_from=dt.date(2024, 1, 1), closed_before=dt.date(2024, 7, 1), dimensions=["size_band"]
    )

    assert cycles == {}
