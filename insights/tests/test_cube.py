"""Deal-size bands and cube roll-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.cube import AMOUNT_LADDER, Cube, band_edges_from_histogram, band_of_bins, size_band_labels


def _bins(amounts: np.ndarray) -> np.ndarray:
    # PostgreSQL's width_bucket(amount, ladder): number of ladder values <= amount.
    return np.searchsorted(np.asarray(AMOUNT_LADDER), amounts, side="right")


def test_band_edges_are_round_amounts_near_the_quartiles() -> None:
    amounts = np.random.default_rng(3).lognormal(np.log(15_000), 0.9, 5_000)
    bins, counts = np.unique(_bins(amounts), return_counts=True)
    edges = band_edges_from_histogram(bins=bins, counts=counts)
    assert len(edges) == 3
    assert all(edge in AMOUNT_LADDER for edge in edges)
    shares_below = [(amounts < edge).mean() for edge in edges]
    assert np.allclose(shares_below, [0.25, 0.5, 0.75], atol=0.06)


def test_band_labels_read_as_amount_ranges() -> None:
    assert size_band_labels([8_000.0, 20_000.0, 60_000.0]) == ["< $8k", "$8k–$20k", "$20k–$60k", "≥ $60k"]


def test_a_deal_on_an_edge_belongs_to_the_band_above() -> None:
    edges = [8_000.0, 20_000.0]
    assert list(band_of_bins(_bins(np.array([7_999.0, 8_000.0, 19_999.0, 20_000.0])), edges)) == [0, 1, 1, 2]


def test_cube_rollup_sums_match_a_direct_group_by() -> None:
    rng = np.random.default_rng(5)
    rows = 300
    frame = pd.DataFrame(
        {
            "period": rng.integers(0, 2, rows),
            "industry": rng.choice(["SaaS", "FinTech", ""], rows),
            "region": rng.choice(["Europe", "APAC"], rows),
            "product_type": rng.choice(["Core", "Pro"], rows),
            "lead_source": rng.choice(["Partner", "Inbound"], rows),
            "stage": rng.choice(["Demo", "Proposal"], rows),
            "amount_bin": rng.integers(30, 50, rows),
            "n": rng.integers(1, 5, rows),
        }
    )
    frame["won"] = rng.integers(0, 2, rows) * frame["n"]
    for column in ("amount_sum", "won_amount_sum", "amount_sq_sum", "won_amount_sq_sum"):
        frame[column] = rng.random(rows)
    rolled = Cube(frame, band_edges=[1000.0]).rollup([("industry", "region")])
    expected = frame.groupby(["period", "industry", "region"])[["n", "won", "amount_sum"]].sum()
    for record in rolled.to_dict("records"):
        key = (record["period"], *record["values"])
        assert record["n"] == expected.loc[key, "n"]
        assert record["won"] == expected.loc[key, "won"]
        assert np.isclose(record["amount_sum"], expected.loc[key, "amount_sum"])
    assert len(rolled) == len(expected)
