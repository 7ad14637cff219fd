"""Risk bands, top drivers with plain-language labels, and default next actions. Pure: no Django.

Drivers are feature contributions in log-odds relative to the tenant's average deal (see
:class:`scoring.model.Decomposition`). Labels are built vectorised: each distinct (feature, shown value,
rounded contribution) is labelled once and deals point at it by code, so a million deals cost a
few numpy operations, not a million ``json.dumps`` calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
            where = stage or "this stage"
            texts.append(f"{_counted(days_shown, 'day')} in {where} (typical {_whole(usual)})")
        return codes.astype("int64"), texts
    if group in NUMERIC_FEATURES:
        codes, values = pd.factorize(features[group].to_numpy(dtype="int64"), sort=False)
        usual = _whole(typical.get(group, np.nan))
        if group == "age_days":
            texts = [f"Open {_counted(v, 'day')} (typical {usual})" for v in values]
        else:
            texts = [f"{_counted(v, 'stage move')} (typical {usual})" for v in values]
        return codes.astype("int64"), texts
    raise ValueError(f"No label for feature {group!r}.")


def _counted(count: int, noun: str) -> str:
    """ "1 day", "0 days", "3 stage moves"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


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


# Odd 64-bit multiplier (from splitmix64) combining the per-slot entry hashes in order.
_DIGEST_MULTIPLIER = 0x9E3779B97F4A7C15


@dataclass(frozen=True)
class DriverTable:
    """The top drivers of n deals: a dictionary of distinct entries and one code per deal and slot.

    ``codes[i, s]`` is the index in ``entries`` of deal i's driver in slot s (slots 0–2 positive,
    largest first; 3–5 negative, most negative first), or -1 when the slot is empty. A million
    deals share a few thousand distinct (feature, label, value) entries, so everything per entry
    (JSON, text) is formatted once.
    """

    codes: np.ndarray  # (n, 2 * TOP_DRIVERS) int32
    entries: tuple[dict[str, Any], ...]

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def concat(cls, tables: Sequence[DriverTable]) -> DriverTable:
        """The tables' deals one after another, with one entry per distinct (feature, label, value)."""
        index: dict[tuple[Any, ...], int] = {}
        entries: list[dict[str, Any]] = []
        codes = []
        for table in tables:
            remap = [-1]
            for entry in table.entries:
                key = (entry["feature"], entry["label"], entry["value"])
                if key not in index:
                    index[key] = len(entries)
                    entries.append(entry)
                remap.append(index[key])
            codes.append(np.asarray(remap, dtype="int32")[table.codes.astype("int64") + 1])
        width = tables[0].codes.shape[1] if tables else 2 * TOP_DRIVERS
        return cls(
            codes=np.concatenate(codes) if codes else np.full((0, width), -1, dtype="int32"),
            entries=tuple(entries),
        )

    def entry_json(self) -> list[str]:
        """Compact JSON of each distinct entry, in ``entries`` order (what ``digests`` hashes)."""
        return [json.dumps(entry, ensure_ascii=False, separators=(",", ":")) for entry in self.entries]

    def digests(self) -> np.ndarray:
        """A 64-bit fingerprint of each deal's drivers (int64), equal iff the drivers are (but
        for a 2**-64 chance): lets a rescoring tell changed drivers from unchanged ones without
        reading the stored ones back. Vectorised: one hash per distinct entry, then numpy.
        """
        entry_hashes = np.array(
            [0]
            + [
                int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little") | 1
                for text in self.entry_json()
            ],
            dtype="uint64",
        )
        digest = np.zeros(len(self.codes), dtype="uint64")
        with np.errstate(over="ignore"):
            for slot in range(self.codes.shape[1]):
                digest = digest * np.uint64(_DIGEST_MULTIPLIER) + entry_hashes[self.codes[:, slot] + 1]
        return digest.view("int64")

    def rows(self) -> list[list[dict[str, Any]]]:
        return [[self.entries[c] for c in row if c >= 0] for row in self.codes.tolist()]

    def text_halves(self) -> tuple[list[str], list[str]]:
        """(positive, negative) driver texts per deal, each "label: ±x; …" or ""."""
        texts = [driver_text(entry["label"], entry["value"]) for entry in self.entries]
        positive, negative = [], []
        for row in self.codes.tolist():
            positive.append("; ".join(texts[c] for c in row[:TOP_DRIVERS] if c >= 0))
            negative.append("; ".join(texts[c] for c in row[TOP_DRIVERS:] if c >= 0))
        return positive, negative


def driver_table(
    *,
    groups: tuple[str, ...],
    contributions: np.ndarray,
    features: pd.DataFrame,
    typical: Mapping[str, object],
) -> DriverTable:
    """The top drivers of every deal, labelled once per distinct (label, rounded value).

    Entries are ``{"feature", "label", "value"}`` with ``value`` the contribution in log-odds
    rounded to 2 decimals.
    """
    n = len(features)
    slots, values = top_driver_slots(contributions)
    if n == 0 or not groups:
        return DriverTable(codes=np.full((n, 2 * TOP_DRIVERS), -1, dtype="int32"), entries=())
    label_codes, label_texts, offsets = [], [], [0]
    for group in groups:
        codes, texts = _label_codes(group, features, typical)
        label_codes.append(codes)
        label_texts.extend(texts)
        offsets.append(offsets[-1] + len(texts))
    code_matrix = np.vstack(label_codes)  # (groups, n)
    offset = np.asarray(offsets[:-1], dtype="int64")
    label_group = np.repeat(np.arange(len(groups)), np.diff(offsets))
    present = slots >= 0
    group_index = np.clip(slots, 0, None)
    label_id = offset[group_index] + code_matrix[group_index, np.arange(n)[:, None]]
    centi = np.round(values * 100).astype("int64")
    # One int64 key per (label, rounded value): labels < 2^40, |centi| < 2^19.
    keys = np.where(present, (label_id << 20) | (centi + (1 << 19)), -1)
    flat_codes, unique_keys = pd.factorize(keys.ravel(), sort=False, use_na_sentinel=False)
    entries: list[dict[str, Any]] = []
    remap = np.full(len(unique_keys), -1, dtype="int32")
    for position, key in enumerate(unique_keys.tolist()):
        if key < 0:
            continue
        label_index = key >> 20
        remap[position] = len(entries)
        entries.append(
            {
                "feature": groups[label_group[label_index]],
                "label": label_texts[label_index],
                "value": ((key & ((1 << 20) - 1)) - (1 << 19)) / 100,
            }
        )
    return DriverTable(codes=remap[flat_codes].reshape(keys.shape), entries=tuple(entries))
