"""On the SkyGeni reference file (essentially noise) the engine recomputes the README's facts and
reports nothing as significant: no segment, no rep, and 2024Q2 vs 2024Q1 is within noise."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from insights import selectors
from insights.periods import PeriodKind, period_containing
from insights.services import diagnose
from tenants.context import tenant_context
from tenants.models import Tenant

# /work/shared/data/README.md: win rate by close quarter (rate, n).
README_QUARTERS = {
    "2023Q1": (0.445, 328),
    "2023Q2": (0.450, 973),
    "2023Q3": (0.428, 1016),
    "2023Q4": (0.475, 1027),
    "2024Q1": (0.467, 990),
    "2024Q2": (0.438, 637),
    "2024Q3": (0.517, 29),
}
WHOLE_FILE = (dt.date(2023, 1, 1), dt.date(2024, 8, 1))


@pytest.fixture
def q2_diagnosis(skygeni_tenant: Tenant) -> dict[str, Any]:
    return diagnose(tenant=skygeni_tenant, as_of=dt.date(2024, 7, 1))


def test_overall_win_rate_is_the_readmes_45_26_percent(skygeni_tenant: Tenant) -> None:
    with tenant_context(skygeni_tenant):
        (overall,) = selectors.segment_metric_list(
            closed_from=WHOLE_FILE[0], closed_before=WHOLE_FILE[1], dimension_sets=[()]
        )
    assert (overall["n"], overall["won"]) == (5000, 2263)
    assert overall["win_rate"] == pytest.approx(0.4526, abs=5e-5)


def test_segment_counts_match_the_readme(skygeni_tenant: Tenant) -> None:
    with tenant_context(skygeni_tenant):
        rows = selectors.segment_metric_list(
            closed_from=WHOLE_FILE[0],
            closed_before=WHOLE_FILE[1],
            dimension_sets=[(key,) for key in selectors.DIMENSIONS],
        )
    counts = {key: sum(row["dimension_key"] == key for row in rows) for key in selectors.DIMENSIONS}
    assert counts == {
        "industry": 5,
        "region": 4,
        "product_type": 3,
        "lead_source": 4,
        "stage": 5,
        "size_band": 4,
        "rep": 25,
    }


def test_win_rate_by_close_quarter_matches_the_readme(skygeni_tenant: Tenant) -> None:
    for label, (rate, n) in README_QUARTERS.items():
        quarter = period_containing(
            day=dt.date(int(label[:4]), (int(label[-1]) - 1) * 3 + 1, 1), kind=PeriodKind.QUARTER
        )
        current = diagnose(tenant=skygeni_tenant, as_of=quarter.end)["win_rate"]["current"]
        assert (current["period"], current["n"]) == (label, n)
        assert current["rate"] == pytest.approx(rate, abs=5e-4)


def test_2024q2_vs_2024q1_is_not_distinguishable_from_noise(q2_diagnosis: dict[str, Any]) -> None:
    win_rate = q2_diagnosis["win_rate"]
    assert (win_rate["current"]["period"], win_rate["baseline"]["period"]) == ("2024Q2", "2024Q1")
    assert not win_rate["distinguishable_from_noise"]
    assert "Not distinguishable from noise" in win_rate["verdict"]
    assert win_rate["change_ci_low"] < 0 < win_rate["change_ci_high"]


def test_no_rep_is_flagged(q2_diagnosis: dict[str, Any]) -> None:
    assert q2_diagnosis["rep_summary"]["flagged"] == []
    assert not any(rep["flag"] for rep in q2_diagnosis["reps"])
    assert len(q2_diagnosis["reps"]) == 25


def test_no_segment_of_the_quarter_is_flagged(q2_diagnosis: dict[str, Any]) -> None:
    flags = [segment["flag"] for item in q2_diagnosis["segments"] for segment in item["segments"]]
    assert flags and not any(flags)


def test_no_contributor_to_the_change_is_significant(q2_diagnosis: dict[str, Any]) -> None:
    assert q2_diagnosis["top_contributors"]
    assert not any(item["significant"] for item in q2_diagnosis["top_contributors"])


def test_no_segment_or_pair_of_the_whole_file_is_flagged(skygeni_tenant: Tenant) -> None:
    with tenant_context(skygeni_tenant):
        rows = selectors.segment_metric_list(closed_from=WHOLE_FILE[0], closed_before=WHOLE_FILE[1])
    assert len(rows) > 300
    assert [row["value"] for row in rows if row["flag"]] == []
