"""Mix-vs-rate decomposition of a win-rate change, per dimension, and its ranked contributors.

Pure pandas over the aggregate table of insights.selectors (periods 0 = baseline and
1 = current, one row per segment); no Django. The arithmetic is
:func:`insights.stats.shift_share_decomposition`; this module aligns segments across the two
periods, tests each contribution, and words the top ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from insights import stats
from insights.segments import clean_number

BASELINE, CURRENT = 0, 1
TOP_CONTRIBUTORS = 10


@dataclass(frozen=True)
class DimensionDecomposition:
    """One dimension's decomposition; ``segments`` has one row per segment value."""

    dimension: str
    label: str
    total_change: float
    mix_effect: float
    rate_effect: float
    segments: pd.DataFrame


def decompose_dimension(
    *, frame: pd.DataFrame, dimension: str, label: str, min_sample: int
) -> DimensionDecomposition:
    """Kitagawa decomposition of the overall win-rate change across one dimension's segments.

    ``frame`` holds that dimension's rows for both periods, with columns period, value (display
    string), order (sort key), n and won. A segment is ``below_min_sample`` when it has fewer
    than ``min_sample`` closed deals in either period; the decomposition still includes it
    (the identity needs every deal) but it is never ranked. Each segment also gets the
    p-values of its share change (two-proportion test of n_i/N across periods) and of its rate
    change (two-proportion test within the segment).
    """
    before = frame[frame["period"] == BASELINE].set_index("value")
    after = frame[frame["period"] == CURRENT].set_index("value")
    values = before.index.union(after.index)
    n_before = before["n"].reindex(values, fill_value=0).to_numpy(dtype=float)
    won_before = before["won"].reindex(values, fill_value=0).to_numpy(dtype=float)
    n_after = after["n"].reindex(values, fill_value=0).to_numpy(dtype=float)
    won_after = after["won"].reindex(values, fill_value=0).to_numpy(dtype=float)
    order = pd.concat([before["order"], after["order"]]).groupby(level=0).first().reindex(values)
    result = stats.shift_share_decomposition(
        n_before=n_before, won_before=won_before, n_after=n_after, won_after=won_after
    )
    segments = pd.DataFrame(
        {
            "value": values.astype(object),
            "order": order.to_numpy(),
            "n_before": n_before.astype(int),
            "n_after": n_after.astype(int),
            "won_before": won_before.astype(int),
            "won_after": won_after.astype(int),
            "share_before": result.share_before,
            "share_after": result.share_after,
            "rate_before": result.rate_before,
            "rate_after": result.rate_after,
            "mix_effect": result.mix,
            "rate_effect": result.rate,
            "below_min_sample": (n_before < min_sample) | (n_after < min_sample),
            "mix_p_value": stats.two_proportion_p_value(n_after, n_after.sum(), n_before, n_before.sum()),
            "rate_p_value": stats.two_proportion_p_value(won_after, n_after, won_before, n_before),
        }
    )
    segments = segments.sort_values(["order", "value"]).reset_index(drop=True)
    return DimensionDecomposition(
        dimension=dimension,
        label=label,
        total_change=result.total_change,
        mix_effect=result.mix_effect,
        rate_effect=result.rate_effect,
        segments=segments,
    )


def _pts(value: float) -> str:
    return stats.format_pts(value, signed=False)


def contribution_summary(row: Mapping[str, object], overall_mean_rate: float) -> str:
    """The contributor in one plain sentence.

    Mix: "Partner deals: +9.0 pts of mix toward a 20% segment cost 3.1 pts". Rate: "Europe
    conversion fell 12.0 pts (47.0% → 35.0%), cost 2.4 pts". Contributions that do not
    survive the multiple-comparison correction end "— within noise (p = …)".
    """
    contribution = float(row["contribution"])  # type: ignore[arg-type]
    verb = "added" if contribution > 0 else "cost"
    value = row["value"]
    if row["effect"] == "mix":
        share_change = float(row["share_after"]) - float(row["share_before"])  # type: ignore[arg-type]
        segment_rate = float(row["segment_mean_rate"])  # type: ignore[arg-type]
        direction = "toward" if share_change > 0 else "away from"
        comparison = "weaker" if segment_rate < overall_mean_rate else "stronger"
        sentence = (
            f"{value} deals: {stats.format_pts(share_change)} of mix {direction} a "
            f"{segment_rate * 100:.0f}% segment ({comparison} than the {overall_mean_rate * 100:.0f}% "
            f"average) {verb} {_pts(contribution)}"
        )
    else:
        rate_before, rate_after = float(row["rate_before"]), float(row["rate_after"])  # type: ignore[arg-type]
        moved = "rose" if rate_after > rate_before else "fell"
        sentence = (
            f"{value} conversion {moved} {_pts(rate_after - rate_before)} "
            f"({stats.format_percent(rate_before)} → {stats.format_percent(rate_after)}), "
            f"{verb} {_pts(contribution)}"
        )
    if not row["significant"]:
        sentence += f" — within noise ({stats.format_p_value(float(row['p_value_adjusted']))}, adjusted)"  # type: ignore[arg-type]
    return sentence


def rank_contributors(
    decompositions: Sequence[DimensionDecomposition],
    *,
    overall_mean_rate: float,
    exclude_dimensions: Sequence[str] = (),
    limit: int = TOP_CONTRIBUTORS,
) -> list[dict[str, object]]:
    """Every mix and rate contribution above the minimum sample, ranked by absolute size.

    Segments below the minimum sample and dimensions in ``exclude_dimensions`` are left out.
    p-values are Holm-adjusted over all the contributions considered (one family), and
    ``significant`` means adjusted p < 0.05. Returns up to ``limit`` dicts with dimension,
    value, effect ("mix" or "rate"), contribution (rate units), p-values, significant, and a
    ``summary`` sentence.
    """
    rows = []
    for decomposition in decompositions:
        if decomposition.dimension in exclude_dimensions:
            continue
        eligible = decomposition.segments[~decomposition.segments["below_min_sample"]]
        for effect in ("mix", "rate"):
            part = eligible.assign(
                dimension=decomposition.dimension,
                dimension_label=decomposition.label,
                effect=effect,
                contribution=eligible[f"{effect}_effect"],
                p_value=eligible[f"{effect}_p_value"],
                segment_mean_rate=(eligible["rate_before"] + eligible["rate_after"]) / 2,
            )
            rows.append(part)
    if not rows:
        return []
    table = pd.concat(rows, ignore_index=True)
    table["p_value_adjusted"] = stats.holm_adjust(table["p_value"].to_numpy())
    table["significant"] = table["p_value_adjusted"] < stats.SIGNIFICANCE_LEVEL
    table = table.assign(size=table["contribution"].abs()).sort_values(
        ["size", "dimension", "value"], ascending=[False, True, True], kind="stable"
    )
    table = table[table["size"] > 0].head(limit)
    contributors = []
    for record in table.to_dict("records"):
        contributors.append(
            {
                "dimension": record["dimension"],
                "dimension_label": record["dimension_label"],
                "value": record["value"],
                "effect": record["effect"],
                "contribution": clean_number(record["contribution"]),
                "share_before": clean_number(record["share_before"]),
                "share_after": clean_number(record["share_after"]),
                "rate_before": clean_number(record["rate_before"]),
                "rate_after": clean_number(record["rate_after"]),
                "n_before": int(record["n_before"]),
                "n_after": int(record["n_after"]),
                "p_value": clean_number(record["p_value"]),
                "p_value_adjusted": clean_number(record["p_value_adjusted"]),
                "significant": bool(record["significant"]),
                "summary": contribution_summary(record, overall_mean_rate),
            }
        )
    return contributors


def decomposition_document(decomposition: DimensionDecomposition) -> dict[str, object]:
    """The JSON shape of one dimension's decomposition (docs/insights.md)."""
    segments = []
    for record in decomposition.segments.to_dict("records"):
        segments.append(
            {
                "value": record["value"],
                "n_before": int(record["n_before"]),
                "n_after": int(record["n_after"]),
                "share_before": clean_number(record["share_before"]),
                "share_after": clean_number(record["share_after"]),
                "rate_before": clean_number(record["rate_before"]),
                "rate_after": clean_number(record["rate_after"]),
                "mix_effect": clean_number(record["mix_effect"]),
                "rate_effect": clean_number(record["rate_effect"]),
                "below_min_sample": bool(record["below_min_sample"]),
            }
        )
    return {
        "dimension": decomposition.dimension,
        "label": decomposition.label,
        "total_change": clean_number(decomposition.total_change),
        "mix_effect": clean_number(decomposition.mix_effect),
        "rate_effect": clean_number(decomposition.rate_effect),
        "segments": segments,
    }
