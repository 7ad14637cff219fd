"""Deal-size bands and roll-ups of a fine aggregate "cube" of closed deals.

Pure numpy/pandas, no Django. The database returns one row per combination of period,
industry, region, product type, lead source, last stage and amount bin (a few thousand rows
however many deals there are); every single dimension and pair is then summed from it here,
because sums are additive and one hash aggregate in PostgreSQL is far cheaper than dozens of
grouping sets.

Amount bins follow a fixed "nice number" ladder (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k), so
deal-size band edges are always round amounts: the ladder boundaries nearest to the quartiles
of the closed deals being analysed.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import numpy.typing as npt
import pandas as pd

LADDER_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
# Bin b (PostgreSQL width_bucket) holds amounts in [AMOUNT_LADDER[b − 1], AMOUNT_LADDER[b]).
AMOUNT_LADDER: tuple[float, ...] = tuple(
    float(step * 10**power) for power in range(0, 10) for step in LADDER_STEPS
)
SIZE_BAND_QUANTILES = (0.25, 0.5, 0.75)

SUM_COLUMNS = ("n", "won", "amount_sum", "won_amount_sum", "amount_sq_sum", "won_amount_sq_sum")
CUBE_DIMENSIONS = ("industry", "region", "product_type", "lead_source", "stage")
OVERALL = "all"


def band_edges_from_histogram(
    *, bins: npt.ArrayLike, counts: npt.ArrayLike, quantiles: Sequence[float] = SIZE_BAND_QUANTILES
) -> list[float]:
    """Size-band edges: for each quantile, the ladder boundary whose cumulative share is nearest.

    ``bins`` are ladder bin numbers (0 … len(AMOUNT_LADDER)) and ``counts`` the deals in each.
    Returns ascending distinct edges (at most one per quantile), empty without deals or when
    every deal falls in one bin.
    """
    counts_by_bin = np.bincount(
        np.asarray(bins, dtype=np.int64), weights=counts, minlength=len(AMOUNT_LADDER) + 1
    )
    total = counts_by_bin.sum()
    if total <= 0:
        return []
    # Share of deals below each ladder boundary AMOUNT_LADDER[i] = bins 0 … i.
    below = np.cumsum(counts_by_bin)[: len(AMOUNT_LADDER)] / total
    edges = set()
    for quantile in quantiles:
        index = int(np.argmin(np.abs(below - quantile)))
        if 0 < below[index] < 1:
            edges.add(AMOUNT_LADDER[index])
    return sorted(edges)


def band_of_bins(bins: np.ndarray | pd.Series, edges: Sequence[float]) -> np.ndarray:
    """The size band (0 … len(edges)) of each ladder bin, given band edges on the ladder."""
    bins_array = np.asarray(bins, dtype=np.int64)
    lower = np.where(bins_array > 0, np.asarray((0.0, *AMOUNT_LADDER))[bins_array], -np.inf)
    return np.searchsorted(np.asarray(edges, dtype=float), lower, side="right")


def format_amount(value: float) -> str:
    if value >= 1_000_000:
        return f"${value / 1_000_000:.3g}M"
    if value >= 1_000:
        return f"${value / 1_000:.3g}k"
    return f"${value:.0f}"


def size_band_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the len(edges) + 1 bands, smallest first: "< $6k", "$6k–$15k", "≥ $40k"."""
    if not edges:
        return ["All sizes"]
    labels = [f"< {format_amount(edges[0])}"]
    labels += [f"{format_amount(low)}–{format_amount(high)}" for low, high in pairwise(edges)]
    labels.append(f"≥ {format_amount(edges[-1])}")
    return labels


# Shown for a blank segment field or a deal with no rep.
UNKNOWN_VALUE = "(unknown)"


def display_value(dimension: str, value: object, band_names: Sequence[str]) -> str:
    """How a raw segment value reads: "(unknown)" for blanks, a size band's amount range.

    Reps are named by the caller (their CRM id needs a lookup).
    """
    if value is None or value == "":
        return UNKNOWN_VALUE
    if dimension == "size_band":
        return band_names[int(value)]  # type: ignore[call-overload]
    return str(value)


def dimension_set_key(dimensions: Sequence[str]) -> str:
    """``industry`` for one dimension, ``industry+region`` for a pair, ``all`` for none."""
    return "+".join(dimensions) if dimensions else OVERALL


class Cube:
    """The closed-deal cube with integer-coded dimensions, for fast roll-ups.

    Built from the frame insights.selectors.closed_deal_cube returns. ``size_band`` is
    derived from ``amount_bin`` with ``band_edges``. Each roll-up is one ``np.bincount`` per
    sum over a mixed-radix key, so summing 20,000 cells into every single dimension and pair
    takes milliseconds.
    """

    def __init__(self, frame: pd.DataFrame, *, band_edges: Sequence[float], periods: int = 2) -> None:
        self.periods = periods
        self.codes: dict[str, np.ndarray] = {}
        self.levels: dict[str, list[object]] = {}
        for key in CUBE_DIMENSIONS:
            codes, uniques = pd.factorize(frame[key], use_na_sentinel=False) if len(frame) else ([], [])
            self.codes[key] = np.asarray(codes, dtype=np.int64)
            self.levels[key] = [None if pd.isna(value) else value for value in uniques]
        bands = band_of_bins(frame["amount_bin"], band_edges) if len(frame) else np.array([], dtype=np.int64)
        self.codes["size_band"] = np.asarray(bands, dtype=np.int64)
        self.levels["size_band"] = list(range(len(band_edges) + 1))
        self.period = frame["period"].to_numpy(dtype=np.int64) if len(frame) else np.array([], dtype=np.int64)
        self.sums = {
            column: frame[column].to_numpy(dtype=float) if len(frame) else np.array([])
            for column in SUM_COLUMNS
        }

    def _key(self, dimensions: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        key = self.period.copy()
        sizes = [len(self.levels[dimension]) for dimension in dimensions]
        for dimension, size in zip(dimensions, sizes, strict=True):
            key = key * size + self.codes[dimension]
        return key, sizes

    def cells(self, dimensions: Sequence[str]) -> dict[str, np.ndarray]:
        """Dense arrays of every sum, shaped (periods, levels of each dimension…)."""
        key, sizes = self._key(dimensions)
        shape = (self.periods, *sizes)
        length = int(np.prod(shape))
        return {
            column: np.bincount(key, weights=values, minlength=length).reshape(shape)
            for column, values in self.sums.items()
        }

    def rollup(self, dimension_sets: Sequence[Sequence[str]]) -> pd.DataFrame:
        """Sum into the aggregate-table shape of insights.selectors.closed_deal_aggregates.

        ``dimension_sets`` may use the CUBE_DIMENSIONS and ``size_band``. Returns columns
        period, dimension, values (tuple of raw values), SUM_COLUMNS; empty cells are left out.
        """
        columns = ["period", "dimension", "values", *SUM_COLUMNS]
        parts = []
        for dimensions in dimension_sets:
            arrays = self.cells(dimensions)
            present = np.argwhere(arrays["n"] > 0)
            part = pd.DataFrame({column: arrays[column][tuple(present.T)] for column in SUM_COLUMNS})
            part["n"] = part["n"].round().astype(np.int64)
            part["won"] = part["won"].round().astype(np.int64)
            part.insert(0, "period", present[:, 0])
            part.insert(1, "dimension", dimension_set_key(dimensions))
            part.insert(
                2,
                "values",
                [
                    tuple(
                        self.levels[dimension][code]
                        for dimension, code in zip(dimensions, row[1:], strict=True)
                    )
                    for row in present.tolist()
                ],
            )
            parts.append(part[columns])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
