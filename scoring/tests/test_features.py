"""scoring.features: what a deal knew on the day it is scored, and closed deals replayed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.features import features_as_of, snapshot_fraction, training_snapshots

PIPELINE = ["Qualified", "Demo", "Proposal", "Negotiation", "Closed"]


def _deal(**overrides: object) -> dict:
    row = {
        "deal_id": 1,
        "created_date": pd.Timestamp("2025-01-01"),
        "closed_date": pd.NaT,
        "stage": "Proposal",
        "stage_entered_date": pd.Timestamp("2025-02-01"),
        "amount": 12_000.0,
        "rep": "Ada",
        "industry": "SaaS",
        "region": "Europe",
        "product_type": "Pro",
        "lead_source": "Partner",
        "stage_moves": 2,
        "won": False,
    }
    row.update(overrides)
    return row


def _history(*moves: tuple[int, str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"deal_id": d, "from_stage": f, "to_stage": t, "changed_on": pd.Timestamp(on)}
            for d, f, t, on in moves
        ],
        columns=["deal_id", "from_stage", "to_stage", "changed_on"],
    )


def test_it_counts_age_and_time_in_stage_to_the_scoring_date() -> None:
    features = features_as_of(pd.DataFrame([_deal()]), as_of=pd.Timestamp("2025-03-01"), pipeline=PIPELINE)

    assert features.loc[0, "age_days"] == 59
    assert features.loc[0, "days_in_stage"] == 28
    assert features.loc[0, "stage_moves"] == 2


def test_it_assumes_the_whole_age_in_stage_when_the_crm_never_said() -> None:
    deals = pd.DataFrame([_deal(stage_entered_date=pd.NaT)])

    features = features_as_of(deals, as_of=pd.Timestamp("2025-03-01"), pipeline=PIPELINE)

    assert features.loc[0, "days_in_stage"] == features.loc[0, "age_days"] == 59


def test_it_takes_the_stage_position_as_moves_when_there_is_no_history() -> None:
    deals = pd.DataFrame([_deal(stage_moves=0, stage="Negotiation")])

    features = features_as_of(deals, as_of=pd.Timestamp("2025-03-01"), pipeline=PIPELINE)

    assert features.loc[0, "stage_moves"] == 3


def test_it_never_counts_negative_days_for_dates_in_the_future() -> None:
    deals = pd.DataFrame([_deal(stage_entered_date=pd.Timestamp("2025-06-01"))])

    features = features_as_of(deals, as_of=pd.Timestamp("2025-03-01"), pipeline=PIPELINE)

    assert features.loc[0, "days_in_stage"] == 0


def test_snapshot_fractions_are_stable_per_deal_and_spread_over_the_deals_life() -> None:
    ids = np.arange(1, 10_001)

    first, again = snapshot_fraction(ids), snapshot_fraction(ids)

    assert np.array_equal(first, again)
    assert first.min() >= 0.0 and first.max() < 1.0
    assert abs(first.mean() - 0.5) < 0.02


def test_a_closed_deal_with_history_is_replayed_in_the_stage_it_was_in_on_the_snapshot_day() -> None:
    closed = pd.DataFrame(
        [
            _deal(
                deal_id=7,
                created_date=pd.Timestamp("2025-01-01"),
                closed_date=pd.Timestamp("2025-04-11"),
                stage="Negotiation",
                stage_entered_date=pd.Timestamp("2025-03-01"),
                stage_moves=3,
                won=True,
            )
        ]
    )
    history = _history(
        (7, "", "Qualified", "2025-01-01"),
        (7, "Qualified", "Demo", "2025-01-20"),
        (7, "Demo", "Proposal", "2025-02-10"),
        (7, "Proposal", "Negotiation", "2025-03-01"),
    )
    snapshot = closed["created_date"] + pd.Timedelta(days=int(snapshot_fraction(np.array([7]))[0] * 100))

    rows = training_snapshots(closed, history, pipeline=PIPELINE)

    expected = history[history["changed_on"] <= snapshot.iloc[0]].iloc[-1]
    assert rows.loc[0, "snapshot_date"] == snapshot.iloc[0]
    assert rows.loc[0, "stage"] == expected["to_stage"]
    assert rows.loc[0, "days_in_stage"] == (snapshot.iloc[0] - expected["changed_on"]).days
    assert rows.loc[0, "stage_moves"] == (history["changed_on"] <= snapshot.iloc[0]).sum() - 1
    assert bool(rows.loc[0, "won"]) is True


def test_a_closed_deal_without_history_is_taken_as_it_was_at_close() -> None:
    closed = pd.DataFrame(
        [
            _deal(
                closed_date=pd.Timestamp("2025-03-01"), stage="Demo", stage_entered_date=pd.NaT, stage_moves=0
            )
        ]
    )

    rows = training_snapshots(closed, _history(), pipeline=PIPELINE)

    assert rows.loc[0, "snapshot_date"] == pd.Timestamp("2025-03-01")
    assert rows.loc[0, "stage"] == "Demo"
    assert rows.loc[0, "age_days"] == 59
    assert rows.loc[0, "stage_moves"] == 1


@pytest.mark.parametrize("resolution", ["datetime64[s]", "datetime64[us]", "datetime64[ns]"])
def test_it_accepts_dates_of_any_resolution(resolution: str) -> None:
    closed = pd.DataFrame([_deal(closed_date=pd.Timestamp("2025-03-01"))]).astype(
        {"created_date": resolution, "closed_date": resolution}
    )
    history = _history((1, "", "Qualified", "2025-01-01")).astype({"changed_on": "datetime64[s]"})

    rows = training_snapshots(closed, history, pipeline=PIPELINE)

    assert len(rows) == 1
