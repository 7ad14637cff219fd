"""Risk bands, top drivers with plain-language labels, and default next actions. Pure: no Django.

Drivers are feature contributions in log-odds relative to the tenant's average deal (see
:class:`scoring.model.Decomposition`). Labels are built vectorised: each (feature, shown value,
rounded contribution) combination is formatted once, then gathered per deal, so a million deals
cost a few numpy operations, not a million ``json.dumps`` calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.features import NUMERIC_FEATURES, REP_FEATURE, SEGMENT_FEATURES

# Win probability cut-offs, highest first: a deal at or above the cut-off is in that band.
# Low risk: better than 1 in 2; medium: 30–50%; high: 15–30%; critical: below 15%.
BAND_CUTOFFS: tuple[tuple[str, float], ...] = (
    ("low", 0.50),
    ("medium", 0.30),
    ("high", 0.15),
    ("critical", 0.0),
)
TOP_DRIVERS = 3
# Contributions smaller than this (log-odds) are noise to a reader and are not listed.
MIN_DRIVER_LOG_ODDS = 0.05

FEATURE_NAMES: dict[str, str] = {
    "industry": "industry",
    "region": "region",
    "product_type": "product type",
    "lead_source": "lead source",
    "stage": "stage",
    "rep": "rep",
    "amount": "amount",
    "age_days": "deal age",
    "days_in_stage": "time in stage",
    "stage_moves": "stage moves",
}

# Recommended next action per driver feature and direction; tenants override them (NextActionRule).
DEFAULT_NEXT_ACTIONS: dict[tuple[str, str], str] = {
    (
        "days_in_stage",
        "negative",
    ): "Agree a dated next step with the buyer to move the deal out of this stage.",
    ("age_days", "negative"): "Re-qualify: confirm budget, timeline and decision maker, or close it out.",
    ("amount", "negative"): "Large deal: map the buying committee and bring in an executive sponsor.",
    ("stage", "negative"): "Early stage: book the discovery or demo that qualifies the deal.",
    ("stage_moves", "negative"): "Few stage moves so far: check the deal is really progressing.",
    ("lead_source", "negative"): "Weak lead source: confirm the pain and the buyer's own urgency.",
    ("industry", "negative"): "Tough industry for us: share a reference customer from this industry.",
    ("region", "negative"): "Weaker region: involve the regional lead or a local partner.",
    ("product_type", "negative"): "Check product fit with a solution engineer before the proposal.",
    ("rep", "negative"): "Offer deal coaching or a peer review of this opportunity.",
}


def band_of(probability: np.ndarray) -> np.ndarray:
    """Band name per win probability (object array), using BAND_CUTOFFS."""
    p = np.asarray(probability, dtype=float)
    names = np.array([name for name, _ in BAND_CUTOFFS], dtype=object)
    thresholds = np.array([cutoff for _, cutoff in BAND_CUTOFFS])
    # Cut-offs are descending: count how many a probability falls below to find its band.
    position = np.sum(p[:, None] < thresholds[None, :], axis=1)
    return names[np.minimum(position, len(names) - 1)]


def typical_values(features: pd.DataFrame) -> dict:
    """Medians quoted as "typical" in labels: amount, age, stage moves, days in each stage."""
    if features.empty:
        return {}
    return {
        "amount": float(features["amount"].median()),
        "age_days": float(features["age_days"].median()),
        "stage_moves": float(features["stage_moves"].median()),
        "days_in_stage": float(features["days_in_stage"].median()),
        "days_in_stage_by_stage": {
            str(stage): float(days)
            for stage, days in features.groupby("stage")["days_in_stage"].median().items()
        },
    }


def compact_amount(value: float) -> str:
    """12,345 → "12k", 1,234,567 → "1.2M"; two significant digits."""
    if not np.isfinite(value):
        return "?"
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= divisor:
            scaled = value / divisor
            return f"{scaled:.1f}{suffix}" if abs(scaled) < 10 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


def driver_text(label: str, value: float) -> str:
    """ "Partner lead source: −0.4" — one decimal, a true minus sign."""
    sign = "−" if value < 0 else "+"
    return f"{label}: {sign}{abs(value):.1f}"


def _two_significant(values: np.ndarray) -> np.ndarray:
    safe = np.where(values > 0, values, 1.0)
    magnitude = np.power(10.0, np.floor(np.log10(safe)) - 1)
    return np.where(values > 0, np.round(values / magnitude) * magnitude, 0.0)


def _label_codes(
    group: str, features: pd.DataFrame, typical: Mapping[str, object]
) -> tuple[np.ndarray, list[str]]:
    """Per deal, a code for the label of ``group``; and the label text per code."""
    if group in (*SEGMENT_FEATURES, "stage", REP_FEATURE):
        codes, values = pd.factorize(features[group].astype(str), sort=False)
        name = FEATURE_NAMES[group]
        if group == REP_FEATURE:
            texts = [f"Rep {value}" if value else "No rep" for value in values]
        elif group == "stage":
            texts = [f"In {value} stage" if value else "Unknown stage" for value in values]
        else:
            texts = [f"{value} {name}" if value else f"Unknown {name}" for value in values]
        return codes.astype("int64"), texts
    if group == "amount":
        shown = _two_significant(features["amount"].to_numpy(dtype="float64"))
        codes, values = pd.factorize(shown, sort=False)
        typical_amount = compact_amount(float(typical.get("amount", np.nan)))
        return codes.astype("int64"), [
            f"Amount {compact_amount(v)} (typical {typical_amount})" for v in values
        ]
    if group == "days_in_stage":
        stage_codes, stages = pd.factorize(features["stage"].astype(str), sort=False)
        days = features["days_in_stage"].to_numpy(dtype="int64")
        codes, pairs = pd.factorize(days * len(stages) + stage_codes, sort=False)
        by_stage = typical.get("days_in_stage_by_stage", {})
        overall = typical.get("days_in_stage", np.nan)
        texts = []
        for pair in pairs.tolist():
            days_shown, stage = pair // len(stages), stages[pair % len(stages)]
            usual = by_stage.get(stage, overall) if isinstance(by_stage, Mapping) else overall
            texts.append(f"{days_shown} days in {stage or 'this stage'} (typical {_whole(usual)})")
        return codes.astype("int64"), texts
    if group in NUMERIC_FEATURES:
        codes, values = pd.factorize(features[group].to_numpy(dtype="int64"), sort=False)
        usual = _whole(typical.get(group, np.nan))
        if group == "age_days":
            texts = [f"Open {v} days (typical {usual})" for v in values]
        else:
            texts = [f"{v} stage moves (typical {usual})" for v in values]
        return codes.astype("int64"), texts
    raise ValueError(f"No label for feature {group!r}.")


def _whole(value: object) -> str:
    number = float(value) if isinstance(value, int | float) else float("nan")
    return f"{number:.0f}" if np.isfinite(number) else "?"


def top_driver_slots(contributions: np.ndarray, *, k: int = TOP_DRIVERS) -> tuple[np.ndarray, np.ndarray]:
    """Column index of up to ``k`` largest positive then ``k`` largest negative contributions.

    Returns (slots, values), both shape (n, 2k); empty slots have index -1. Contributions below
    MIN_DRIVER_LOG_ODDS in size leave their slot empty.
    """
    n, groups = contributions.shape
    if groups == 0:
        return np.full((n, 2 * k), -1, dtype="int64"), np.zeros((n, 2 * k))
    order = np.argsort(contributions, axis=1, kind="stable")
    width = min(k, groups)
    negative = order[:, :width]
    positive = order[:, ::-1][:, :width]
    slots = np.full((n, 2 * k), -1, dtype="int64")
    slots[:, :width] = positive
    slots[:, k : k + width] = negative
    rows = np.arange(n)[:, None]
    values = np.where(slots >= 0, contributions[rows, np.clip(slots, 0, None)], 0.0)
    keep = np.zeros_like(slots, dtype=bool)
    keep[:, :k] = values[:, :k] >= MIN_DRIVER_LOG_ODDS
    keep[:, k:] = values[:, k:] <= -MIN_DRIVER_LOG_ODDS
    return np.where(keep, slots, -1), np.where(keep, values, 0.0)


@dataclass(frozen=True)
class DriverTable:
    """The top drivers of n deals, stored as unique fragments plus one index per deal and slot.

    Slot 0–2 are positive drivers, 3–5 negative; a fragment is "" for an empty slot. Fragments
    of slots 1, 2, 4 and 5 carry their leading separator; the one between the positive and the
    negative half is added per deal only when both halves are present.
    """

    fragments: tuple[np.ndarray, ...]  # per slot: unique JSON fragments
    texts: tuple[np.ndarray, ...]  # per slot: unique "label: ±x" fragments
    inverse: tuple[np.ndarray, ...]  # per slot: fragment index per deal
    has_positive: np.ndarray
    has_negative: np.ndarray

    def __len__(self) -> int:
        return len(self.has_positive)

    def _matrix(
        self, per_slot: tuple[np.ndarray, ...], *, separator: str, start: str, stop: str
    ) -> np.ndarray:
        n = len(self)
        middle = np.where(self.has_positive & self.has_negative, separator, "").astype(object)
        columns = [np.full(n, start, dtype=object)]
        for slot, (unique, index) in enumerate(zip(per_slot, self.inverse, strict=True)):
            if slot == TOP_DRIVERS:
                columns.append(middle)
            columns.append(unique[index])
        columns.append(np.full(n, stop, dtype=object))
        return np.column_stack(columns)

    def json_matrix(self, *, copy_escape: bool = False) -> np.ndarray:
        """Pieces per deal that concatenate to its JSON array, optionally escaped for COPY text."""
        fragments = self.fragments
        if copy_escape:
            fragments = tuple(
                np.array([f.replace("\\", "\\\\") for f in unique], dtype=object) for unique in fragments
            )
        return self._matrix(fragments, separator=",", start="[", stop="]")

    def json_rows(self) -> list[str]:
        return ["".join(row) for row in self.json_matrix().tolist()]

    def entries(self) -> list[list[dict]]:
        return [json.loads(row) for row in self.json_rows()]

    def text_rows(self) -> list[str]:
        """Driver texts per deal: "Partner lead source: −0.4; …"."""
        return ["".join(row) for row in self._matrix(self.texts, separator="; ", start="", stop="").tolist()]

    def text_halves(self) -> tuple[list[str], list[str]]:
        """(positive, negative) driver texts per deal, each "label: ±x; …" or ""."""
        columns = [unique[index] for unique, index in zip(self.texts, self.inverse, strict=True)]
        # Within each half only the later fragments carry a "; " separator.
        positive = np.column_stack(columns[:TOP_DRIVERS]).tolist()
        negative = np.column_stack(columns[TOP_DRIVERS:]).tolist()
        return ["".join(row) for row in positive], ["".join(row) for row in negative]


def driver_table(
    *,
    groups: tuple[str, ...],
    contributions: np.ndarray,
    features: pd.DataFrame,
    typical: Mapping[str, object],
) -> DriverTable:
    """The top drivers of every deal, built from unique label/value combinations.

    JSON entries are ``{"feature", "label", "value"}`` with ``value`` rounded to 2 decimals;
    positive drivers first (largest first), then negative (most negative first).
    """
    n = len(features)
    slots, values = top_driver_slots(contributions)
    if n == 0 or not groups:
        nothing = tuple(np.array([""], dtype=object) for _ in range(2 * TOP_DRIVERS))
        zero = tuple(np.zeros(n, dtype="int64") for _ in range(2 * TOP_DRIVERS))
        none = np.zeros(n, dtype=bool)
        return DriverTable(
            fragments=nothing, texts=nothing, inverse=zero, has_positive=none, has_negative=none
        )
    label_codes, label_texts, offsets = [], [], [0]
    for group in groups:
        codes, texts = _label_codes(group, features, typical)
        label_codes.append(codes)
        label_texts.extend(texts)
        offsets.append(offsets[-1] + len(texts))
    code_matrix = np.vstack(label_codes)  # (groups, n)
    offset = np.asarray(offsets[:-1], dtype="int64")
    label_group = np.repeat(np.arange(len(groups)), np.diff(offsets))
    rows = np.arange(n)
    fragments, texts, inverses = [], [], []
    for column in range(slots.shape[1]):
        slot = slots[:, column]
        present = slot >= 0
        group_index = np.clip(slot, 0, None)
        label_id = offset[group_index] + code_matrix[group_index, rows]
        centi = np.round(values[:, column] * 100).astype("int64")
        # One int64 key per (label, rounded value); labels < 2^40, |centi| < 2^19.
        keys = np.where(present, (label_id << 20) | (centi + (1 << 19)), -1)
        inverse, unique_keys = pd.factorize(keys, sort=False)
        separator = column % TOP_DRIVERS != 0
        json_unique = np.empty(len(unique_keys), dtype=object)
        text_unique = np.empty(len(unique_keys), dtype=object)
        for position, key in enumerate(unique_keys.tolist()):
            if key < 0:
                json_unique[position] = text_unique[position] = ""
                continue
            label_index = key >> 20
            value = ((key & ((1 << 20) - 1)) - (1 << 19)) / 100
            label = label_texts[label_index]
            entry = {"feature": groups[label_group[label_index]], "label": label, "value": value}
            json_unique[position] = ("," if separator else "") + json.dumps(entry, ensure_ascii=False)
            text_unique[position] = ("; " if separator else "") + driver_text(label, value)
        fragments.append(json_unique)
        texts.append(text_unique)
        inverses.append(inverse.astype("int64"))
    return DriverTable(
        fragments=tuple(fragments),
        texts=tuple(texts),
        inverse=tuple(inverses),
        has_positive=slots[:, 0] >= 0,
        has_negative=slots[:, TOP_DRIVERS] >= 0,
    )
