"""The parts of the diagnosis document, built from aggregate tables (schema: docs/insights.md).

Pure pandas, no Django: insights.services runs the queries and hands the tables over. Each
function returns JSON-ready dicts and lists (NaN → None, numpy scalars → Python numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from insights import segments, stats
from insights.periods import Compare, Period
from insights.segments import clean_number, clean_text


def estimate(row: pd.Series | None, period: Period, *, weighted: bool) -> dict[str, Any]:
    """One period's win rate (or weighted win rate) with n and its 95% interval."""
    if row is None or not row["n"]:
        return {"period": period.label, "rate": None, "n": 0, "ci_low": 0.0, "ci_high": 1.0}
    if weighted:
        return {
            "period": period.label,
            "rate": clean_number(row["weighted_win_rate"]),
            "n": int(row["n"]),
            "amount": clean_number(row["amount_sum"], 2),
            "won_amount": clean_number(row["won_amount_sum"], 2),
            "ci_low": clean_number(row["weighted_ci_low"]),
            "ci_high": clean_number(row["weighted_ci_high"]),
        }
    return {
        "period": period.label,
        "rate": clean_number(row["win_rate"]),
        "n": int(row["n"]),
        "won": int(row["won"]),
        "ci_low": clean_number(row["ci_low"]),
        "ci_high": clean_number(row["ci_high"]),
    }


def comparison(before: pd.Series | None, after: pd.Series | None, *, weighted: bool) -> dict[str, Any]:
    """Change from ``before`` to ``after``: Newcombe interval, p-value and a verdict in words.

    Count rates use the pooled two-proportion z-test; weighted rates a Wald test on the
    delta-method variances.
    """
    subject = "Revenue-weighted win rate" if weighted else "Win rate"
    if before is None or after is None or not before["n"] or not after["n"]:
        return {
            "change": None,
            "change_ci_low": None,
            "change_ci_high": None,
            "p_value": None,
            "distinguishable_from_noise": False,
            "verdict": f"{subject}: not enough closed deals in one of the periods to compare.",
        }
    prefix = "weighted_" if weighted else ""
    rate_before, rate_after = float(before[f"{prefix}win_rate"]), float(after[f"{prefix}win_rate"])
    low, high = stats.newcombe_difference_interval(
        rate_before=rate_before,
        low_before=before[f"{prefix}ci_low"],
        high_before=before[f"{prefix}ci_high"],
        rate_after=rate_after,
        low_after=after[f"{prefix}ci_low"],
        high_after=after[f"{prefix}ci_high"],
    )
    if weighted:
        variance = before["weighted_variance"] + after["weighted_variance"]
        p_value = float(stats.wald_p_value(rate_after - rate_before, variance))
    else:
        p_value = float(stats.two_proportion_p_value(after["won"], after["n"], before["won"], before["n"]))
    return {
        "change": clean_number(rate_after - rate_before),
        "change_ci_low": clean_number(low),
        "change_ci_high": clean_number(high),
        "p_value": clean_number(p_value),
        "distinguishable_from_noise": stats.is_distinguishable_from_noise(p_value),
        "verdict": stats.noise_verdict(
            subject=subject,
            rate_before=rate_before,
            rate_after=rate_after,
            p_value=p_value,
            change_ci_low=float(low),
            change_ci_high=float(high),
        ),
    }


def headline(
    totals: Mapping[str, pd.Series | None], periods: Mapping[str, Period], compare: Compare, *, weighted: bool
) -> dict[str, Any]:
    """``win_rate`` / ``weighted_win_rate``: current, previous, year ago, and the changes.

    ``totals`` and ``periods`` are keyed current / previous / year_ago; ``baseline`` and the
    top-level change fields follow ``compare``; ``vs_previous`` and ``vs_year_ago`` carry both.
    """
    baseline_key = "previous" if compare == Compare.PREVIOUS else "year_ago"
    block: dict[str, Any] = {
        name: estimate(totals[name], periods[name], weighted=weighted)
        for name in ("current", "previous", "year_ago")
    }
    block["baseline"] = block[baseline_key]
    block["compare"] = str(compare)
    block.update(comparison(totals[baseline_key], totals["current"], weighted=weighted))
    block["vs_previous"] = comparison(totals["previous"], totals["current"], weighted=weighted)
    block["vs_year_ago"] = comparison(totals["year_ago"], totals["current"], weighted=weighted)
    return block


def segment_tables(
    table: pd.DataFrame, *, dimensions: Sequence[str], labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """``segments``: per dimension, each segment's rates, intervals, p-values and flag."""
    out = []
    for dimension in dimensions:
        rows = table[table["dimension"] == dimension].sort_values(["order", "value"])
        out.append(
            {
                "dimension": dimension,
                "label": labels[dimension],
                "segments": [
                    {
                        "value": record["value"],
                        "n": int(record["n"]),
                        "won": int(record["won"]),
                        "win_rate": clean_number(record["win_rate"]),
                        "ci_low": clean_number(record["ci_low"]),
                        "ci_high": clean_number(record["ci_high"]),
                        "weighted_win_rate": clean_number(record["weighted_win_rate"]),
                        "weighted_ci_low": clean_number(record["weighted_ci_low"]),
                        "weighted_ci_high": clean_number(record["weighted_ci_high"]),
                        "avg_amount": clean_number(record["avg_amount"], 2),
                        "below_min_sample": bool(record["below_min_sample"]),
                        "p_value": clean_number(record["p_value"]),
                        "p_value_adjusted": clean_number(record["p_value_adjusted"]),
                        "flag": clean_text(record["flag"]),
                    }
                    for record in rows.to_dict("records")
                ],
            }
        )
    return out


def rep_section(
    rep_rows: pd.DataFrame,
    *,
    team: pd.Series | None,
    min_sample: int,
    window: Mapping[str, Any],
    names: Mapping[int, str],
    cycles: Mapping[str, Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``reps`` (the rep table, ranked by shrunk rate) and ``rep_summary`` (prior, gap, flags).

    ``rep_rows`` has one row per rep over ``window`` (label, start, end) with ``value`` (the rep's CRM id) and
    ``rep_id``; ``names`` maps rep ids to display names; ``cycles`` maps CRM ids to their
    winning-cycle stats from the current period.
    """
    empty_summary: dict[str, Any] = {
        "window": dict(window),
        "team_rate": None,
        "prior": None,
        "team": None,
        "top_to_bottom_gap": {"shrunk": None, "raw": None},
        "flag_confidence": None,
        "flagged": [],
        "verdict": "No closed deals by reps in the window.",
    }
    if team is None or not team["n"] or rep_rows.empty:
        return [], empty_summary
    table, prior = segments.rep_table(
        rep_rows.assign(label=rep_rows["value"]),
        team_n=int(team["n"]),
        team_won=int(team["won"]),
        min_sample=min_sample,
    )
    reps = []
    for record in table.to_dict("records"):
        rep_id = None if pd.isna(record["rep_id"]) else int(record["rep_id"])
        cycle = cycles.get(record["label"], {})
        reps.append(
            {
                "rep": record["label"],
                "rep_id": rep_id,
                "name": names.get(rep_id, record["label"]) if rep_id is not None else record["label"],
                "n": int(record["n"]),
                "won": int(record["won"]),
                "win_rate": clean_number(record["win_rate"]),
                "ci_low": clean_number(record["ci_low"]),
                "ci_high": clean_number(record["ci_high"]),
                "weighted_win_rate": clean_number(record["weighted_win_rate"]),
                "weighted_ci_low": clean_number(record["weighted_ci_low"]),
                "weighted_ci_high": clean_number(record["weighted_ci_high"]),
                "shrunk_rate": clean_number(record["shrunk_rate"]),
                "shrunk_ci_low": clean_number(record["shrunk_ci_low"]),
                "shrunk_ci_high": clean_number(record["shrunk_ci_high"]),
                "flag_ci_high": clean_number(record["flag_ci_high"]),
                "own_record": bool(record["own_record"]),
                "median_cycle_won_days": cycle.get("median_won_days"),
                "rank": None if pd.isna(record["rank"]) else int(record["rank"]),
                "rank_low": None if pd.isna(record["rank_low"]) else int(record["rank_low"]),
                "rank_high": None if pd.isna(record["rank_high"]) else int(record["rank_high"]),
                "below_min_sample": bool(record["below_min_sample"]),
                "flag": clean_text(record["flag"]),
            }
        )
    flagged = [rep["rep"] for rep in reps if rep["flag"]]
    flagged_names = [rep["name"] for rep in reps if rep["flag"]]
    ranked = int(table["rank"].notna().sum())
    team_n, team_won = int(team["n"]), int(team["won"])
    team_rate = team_won / team_n
    team_low, team_high = stats.wilson_interval(team_won, team_n)
    summary = {
        "window": dict(window),
        "team_rate": clean_number(team_rate),
        # The team's rate over the same window as the reps, with its size and 95% interval.
        "team": {
            "n": team_n,
            "won": team_won,
            "win_rate": clean_number(team_rate),
            "ci_low": clean_number(float(team_low)),
            "ci_high": clean_number(float(team_high)),
        },
        "prior": None
        if prior is None
        else {
            "alpha": clean_number(prior.alpha),
            "beta": clean_number(prior.beta),
            "mean": clean_number(prior.mean),
            "strength": clean_number(prior.strength),
        },
        "top_to_bottom_gap": segments.top_to_bottom_gap(table),
        "flag_confidence": clean_number(segments.rep_flag_confidence(ranked)) if ranked else None,
        "flagged": flagged,
        "verdict": (
            f"{', '.join(flagged_names)} convert{'s' if len(flagged) == 1 else ''} below the team's "
            f"{stats.format_percent(team_rate)} beyond what chance explains across {ranked} reps."
            if flagged
            else f"No rep's win rate is below the team's {stats.format_percent(team_rate)} beyond what "
            f"chance explains across {ranked} reps."
        ),
    }
    return reps, summary


def funnel(stage_rows: pd.DataFrame, *, entries: Mapping[str, int], stages: Sequence[str]) -> dict[str, Any]:
    """``funnel``: loss share by last stage reached, and stage-to-stage conversion from history.

    ``stage_rows`` are the current period's rows of the ``stage`` dimension; ``entries`` the
    moves into each stage from stage history; ``stages`` the tenant's stage order.
    """
    lost_total = int((stage_rows["n"] - stage_rows["won"]).sum()) if not stage_rows.empty else 0
    by_last_stage = []
    for record in stage_rows.sort_values(["order", "value"]).to_dict("records"):
        lost = int(record["n"] - record["won"])
        by_last_stage.append(
            {
                "stage": record["value"],
                "n": int(record["n"]),
                "won": int(record["won"]),
                "lost": lost,
                "win_rate": clean_number(record["won"] / record["n"]) if record["n"] else None,
                "loss_share": clean_number(lost / lost_total) if lost_total else None,
            }
        )
    ordered = [stage for stage in stages if entries.get(stage)]
    conversion = [
        {
            "from_stage": from_stage,
            "to_stage": to_stage,
            "entered_from": entries[from_stage],
            "entered_to": entries[to_stage],
            "rate": clean_number(min(entries[to_stage] / entries[from_stage], 1.0)),
        }
        for from_stage, to_stage in itertools.pairwise(ordered)
    ]
    return {"by_last_stage": by_last_stage, "has_stage_history": bool(entries), "conversion": conversion}


def summary_lines(document: Mapping[str, Any], *, unranked: Sequence[str]) -> list[str]:
    """``summary``: the headline verdicts, the main mix/rate split, top contributors, reps."""
    lines = [document["win_rate"]["verdict"], document["weighted_win_rate"]["verdict"]]
    candidates = [item for item in document["decomposition"] if item["dimension"] not in unranked]
    if candidates:
        main = max(candidates, key=lambda item: abs(item["mix_effect"] or 0))
        label = main["label"].lower()
        lines.append(
            f"By {label}: mix {stats.format_pts(main['mix_effect'])}, conversion within each {label} "
            f"{stats.format_pts(main['rate_effect'])} (total {stats.format_pts(main['total_change'])})."
        )
    lines += [contributor["summary"] for contributor in document["top_contributors"][:3]]
    lines.append(document["rep_summary"]["verdict"])
    return lines
