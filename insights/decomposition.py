"""Mix-vs-rate decomposition of a win-rate change, per dimension, and its ranked contributors.

Pure pandas over the aggregate table of insights.selectors (periods 0 = baseline and
1 = current, one row per segment); no Django. The arithmetic is
:func:`insights.stats.shift_share_decomposition`; this module aligns segments across the two
periods, tests each contribution, and words the top ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
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


@dataclass(frozen=True)
class RateAdjustment:
    """A segment's rate change measured like for like within another dimension's values."""

    adjuster: str
    change: float
    variance: float


@dataclass(frozen=True)
class StratifiedCells:
    """Counts of one dimension's segments (rows) split by another dimension's values (columns).

    Arrays are shaped (segments, strata); ``values`` are the segments' display values.
    """

    values: Sequence[str]
    n_before: np.ndarray
    won_before: np.ndarray
    n_after: np.ndarray
    won_after: np.ndarray


def best_adjustments(cells_by_adjuster: Mapping[str, StratifiedCells]) -> dict[str, RateAdjustment]:
    """Per segment value, the like-for-like rate change that explains the most.

    For each adjuster dimension, the segment's rate change within the adjuster's values
    (:func:`insights.stats.mantel_haenszel_difference`); the one kept is the smallest in
    size: the rate change that persists whichever single other dimension's mix is held fixed.
    """
    best: dict[str, RateAdjustment] = {}
    for adjuster, cells in cells_by_adjuster.items():
        changes, variances = stats.mantel_haenszel_difference(
            n_before=cells.n_before,
            won_before=cells.won_before,
            n_after=cells.n_after,
            won_after=cells.won_after,
        )
        for value, change, variance in zip(cells.values, changes, variances, strict=True):
            if not np.isfinite(change):
                continue
            current = best.get(value)
            if current is None or abs(change) < abs(current.change):
                best[value] = RateAdjustment(
                    adjuster=adjuster, change=float(change), variance=float(variance)
                )
    return best


def _pts(value: float) -> str:
    return stats.format_pts(value, signed=False)


def contribution_summary(row: Mapping[str, object], overall_mean_rate: float) -> str:
    """The contributor in one plain sentence.

    Mix: "Partner deals: +9.0 pts of mix toward a 20% segment (weaker than the 45% average)
    cost 3.1 pts". Rate: "Europe conversion fell 12.0 pts like for like within each lead source
    (23.6 pts raw, 50.9% → 27.4%), cost 2.4 pts". Contributions that do not survive the
    multiple-comparison correction end "— within noise (p = …, adjusted)".
    """
    contribution = float(row["adjusted_contribution"])  # type: ignore[arg-type]
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
        raw_change = rate_after - rate_before
        change = float(row["adjusted_change"])  # type: ignore[arg-type]
        moved = "rose" if change > 0 else "fell"
        raw = f"{stats.format_percent(rate_before)} → {stats.format_percent(rate_after)}"
        if row["adjusted_within"]:
            sentence = (
                f"{value} conversion {moved} {_pts(change)} like for like within each "
                f"{row['adjusted_within_label']} ({stats.format_pts(raw_change)} raw, {raw}), "
                f"{verb} {_pts(contribution)}"
            )
        else:
            sentence = f"{value} conversion {moved} {_pts(change)} ({raw}), {verb} {_pts(contribution)}"
    if not row["significant"]:
        p_value = float(row["p_value_adjusted"])  # type: ignore[arg-type]
        sentence += f" — within noise ({stats.format_p_value(p_value)}, adjusted)"
    return sentence


def rank_contributors(
    decompositions: Sequence[DimensionDecomposition],
    *,
    overall_mean_rate: float,
    adjustments: Mapping[str, Mapping[str, RateAdjustment]] | None = None,
    dimension_labels: Mapping[str, str] | None = None,
    exclude_dimensions: Sequence[str] = (),
    limit: int = TOP_CONTRIBUTORS,
) -> list[dict[str, object]]:
    """Every mix and rate contribution above the minimum sample, ranked by absolute size.

    A rate contribution is ranked by its like-for-like size when ``adjustments`` (dimension →
    segment value → :class:`RateAdjustment`) has one: the segment's rate change holding the
    most explanatory other dimension's mix fixed, times the segment's mean share, so a rate
    drop that is really another dimension's mix shift does not outrank that shift. Mix
    contributions are ranked as they are. Segments below the minimum sample and dimensions in
    ``exclude_dimensions`` are left out. p-values (two-proportion tests, or a Wald test of the
    like-for-like change) are Holm-adjusted over all contributions considered, and
    ``significant`` means adjusted p < 0.05. Returns up to ``limit`` dicts (docs/insights.md).
    """
    adjustments = adjustments or {}
    labels = dimension_labels or {}
    rows = []
    for item in decompositions:
        if item.dimension in exclude_dimensions:
            continue
        eligible = item.segments[~item.segments["below_min_sample"]]
        if eligible.empty:
            continue
        mean_share = (eligible["share_before"] + eligible["share_after"]) / 2
        raw_change = eligible["rate_after"] - eligible["rate_before"]
        found = [adjustments.get(item.dimension, {}).get(value) for value in eligible["value"]]
        adjusted_change = [
            raw if fit is None else fit.change for raw, fit in zip(raw_change, found, strict=True)
        ]
        adjusted_p = [
            p_value if fit is None else float(stats.wald_p_value(fit.change, fit.variance))
            for p_value, fit in zip(eligible["rate_p_value"], found, strict=True)
        ]
        within = [None if fit is None else fit.adjuster for fit in found]
        common = {
            "dimension": item.dimension,
            "dimension_label": item.label,
            "segment_mean_rate": (eligible["rate_before"] + eligible["rate_after"]) / 2,
        }
        rows.append(
            eligible.assign(
                **common,
                effect="mix",
                contribution=eligible["mix_effect"],
                adjusted_contribution=eligible["mix_effect"],
                adjusted_change=np.nan,
                adjusted_within=None,
                p_value=eligible["mix_p_value"],
            )
        )
        rows.append(
            eligible.assign(
                **common,
                effect="rate",
                contribution=eligible["rate_effect"],
                adjusted_change=adjusted_change,
                adjusted_contribution=np.asarray(adjusted_change) * mean_share.to_numpy(),
                adjusted_within=within,
                p_value=adjusted_p,
            )
        )
    if not rows:
        return []
    table = pd.concat(rows, ignore_index=True)
    table["adjusted_within_label"] = [labels.get(key, key or "").lower() for key in table["adjusted_within"]]
    table["p_value_adjusted"] = stats.holm_adjust(table["p_value"].to_numpy(dtype=float))
    table["significant"] = table["p_value_adjusted"] < stats.SIGNIFICANCE_LEVEL
    table = table.assign(size=table["adjusted_contribution"].abs()).sort_values(
        ["size", "dimension", "value", "effect"], ascending=[False, True, True, True], kind="stable"
    )
    table = table[table["size"] > 0].head(limit)
    return [
        {
            "dimension": record["dimension"],
            "dimension_label": record["dimension_label"],
            "value": record["value"],
            "effect": record["effect"],
            "contribution": clean_number(record["contribution"]),
            "adjusted_contribution": clean_number(record["adjusted_contribution"]),
            "adjusted_within": record["adjusted_within"],
            "share_before": clean_number(record["share_before"]),
            "share_after": clean_number(record["share_after"]),
            "rate_before": clean_number(record["rate_before"]),
            "rate_after": clean_number(record["rate_after"]),
            "like_for_like_rate_change": clean_number(record["adjusted_change"]),
            "n_before": int(record["n_before"]),
            "n_after": int(record["n_after"]),
            "p_value": clean_number(record["p_value"]),
            "p_value_adjusted": clean_number(record["p_value_adjusted"]),
            "significant": bool(record["significant"]),
            "summary": contribution_summary(record, overall_mean_rate),
        }
        for record in table.to_dict("records")
    ]


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
    # Rounded so that the published parts add up to the published total (a waterfall's bars
    # must meet its end): the rate effect takes the rounding of both.
    total, mix = clean_number(decomposition.total_change), clean_number(decomposition.mix_effect)
    rate = (
        clean_number(total - mix)
        if isinstance(total, float) and isinstance(mix, float)
        else clean_number(decomposition.rate_effect)
    )
    return {
        "dimension": decomposition.dimension,
        "label": decomposition.label,
        "total_change": total,
        "mix_effect": mix,
        "rate_effect": rate,
        "segments": segments,
    }
