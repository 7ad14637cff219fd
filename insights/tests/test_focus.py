"""Focus list: the planted weak lead source is deprioritised; on the reference file nothing is."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from insights import briefing, focus, stats
from salesintel.testing.data import DEMO_ANCHOR

DEMO_AS_OF = DEMO_ANCHOR + dt.timedelta(days=1)
# The reference file's last close is 2024-07-20.
SKYGENI_AS_OF = dt.date(2024, 7, 21)


def segments(*rows: tuple[str, int, int, float, float]) -> pd.DataFrame:
    """(dimension, n, won, Σ won amount, Σ won amount²) per segment."""
    return pd.DataFrame(rows, columns=["dimension", "n", "won", "won_amount_sum", "won_amount_sq_sum"])


def from_deals(dimension: str, amounts: np.ndarray, won: np.ndarray) -> tuple[str, int, int, float, float]:
    y = np.where(won, amounts, 0.0)
    return dimension, len(y), int(won.sum()), float(y.sum()), float((y**2).sum())


def test_the_planted_weak_lead_source_is_deprioritised_on_the_demo(demo_tenant):
    result = briefing.focus_list(tenant=demo_tenant, as_of=DEMO_AS_OF)
    partner = next(
        s for s in result["segments"] if s["dimension"] == "lead_source" and s["value"] == "Partner"
    )
    assert partner["label"] == "deprioritise"
    assert partner["ci_high"] < result["tenant_average"]
    assert "Partner" in result["deprioritise"]


def test_on_the_reference_file_no_segment_has_evidence_either_way(skygeni_tenant):
    result = briefing.focus_list(tenant=skygeni_tenant, as_of=SKYGENI_AS_OF)
    assert len(result["segments"]) > 100  # singles and pairs of four dimensions with ≥ 30 deals
    assert {s["label"] for s in result["segments"]} == {"no evidence either way"}
    assert result["focus"] == result["keep"] == result["deprioritise"] == []


def test_expected_revenue_per_opportunity_is_win_rate_times_average_won_amount():
    rng = np.random.default_rng(2)
    amounts, won = rng.lognormal(10, 0.5, 400), rng.random(400) < 0.4
    table, _, _ = focus.focus_table(
        segments(from_deals("region", amounts, won)), overall_n=400, overall_won_amount=1.0, min_sample=30
    )
    row = table.iloc[0]
    assert row["expected_revenue"] == pytest.approx(won.mean() * amounts[won].mean())
    assert row["win_rate"] * row["avg_won_amount"] == pytest.approx(row["expected_revenue"])


def test_the_interval_is_the_delta_method_interval_of_the_product():
    rng = np.random.default_rng(3)
    amounts, won = rng.lognormal(10, 0.5, 500), rng.random(500) < 0.3
    table, _, confidence = focus.focus_table(
        segments(from_deals("region", amounts, won)), overall_n=500, overall_won_amount=1.0, min_sample=30
    )
    p, mean, sd = won.mean(), amounts[won].mean(), amounts[won].std(ddof=0)
    # Var(p·m) ≈ m²·p(1 − p)/n + p²·s²/(n·p), s² the won amounts' variance.
    delta_se = np.sqrt(mean**2 * p * (1 - p) / 500 + p**2 * sd**2 / (500 * p))
    half = table.iloc[0]["ci_high"] - table.iloc[0]["expected_revenue"]
    assert half == pytest.approx(stats.z_value(confidence) * delta_se, rel=0.01)


def test_labels_need_the_interval_to_clear_the_average():
    rng = np.random.default_rng(4)
    n = 2_000
    rows = [
        from_deals("a", np.full(n, 100.0), rng.random(n) < 0.80),  # 80 per opportunity: far above
        from_deals("b", np.full(n, 100.0), rng.random(n) < 0.56),  # 56: above, by less than 25%
        from_deals("c", np.full(n, 100.0), rng.random(n) < 0.20),  # 20: below
        from_deals("d", np.full(40, 100.0), rng.random(40) < 0.55),  # too few deals to tell
    ]
    table, average, _ = focus.focus_table(
        segments(*rows), overall_n=10_000, overall_won_amount=500_000.0, min_sample=30
    )
    labels = dict(zip(table["dimension"], table["label"], strict=True))
    assert average == 50.0
    assert labels == {"a": "focus", "b": "keep", "c": "deprioritise", "d": "no evidence either way"}


def test_segments_below_the_minimum_sample_are_not_ranked():
    table, _, confidence = focus.focus_table(
        segments(("a", 29, 10, 1e5, 1e9), ("b", 30, 10, 1e5, 1e9)),
        overall_n=59,
        overall_won_amount=2e5,
        min_sample=30,
    )
    assert table["dimension"].tolist() == ["b"]
    assert confidence == pytest.approx(0.95)


def test_the_intervals_are_simultaneous_over_every_segment_ranked():
    rows = [(f"s{i}", 100, 40, 4e5, 4e9) for i in range(10)]
    _, _, confidence = focus.focus_table(
        segments(*rows), overall_n=1_000, overall_won_amount=4e6, min_sample=30
    )
    assert confidence == pytest.approx(1 - 0.05 / 10)


def test_a_pair_that_only_repeats_its_single_segments_label_is_implied():
    table = pd.DataFrame(
        {
            "dimension": ["lead_source", "product_type", "product_type+lead_source", "industry+lead_source"],
            "parts": [("Partner",), ("Core",), ("Core", "Partner"), ("SaaS", "Inbound")],
            "label": ["deprioritise", "no evidence either way", "deprioritise", "deprioritise"],
        }
    )
    assert focus.implied_by_single(table).tolist() == [False, False, True, False]
