"""Reads behind the CRO briefing: set-based SQL that returns small tables for the pure modules.

Every query runs inside the active tenant's context (row-level security applies) and still
names ``tenant_id`` so the indexes that lead with it are used. Per-deal rows are read only for
the deals open on one day (the forecast simulates them) and for past deals that were won in
a few short windows (new-business amounts); everything else is aggregated in PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from insights.selectors import DIMENSIONS
from tenants.context import require_tenant_id


def _rows(sql: str, params: dict[str, Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [column.name for column in cursor.description], cursor.fetchall()


def _frame(sql: str, params: dict[str, Any]) -> pd.DataFrame:
    columns, rows = _rows(sql, params)
    return pd.DataFrame(rows, columns=columns)


def _open_at(as_of: dt.date) -> str:
    """Deals open at the start of ``as_of``: created before it and not closed before it."""
    return (
        "d.tenant_id = %(tenant_id)s AND d.created_date < %(as_of)s AND (d.status = 'open' "
        "OR (d.status IN ('won', 'lost') AND d.closed_date >= %(as_of)s))"
    )


def won_amount_between(*, start: dt.date, before: dt.date) -> tuple[float, int]:
    """(Σ amount, count) of deals won in [start, before)."""
    _, rows = _rows(
        """
        SELECT COALESCE(sum(d.amount::float8), 0), count(*) FROM deals_deal d
        WHERE d.tenant_id = %(tenant_id)s AND d.status = 'won'
          AND d.closed_date >= %(start)s AND d.closed_date < %(before)s
        """,
        {"tenant_id": require_tenant_id(), "start": start, "before": before},
    )
    return float(rows[0][0]), int(rows[0][1])


def open_deals_at(*, as_of: dt.date) -> pd.DataFrame:
    """Deals open at ``as_of`` with the stage they were in then and since when.

    Columns: deal_id, crm_id, name, amount, created_date, lead_source, product_type, stage,
    stage_entered (date or None). The stage is the last recorded stage change before
    ``as_of``; a deal without one that is still open uses its current stage when it entered
    it before ``as_of``; otherwise the stage is unknown ("") and the forecast uses the deal's
    age. One query (a lateral probe of the stage history's deal index per open deal).
    """
    return _frame(
        f"""
        SELECT d.id AS deal_id, d.crm_id, d.name, d.amount::float8 AS amount, d.created_date,
               d.lead_source, d.product_type,
               COALESCE(h.to_stage, CASE WHEN d.status = 'open' AND d.stage_entered_date < %(as_of)s
                                         THEN d.stage ELSE '' END) AS stage,
               COALESCE(h.changed_on, CASE WHEN d.status = 'open' AND d.stage_entered_date < %(as_of)s
                                           THEN d.stage_entered_date END) AS stage_entered
        FROM deals_deal d
        LEFT JOIN LATERAL (
            SELECT c.to_stage, c.changed_on FROM deals_dealstagechange c
            WHERE c.tenant_id = d.tenant_id AND c.deal_id = d.id AND c.changed_on < %(as_of)s
            ORDER BY c.changed_on DESC, c.id DESC LIMIT 1
        ) h ON true
        WHERE {_open_at(as_of)}
        ORDER BY d.id
        """,
        {"tenant_id": require_tenant_id(), "as_of": as_of},
    )


@dataclass(frozen=True)
class ClosingHistograms:
    """Closed deals' durations, as (days, won, count) histograms.

    ``cycle``: created → closed for every closed deal. ``stage``: entered stage → closed per
    stage, for deals with stage history (column ``stage``). ``with_history``: how many won
    and lost deals have stage history (the Bayes factors' denominators).
    """

    cycle: pd.DataFrame
    stage: pd.DataFrame
    with_history_won: int
    with_history_lost: int


def closing_histograms(*, closed_from: dt.date, closed_before: dt.date) -> ClosingHistograms:
    """Duration histograms of deals closed in [closed_from, closed_before). Three queries."""
    params = {"tenant_id": require_tenant_id(), "start": closed_from, "end": closed_before}
    cycle = _frame(
        """
        SELECT (d.status = 'won') AS won, greatest(d.closed_date - d.created_date, 0) AS days,
               count(*) AS count, COALESCE(sum(d.amount::float8), 0) AS amount
        FROM deals_deal d
        WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost')
          AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
        GROUP BY 1, 2
        """,
        params,
    )
    # A stage's entry is the first recorded move into it; a stage the deal only ever left was
    # its starting stage, entered on the created date.
    stage = _frame(
        """
        SELECT stage, won, greatest(closed_date - entered, 0) AS days, count(*) AS count,
               COALESCE(sum(amount), 0) AS amount
        FROM (
            SELECT c.deal_id, v.stage, (d.status = 'won') AS won, d.closed_date, d.amount::float8 AS amount,
                   COALESCE(min(c.changed_on) FILTER (WHERE v.moved_in), min(d.created_date)) AS entered
            FROM deals_deal d
            JOIN deals_dealstagechange c ON c.deal_id = d.id AND c.tenant_id = d.tenant_id
            CROSS JOIN LATERAL (VALUES (c.to_stage, true), (c.from_stage, false)) AS v(stage, moved_in)
            WHERE d.tenant_id = %(tenant_id)s AND c.tenant_id = %(tenant_id)s
              AND d.status IN ('won', 'lost') AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
              AND v.stage <> ''
            GROUP BY c.deal_id, v.stage, d.status, d.closed_date, d.amount
        ) entries
        GROUP BY 1, 2, 3
        """,
        params,
    )
    _, rows = _rows(
        """
        SELECT count(*) FILTER (WHERE d.status = 'won'), count(*) FILTER (WHERE d.status = 'lost')
        FROM deals_deal d
        WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost')
          AND d.closed_date >= %(start)s AND d.closed_date < %(end)s
          AND EXISTS (SELECT 1 FROM deals_dealstagechange c
                      WHERE c.tenant_id = d.tenant_id AND c.deal_id = d.id)
        """,
        params,
    )
    return ClosingHistograms(
        cycle=cycle,
        stage=stage,
        with_history_won=int(rows[0][0]),
        with_history_lost=int(rows[0][1]),
    )


def won_created_within(*, windows: Sequence[tuple[dt.date, dt.date]]) -> pd.DataFrame:
    """Deals created and won inside each window [start, end): columns window, amount (ordered
    by both). One query."""
    if not windows:
        return pd.DataFrame(columns=["window", "amount"])
    params: dict[str, Any] = {"tenant_id": require_tenant_id()}
    branches = []
    for index, (start, end) in enumerate(windows):
        params[f"start_{index}"], params[f"end_{index}"] = start, end
        branches.append(
            f"SELECT {index} AS window, d.amount::float8 AS amount FROM deals_deal d "
            f"WHERE d.tenant_id = %(tenant_id)s AND d.status = 'won' "
            f"AND d.closed_date >= %(start_{index})s AND d.closed_date < %(end_{index})s "
            f"AND d.created_date >= %(start_{index})s"
        )
    # Ordered: the forecast resamples these amounts by position with a seeded generator, so the
    # same data must give the same order whatever plan the statistics of the day pick.
    return _frame(" UNION ALL ".join(branches) + " ORDER BY 1, 2", params)


def open_counts(*, as_of: dt.date, dimension_sets: Sequence[Sequence[str]]) -> pd.DataFrame:
    """Deals open at ``as_of`` per segment: dimension (``+``-joined keys, ``all``), values, n_open,
    open_amount. One query with GROUPING SETS."""
    wanted = [tuple(dimensions) for dimensions in dimension_sets]
    used = [key for key in DIMENSIONS if any(key in dimensions for dimensions in wanted)]
    select = "".join(f", {DIMENSIONS[key].sql} AS {key}" for key in used)
    sets = ", ".join("(" + ", ".join(dimensions) + ")" for dimensions in wanted)
    grouping = f"GROUPING({', '.join(used)})" if used else "0"
    _, rows = _rows(
        f"""
        SELECT {grouping} AS mask{"".join(f", {key}" for key in used)},
               count(*) AS n_open, COALESCE(sum(amount), 0) AS open_amount
        FROM (SELECT d.amount::float8 AS amount{select} FROM deals_deal d WHERE {_open_at(as_of)}) o
        GROUP BY GROUPING SETS ({sets})
        """,
        {"tenant_id": require_tenant_id(), "as_of": as_of},
    )
    width = len(used)
    masks = {
        sum(1 << (width - 1 - i) for i, key in enumerate(used) if key not in dimensions): dimensions
        for dimensions in wanted
    }
    out = []
    for row in rows:
        dimensions = masks[row[0]]
        values = tuple(row[1 + used.index(key)] for key in dimensions)
        out.append(
            {
                "dimension": "+".join(dimensions) or "all",
                "values": values,
                "n_open": int(row[1 + width]),
                "open_amount": float(row[2 + width]),
            }
        )
    return pd.DataFrame(out, columns=["dimension", "values", "n_open", "open_amount"])


def amount_percentiles(
    *, population: str, as_of: dt.date, closed_from: dt.date | None = None
) -> pd.DataFrame:
    """Deals ranked by amount (largest first) in 100 rank buckets: percentile, n, amount, largest.

    ``population`` is "won" (deals won in [closed_from, as_of)) or "open" (deals open at
    ``as_of``). Bucket b holds the deals ranked r with ⌈100·r / N⌉ = b, so buckets 1…p hold
    exactly the ⌊p·N / 100⌋ largest deals. One query with window functions.
    """
    params: dict[str, Any] = {"tenant_id": require_tenant_id(), "as_of": as_of, "start": closed_from}
    if population == "won":
        where = (
            "d.tenant_id = %(tenant_id)s AND d.status = 'won' "
            "AND d.closed_date >= %(start)s AND d.closed_date < %(as_of)s"
        )
    elif population == "open":
        where = _open_at(as_of)
    else:
        raise ValueError(f"Unknown population {population!r}.")
    return _frame(
        f"""
        SELECT ceil(100.0 * rank / total)::int AS percentile, count(*) AS n,
               sum(amount) AS amount, max(amount) AS largest
        FROM (
            SELECT d.amount::float8 AS amount,
                   row_number() OVER (ORDER BY d.amount DESC, d.id) AS rank, count(*) OVER () AS total
            FROM deals_deal d WHERE {where}
        ) ranked
        GROUP BY 1 ORDER BY 1
        """,
        params,
    )


def largest_open_deal(*, as_of: dt.date) -> dict[str, Any] | None:
    """The largest deal open at ``as_of``: id, crm_id, name, amount, stage (None without one)."""
    columns, rows = _rows(
        f"""
        SELECT d.id, d.crm_id, d.name, d.amount::float8 AS amount, d.stage FROM deals_deal d
        WHERE {_open_at(as_of)} ORDER BY d.amount DESC, d.id LIMIT 1
        """,
        {"tenant_id": require_tenant_id(), "as_of": as_of},
    )
    return dict(zip(columns, rows[0], strict=True)) if rows else None


def monthly_closed_counts(*, before: dt.date) -> pd.DataFrame:
    """Closed deals per calendar month of close before ``before``: month (date), n, won. One query."""
    frame = _frame(
        """
        SELECT date_trunc('month', d.closed_date)::date AS month, count(*) AS n,
               count(*) FILTER (WHERE d.status = 'won') AS won
        FROM deals_deal d
        WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost') AND d.closed_date < %(before)s
        GROUP BY 1 ORDER BY 1
        """,
        {"tenant_id": require_tenant_id(), "before": before},
    )
    return frame.astype({"n": np.int64, "won": np.int64}) if not frame.empty else frame


def closed_date_range(*, before: dt.date | None = None) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) close date of the closed deals (closed before ``before`` when given)."""
    _, rows = _rows(
        "SELECT min(d.closed_date), max(d.closed_date) FROM deals_deal d "
        "WHERE d.tenant_id = %(tenant_id)s AND d.status IN ('won', 'lost') "
        "AND (%(before)s::date IS NULL OR d.closed_date < %(before)s::date)",
        {"tenant_id": require_tenant_id(), "before": before},
    )
    return rows[0][0], rows[0][1]


def first_close_date() -> dt.date | None:
    """The earliest close date of any closed deal (None before the first close)."""
    return closed_date_range()[0]
