"""Synthetic deals with a known signal, for the pure model and backtest tests (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.features import FEATURE_COLUMNS

PARTNER_LOG_ODDS = -1.2
DAYS_IN_STAGE_LOG_ODDS_PER_LOG_DAY = -0.6


def synthetic_training_frame(*, n: int = 3000, seed: int = 0, signal: bool = True) -> pd.DataFrame:
    """A training frame (features + deal_id, won, closed_date) over two years of closings.

    With ``signal`` the outcome depends on lead source (Partner: PARTNER_LOG_ODDS) and on days
    in stage; without it every deal wins with probability 0.45 whatever its features.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "industry": rng.choice(["SaaS", "FinTech", "Retail"], n),
            "region": rng.choice(["Europe", "APAC"], n),
            "product_type": rng.choice(["Core", "Pro"], n),
            "lead_source": rng.choice(["Inbound", "Referral", "Partner"], n),
            "stage": rng.choice(["Qualified", "Demo", "Proposal"], n),
            "rep": rng.choice([f"rep_{i}" for i in range(12)], n),
            "amount": np.round(np.exp(rng.normal(9.5, 0.8, n))),
            "age_days": rng.integers(1, 150, n).astype(float),
            "days_in_stage": rng.integers(0, 90, n).astype(float),
            "stage_moves": rng.integers(0, 4, n).astype(float),
        }
    )
    if signal:
        log_odds = (
            0.3
            + PARTNER_LOG_ODDS * (frame["lead_source"] == "Partner")
            + DAYS_IN_STAGE_LOG_ODDS_PER_LOG_DAY * (np.log1p(frame["days_in_stage"]) - np.log1p(30))
        )
        probability = 1 / (1 + np.exp(-log_odds.to_numpy()))
    else:
        probability = np.full(n, 0.45)
    frame["true_probability"] = probability
    frame["won"] = rng.random(n) < probability
    frame["deal_id"] = np.arange(1, n + 1)
    frame["closed_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    assert set(FEATURE_COLUMNS) <= set(frame.columns)
    return frame
