"""Sales velocity: open deals × win rate × average won amount ÷ median winning cycle, with its parts."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from insights import briefing, velocity
from salesintel.testing.data import DEMO_ANCHOR

DEMO_AS_OF = DEMO_ANCHOR + dt.timedelta(days=1)


def parts(**columns: list[float]) -> pd.DataFrame:
    defaults = {"dimension": ["x"], "values": [("a",)], "n_open": [10], "n": [100], "won": [40]}
    defaults |= {"won_amount_sum": [400_000.0], "median_cycle_won_days": [40.0]}
    return pd.DataFrame(defaults | columns)


def test_velocity_is_the_product_of_its_parts_per_day():
    row = velocity.velocity_table(parts(), min_sample=30).iloc[0]
    assert (row["win_rate"], row["avg_won_amount"]) == (0.4, 10_000.0)
    assert row["velocity_per_day"] == pytest.approx(10 * 0.4 * 10_000 / 40)


def test_a_segment_below_the_minimum_sample_shows_its_parts_but_no_velocity():
    row = velocity.velocity_table(parts(n=[20], won=[8]), min_sample=30).iloc[0]
    assert row["below_min_sample"]
    assert row["win_rate"] == 0.4
    assert math.isnan(row["velocity_per_day"])


def test_a_segment_that_never_won_has_no_velocity():
    row = velocity.velocity_table(
        parts(won=[0], won_amount_sum=[0.0], median_cycle_won_days=[math.nan]), min_sample=30
    ).iloc[0]
    assert math.isnan(row["velocity_per_day"])


def test_a_cycle_under_a_day_counts_as_one_day():
    row = velocity.velocity_table(parts(median_cycle_won_days=[0.0]), min_sample=30).iloc[0]
    assert row["velocity_per_day"] == pytest.approx(10 * 0.4 * 10_000)


def test_segments_are_sorted_fastest_first_with_undefined_ones_last():
    frame = pd.concat([parts(), parts(n_open=[50]), parts(n=[5], won=[2])], ignore_index=True).assign(
        values=[("a",), ("b",), ("c",)]
    )
    table = velocity.velocity_table(frame, min_sample=30)
    assert [values[0] for values in table["values"]] == ["b", "a", "c"]


def test_the_demo_tenants_velocity_shows_every_open_deal_and_its_parts(demo_tenant):
    result = briefing.sales_velocity(tenant=demo_tenant, as_of=DEMO_AS_OF)
    overall = result["overall"]
    assert overall["n_open"] == 600
    assert overall["velocity_per_day"] == pytest.approx(
        overall["n_open"]
        * overall["win_rate"]
        * overall["avg_won_amount"]
        / overall["median_cycle_won_days"],
        rel=1e-4,
    )
    reps = next(section for section in result["by_dimension"] if section["dimension"] == "rep")
    assert sum(rep["n_open"] for rep in reps["segments"]) == 600
    lead_sources = next(
        section for section in result["by_dimension"] if section["dimension"] == "lead_source"
    )
    by_value = {segment["value"]: segment for segment in lead_sources["segments"]}
    # The planted weak lead source converts worst, so it is the slowest despite half the pipeline.
    assert by_value["Partner"]["win_rate"] == min(segment["win_rate"] for segment in lead_sources["segments"])
