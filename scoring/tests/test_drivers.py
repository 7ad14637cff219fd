"""scoring.drivers: risk bands, top drivers and their plain-language labels (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.drivers import band_of, driver_table, driver_text, top_driver_slots

GROUPS = ("lead_source", "days_in_stage", "amount", "rep")
TYPICAL = {"amount": 20_000.0, "days_in_stage": 15.0, "days_in_stage_by_stage": {"Proposal": 21.0}}


def _features(**overrides: object) -> pd.DataFrame:
    row = {
        "lead_source": "Partner",
        "days_in_stage": 47.0,
        "stage": "Proposal",
        "amount": 123_456.0,
        "rep": "Ada",
    }
    row.update(overrides)
    return pd.DataFrame([row])


@pytest.mark.parametrize(
    ("probability", "band"),
    [
        (0.9, "low"),
        (0.5, "low"),
        (0.4999, "medium"),
        (0.3, "medium"),
        (0.2, "high"),
        (0.15, "high"),
        (0.149, "critical"),
        (0.0, "critical"),
    ],
)
def test_bands_follow_the_documented_cut_offs(probability: float, band: str) -> None:
    assert band_of(np.array([probability]))[0] == band


def test_driver_text_uses_one_decimal_and_a_true_minus_sign() -> None:
    assert driver_text("Partner lead source", -0.42) == "Partner lead source: −0.4"
    assert driver_text("Mid-Market region", 0.25) == "Mid-Market region: +0.2"


def test_top_slots_hold_the_largest_positives_then_the_most_negative() -> None:
    contributions = np.array([[0.5, -0.2, 0.01, -0.9, 0.3]])

    slots, values = top_driver_slots(contributions, k=3)

    assert slots.tolist() == [[0, 4, -1, 3, 1, -1]]
    assert values[0, :2].tolist() == [0.5, 0.3]


def test_labels_say_what_the_deal_is_and_what_is_typical() -> None:
    table = driver_table(
        groups=GROUPS,
        contributions=np.array([[-0.42, -0.61, -0.2, 0.3]]),
        features=_features(),
        typical=TYPICAL,
    )

    entries = table.rows()[0]

    assert [entry["label"] for entry in entries] == [
        "Rep Ada",
        "47 days in Proposal (typical 21)",
        "Partner lead source",
        "Amount 120k (typical 20k)",
    ]
    assert [entry["value"] for entry in entries] == [0.3, -0.61, -0.42, -0.2]
    assert table.text_halves()[1][0].startswith("47 days in Proposal (typical 21): −0.6")


def test_a_count_of_one_is_singular() -> None:
    features = pd.DataFrame(
        [
            {"stage": "Proposal", "days_in_stage": 1, "age_days": 1, "stage_moves": 1},
            {"stage": "Proposal", "days_in_stage": 2, "age_days": 0, "stage_moves": 0},
        ]
    )
    table = driver_table(
        groups=("days_in_stage", "age_days", "stage_moves"),
        contributions=np.array([[-0.5, -0.4, -0.3], [-0.5, -0.4, -0.3]]),
        features=features,
        typical={**TYPICAL, "age_days": 30.0, "stage_moves": 2.0},
    )

    labels = [[entry["label"] for entry in row] for row in table.rows()]

    assert labels == [
        ["1 day in Proposal (typical 21)", "Open 1 day (typical 30)", "1 stage move (typical 2)"],
        ["2 days in Proposal (typical 21)", "Open 0 days (typical 30)", "0 stage moves (typical 2)"],
    ]


def test_a_deal_with_only_negative_drivers_lists_them_alone() -> None:
    table = driver_table(
        groups=GROUPS, contributions=np.array([[-0.4, -0.1, 0.0, 0.0]]), features=_features(), typical=TYPICAL
    )

    assert [entry["feature"] for entry in table.rows()[0]] == [
        "lead_source",
        "days_in_stage",
    ]
    assert table.text_halves() == (
        [""],
        ["Partner lead source: −0.4; 47 days in Proposal (typical 21): −0.1"],
    )


def test_tiny_contributions_are_not_listed() -> None:
    table = driver_table(
        groups=GROUPS,
        contributions=np.array([[0.01, -0.02, 0.0, 0.04]]),
        features=_features(),
        typical=TYPICAL,
    )

    assert table.rows() == [[]]


def test_crm_text_with_quotes_and_backslashes_is_kept_verbatim() -> None:
    table = driver_table(
        groups=GROUPS,
        contributions=np.array([[-0.5, 0.0, 0.0, 0.0]]),
        features=_features(lead_source='Web\\"form"\t'),
        typical=TYPICAL,
    )

    assert table.rows()[0][0]["label"] == 'Web\\"form"\t lead source'


def test_labels_for_many_deals_are_built_per_unique_combination() -> None:
    n = 20_000
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        {
            "lead_source": rng.choice(["Partner", "Inbound"], n),
            "days_in_stage": rng.integers(0, 60, n).astype(float),
            "stage": rng.choice(["Demo", "Proposal"], n),
            "amount": rng.integers(1_000, 90_000, n).astype(float),
            "rep": rng.choice(["Ada", "Bo"], n),
        }
    )
    # Like a model's: each contribution is a function of the deal's value of that feature.
    contributions = np.column_stack(
        [
            np.where(features["lead_source"] == "Partner", -0.8, 0.2),
            -0.3 * np.log1p(features["days_in_stage"]) + 0.9,
            -0.2 * (np.log(features["amount"]) - 10),
            np.where(features["rep"] == "Ada", 0.1, -0.1),
        ]
    )

    table = driver_table(groups=GROUPS, contributions=contributions, features=features, typical=TYPICAL)

    assert len(table.entries) < n / 10
    rows = table.rows()
    assert len(rows) == n and all(1 <= len(row) <= 6 for row in rows[:500])


def test_text_halves_split_positive_from_negative_drivers() -> None:
    table = driver_table(
        groups=GROUPS,
        contributions=np.array([[-0.42, -0.61, 0.2, 0.3]]),
        features=_features(),
        typical=TYPICAL,
    )

    positive, negative = table.text_halves()

    assert positive == ["Rep Ada: +0.3; Amount 120k (typical 20k): +0.2"]
    assert negative == ["47 days in Proposal (typical 21): −0.6; Partner lead source: −0.4"]
