"""The demo generator's deals as scoring sees them, without a database (for the pure tests)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from deals.demo import ORACLE_COLUMNS, generate_deals, generate_stage_history, snapshot_win_probability
from scoring.features import training_snapshots

DEMO_ANCHOR = dt.date(2026, 11, 15)
PIPELINE = ["Qualified", "Demo", "Proposal", "Negotiation", "Closed"]


@dataclass(frozen=True)
class DemoFrames:
    generated: pd.DataFrame  # the generator's frame (closed then open), oracle columns included
    training: pd.DataFrame  # training snapshots of the closed deals; deal_id = generated row + 1
    open_deals: pd.DataFrame  # the open deals as a deal frame (scoring.features)


def _deal_frame(generated: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    moves = history[history["from_stage"] != ""].groupby("deal_id").size()
    return pd.DataFrame(
        {
            "deal_id": np.arange(1, len(generated) + 1),
            "crm_id": generated["deal_id"].to_numpy(),
            "created_date": generated["created_date"],
            "closed_date": generated["closed_date"],
            "stage": generated["deal_stage"],
            "stage_entered_date": generated["stage_entered_date"],
            "amount": generated["deal_amount"].astype(float),
            "rep": generated["rep_name"].fillna(""),
            "industry": generated["industry"],
            "region": generated["region"],
            "product_type": generated["product_type"],
            "lead_source": generated["lead_source"],
            "stage_moves": generated["deal_id"].map(moves).fillna(0).astype(int).to_numpy(),
            "won": (generated["outcome"] == "Won").to_numpy(),
        }
    )


def demo_frames(*, n_closed: int = 5000, n_open: int = 600) -> DemoFrames:
    generated = generate_deals(anchor=DEMO_ANCHOR, n_closed=n_closed, n_open=n_open)
    history = generate_stage_history(generated.drop(columns=list(ORACLE_COLUMNS)))
    deals = _deal_frame(generated, history)
    ids = dict(zip(generated["deal_id"], deals["deal_id"], strict=True))
    changes = history.assign(deal_id=history["deal_id"].map(ids))
    is_closed = (generated["outcome"] != "").to_numpy()
    training = training_snapshots(deals[is_closed], changes, pipeline=PIPELINE)
    return DemoFrames(
        generated=generated, training=training, open_deals=deals[~is_closed].reset_index(drop=True)
    )


def snapshot_oracle(frames: DemoFrames, deal_ids: np.ndarray) -> np.ndarray:
    """The generator's true win probability of each training deal as replayed (same snapshot)."""
    generated = frames.generated
    stage = generated["deal_stage"].to_numpy(dtype=object).copy()
    days = np.zeros(len(generated))
    rows = frames.training["deal_id"].to_numpy() - 1
    stage[rows] = frames.training["stage"].to_numpy()
    days[rows] = frames.training["days_in_stage"].to_numpy()
    probability = snapshot_win_probability(generated, anchor=DEMO_ANCHOR, stage=stage, days_in_stage=days)
    return probability[np.asarray(deal_ids) - 1]
