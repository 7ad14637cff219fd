"""Sales velocity: how much revenue a segment's pipeline turns into per day, with its parts.

velocity = open deals × win rate × average won amount / median cycle of won deals (currency
per day). Pure pandas/numpy over one row per segment, no Django. The parts are kept in the
table so that a reader can see which one moves the number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def velocity_table(frame: pd.DataFrame, *, min_sample: int) -> pd.DataFrame:
    """Add win_rate, avg_won_amount, velocity_per_day and below_min_sample; sort fastest first.

    ``frame`` has one row per segment with n_open (deals open now), n and won (closed deals in
    the window), won_amount_sum and median_cycle_won_days. A segment with fewer than
    ``min_sample`` closed deals is ``below_min_sample``: its parts are shown but it gets no
    velocity (NaN), and neither does a segment with no won deal. Cycles under a day count as
    one day. Rows without a velocity sort last.
    """
    n = frame["n"].to_numpy(dtype=np.float64)
    won = frame["won"].to_numpy(dtype=np.float64)
    n_open = frame["n_open"].to_numpy(dtype=np.float64)
    won_amount = frame["won_amount_sum"].to_numpy(dtype=np.float64)
    cycle = frame["median_cycle_won_days"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(n > 0, won / np.where(n > 0, n, 1.0), np.nan)
        average = np.where(won > 0, won_amount / np.where(won > 0, won, 1.0), np.nan)
        velocity = n_open * win_rate * average / np.maximum(cycle, 1.0)
    below = n < min_sample
    usable = ~below & (won > 0) & np.isfinite(velocity)
    table = frame.assign(
        win_rate=win_rate,
        avg_won_amount=average,
        velocity_per_day=np.where(usable, velocity, np.nan),
        below_min_sample=below,
    )
    return table.sort_values("velocity_per_day", ascending=False, na_position="last", kind="stable")
