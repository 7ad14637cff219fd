"""The project's deterministic demo-data generator (pure numpy/pandas, no Django).

``generate_deals`` returns deals in the ``standard`` CSV schema (the columns of the reference
file ``skygeni_sales_data.csv``) plus optional CRM columns and two oracle columns
(:data:`ORACLE_COLUMNS`) that are never imported. ``generate_stage_history`` returns the stage
moves of those deals. The effects planted in the data are described in :data:`PLANTED` and in
docs/demo-data.md, so tests can check that insights, scoring and alerts find them.

Quarter convention: calendar quarters (fiscal year starting in January). ``Q0`` is the quarter
that contains ``anchor``, ``Q-1`` the last complete quarter, ``Q-2`` the one before. Closed
deals close between the first day of ``Q-7`` and ``anchor`` (inclusive), uniformly by day; open
deals are a snapshot of the pipeline on ``anchor``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

# Pipeline stages before closing, in order; "Closed" is the tenant's closing stage.
STAGES: tuple[str, ...] = ("Qualified", "Demo", "Proposal", "Negotiation")

STANDARD_COLUMNS: tuple[str, ...] = (
    "deal_id",
    "created_date",
    "closed_date",
    "sales_rep_id",
    "industry",
    "region",
    "product_type",
    "lead_source",
    "deal_stage",
    "deal_amount",
    "sales_cycle_days",
    "outcome",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "deal_name",
    "expected_close_date",
    "stage_entered_date",
    "rep_name",
    "rep_email",
)
# The generator's own truth: must never be imported as a deal field or feature.
ORACLE_COLUMNS: tuple[str, ...] = ("true_win_probability", "planted_stall")

HISTORY_COLUMNS: tuple[str, ...] = ("deal_id", "from_stage", "to_stage", "changed_on")

QUARTERS_OF_CLOSED_DEALS = 8  # Q-7 … Q0

# Median days a winning deal spends in each stage (product "Pro"); lognormal spread below.
STAGE_MEDIAN_DAYS: tuple[float, ...] = (8.0, 12.0, 16.0, 14.0)
STAGE_DURATION_SIGMA = 0.45
# Last stage reached before closing, by outcome (Qualified, Demo, Proposal, Negotiation).
LAST_STAGE_WON_P: tuple[float, ...] = (0.08, 0.20, 0.36, 0.36)
LAST_STAGE_LOST_P: tuple[float, ...] = (0.30, 0.28, 0.24, 0.18)
# Lost deals linger in the stage where they die; some drag on for months.
LOST_LAST_STAGE_FACTOR = 1.3
LOST_DRAGGER_SHARE = 0.30
LOST_DRAGGER_FACTOR = (2.5, 5.0)

OPEN_STALLED_SHARE = 0.08
OPEN_NORMAL_STAGE_P: tuple[float, ...] = (0.32, 0.27, 0.23, 0.18)
OPEN_STALLED_STAGE_P: tuple[float, ...] = (0.15, 0.20, 0.35, 0.30)
# A normal open deal stays below this share of the typical won time in stage and won cycle.
OPEN_NORMAL_CAP = 0.85
# A stalled open deal has spent this multiple of the median won time in its stage …
OPEN_STALL_STAGE_MULTIPLE = (2.5, 4.5)
# … and is this multiple of its product's median winning cycle old.
OPEN_STALL_AGE_MULTIPLE = (1.5, 2.2)
OPEN_MAX_AGE_DAYS = 150
# Log-odds per doubling of time in stage beyond the median won time in that stage (open deals).
STALL_LOG_ODDS_PER_DOUBLING = -0.8

AMOUNT_REFERENCE_USD = 20_000.0


@dataclass(frozen=True)
class _Level:
    name: str
    weight: float
    log_odds: float


@dataclass(frozen=True)
class _Product:
    name: str
    weight: float
    log_odds: float
    median_amount: float
    amount_sigma: float
    cycle_factor: float


@dataclass(frozen=True)
class _Variant:
    key: str
    deal_id_prefix: str
    intercept: float
    log_amount_log_odds: float
    industries: tuple[_Level, ...]
    regions: tuple[_Level, ...]
    products: tuple[_Product, ...]
    lead_sources: tuple[_Level, ...]
    # Lead-source weights from Q-1 on (the mix shift); equal to lead_sources' when no shift.
    shifted_lead_weights: tuple[float, ...]
    # (region, log-odds) applied to deals closing in Q-1 or later and to open deals.
    region_drop: tuple[str, float] | None
    reps: tuple[tuple[str, str, str], ...]  # (CRM id, name, email)
    rep_log_odds: dict[str, float]
    companies: tuple[str, ...]
    company_suffixes: tuple[str, ...]


_DEMO_REP_NAMES = (
    "Ava Thompson",
    "Liam Carter",
    "Sofia Martinez",
    "Noah Bennett",
    "Maya Patel",
    "Ethan Brooks",
    "Chloe Nguyen",
    "Lucas Rivera",
    "Priya Sharma",
    "Owen Mitchell",
    "Grace Kim",
    "Daniel Foster",
    "Hannah Wright",
    "Arjun Mehta",
    "Zoe Campbell",
    "Samuel Price",
    "Isla Robertson",
    "Mateo Alvarez",
    "Leah Goldberg",
    "Ryan O'Connor",
    "Aisha Bello",
    "Jack Sullivan",
    "Mei Lin",
    "Victor Dubois",
    "Nora Lindqvist",
)
_NORTHWIND_REP_NAMES = (
    "Astrid Nilsson",
    "Lars Johansen",
    "Freya Andersen",
    "Mikael Virtanen",
    "Ingrid Halvorsen",
    "Jonas Berg",
    "Sanna Korhonen",
    "Emil Lund",
    "Karin Dahl",
    "Oskar Holm",
    "Elin Strand",
    "Henrik Aalto",
)


def _email(name: str, domain: str) -> str:
    local = name.lower().replace("'", "").replace(" ", ".")
    return f"{local}@{domain}"


_VARIANTS: dict[str, _Variant] = {
    "demo": _Variant(
        key="demo",
        deal_id_prefix="D",
        intercept=0.05,
        log_amount_log_odds=-0.45,
        industries=(
            _Level("SaaS", 0.22, 0.30),
            _Level("FinTech", 0.20, 0.0),
            _Level("HealthTech", 0.20, -0.30),
            _Level("Ecommerce", 0.20, 0.15),
            _Level("EdTech", 0.18, -0.15),
        ),
        regions=(
            _Level("North America", 0.26, 0.10),
            _Level("Europe", 0.30, 0.0),
            _Level("APAC", 0.24, -0.10),
            _Level("India", 0.20, 0.0),
        ),
        products=(
            _Product("Core", 0.34, 0.0, 6_000.0, 0.60, 0.85),
            _Product("Pro", 0.33, 0.15, 20_000.0, 0.60, 1.00),
            _Product("Enterprise", 0.33, 0.50, 80_000.0, 0.60, 1.25),
        ),
        lead_sources=(
            _Level("Inbound", 0.33, 0.0),
            _Level("Outbound", 0.30, -0.35),
            _Level("Referral", 0.25, 0.45),
            _Level("Partner", 0.12, -1.90),
        ),
        # Partner 12% → 50%; the others keep their relative shares.
        shifted_lead_weights=(0.33 * 0.5 / 0.88, 0.30 * 0.5 / 0.88, 0.25 * 0.5 / 0.88, 0.50),
        region_drop=("Europe", -0.75),
        reps=tuple(
            (f"rep_{i + 1}", name, _email(name, "demo-sales.example"))
            for i, name in enumerate(_DEMO_REP_NAMES)
        ),
        rep_log_odds={"rep_13": -0.95},
        companies=(
            "Acme",
            "Globex",
            "Initech",
            "Umbrella",
            "Stark",
            "Wayne",
            "Hooli",
            "Vandelay",
            "Soylent",
            "Cyberdyne",
            "Tyrell",
            "Wonka",
            "Gringotts",
            "Oscorp",
            "Nakatomi",
            "Pied Piper",
            "Massive Dynamic",
            "Aperture",
            "Black Mesa",
            "Blue Sun",
            "Dunder",
            "Prestige",
            "Monarch",
            "Sirius",
            "Vortex",
            "Bluebird",
            "Redwood",
            "Northstar",
            "Brightline",
            "Quantum",
        ),
        company_suffixes=("Corp", "Labs", "Systems", "Health", "Pay", "Learning", "Retail", "Cloud"),
    ),
    "northwind": _Variant(
        key="northwind",
        deal_id_prefix="NW",
        intercept=0.10,
        log_amount_log_odds=-0.30,
        industries=(
            _Level("Manufacturing", 0.30, 0.10),
            _Level("Logistics", 0.25, 0.0),
            _Level("Retail", 0.20, -0.15),
            _Level("Energy", 0.25, 0.20),
        ),
        regions=(
            _Level("Nordics", 0.40, 0.10),
            _Level("DACH", 0.30, 0.0),
            _Level("UK & Ireland", 0.20, -0.10),
            _Level("Benelux", 0.10, 0.0),
        ),
        products=(
            _Product("Starter", 0.40, 0.0, 15_000.0, 0.45, 0.90),
            _Product("Growth", 0.40, 0.15, 45_000.0, 0.50, 1.10),
            _Product("Enterprise", 0.20, 0.30, 150_000.0, 0.55, 1.40),
        ),
        lead_sources=(
            _Level("Inbound", 0.30, 0.10),
            _Level("Outbound", 0.30, -0.20),
            _Level("Events", 0.25, 0.25),
            _Level("Partner", 0.15, -0.60),
        ),
        shifted_lead_weights=(0.30, 0.30, 0.25, 0.15),
        region_drop=None,
        reps=tuple(
            (f"nw-{i + 1:02d}", name, _email(name, "northwind.example"))
            for i, name in enumerate(_NORTHWIND_REP_NAMES)
        ),
        rep_log_odds={},
        companies=(
            "Fjord",
            "Aurora",
            "Hansa",
            "Nordlys",
            "Kvarn",
            "Baltic",
            "Rhein",
            "Tulip",
            "Thames",
            "Viking",
            "Skagen",
            "Alpen",
            "Polar",
            "Orkney",
            "Delta",
        ),
        company_suffixes=("AB", "AS", "GmbH", "Ltd", "BV", "Oy", "Group"),
    ),
}

TENANT_VARIANTS: tuple[str, ...] = tuple(_VARIANTS)

_DEAL_KINDS = ("new business", "expansion", "renewal", "pilot")

_DEMO = _VARIANTS["demo"]


def stage_log_bayes_factors() -> dict[str, float]:
    """Log-odds gained by having reached each stage, implied by the generator's funnel.

    log(P(reached ≥ stage | won) / P(reached ≥ stage | lost)); 0 for the first stage.
    """
    reached_won = 1.0 - np.concatenate([[0.0], np.cumsum(LAST_STAGE_WON_P)[:-1]])
    reached_lost = 1.0 - np.concatenate([[0.0], np.cumsum(LAST_STAGE_LOST_P)[:-1]])
    factors = np.log(reached_won / reached_lost)
    return {stage: round(float(value), 6) for stage, value in zip(STAGES, factors, strict=True)}


def _lead(name: str) -> _Level:
    return next(level for level in _DEMO.lead_sources if level.name == name)


# What the demo variant plants, with the numbers docs/demo-data.md explains. Shares and
# log-odds are the generator's inputs; "approx_" values are what the default data shows.
PLANTED: dict[str, Any] = {
    "variant": "demo",
    "quarters": {
        "convention": "calendar quarters; Q0 contains anchor, Q-1 is the last complete quarter",
        "closed_from_quarter": -(QUARTERS_OF_CLOSED_DEALS - 1),
        "closed_to": "anchor",
    },
    # a. Partner converts far worse, and its share jumps from Q-1 on (Q0 and the pipeline too).
    "partner_mix_shift": {
        "dimension": "lead_source",
        "value": "Partner",
        "effect": "mix",
        "log_odds": _lead("Partner").log_odds,
        "share_before": _lead("Partner").weight,
        "share_after": _DEMO.shifted_lead_weights[-1],
        "shift_from_quarter": -1,
        "approx_win_rate": 0.16,
        "approx_other_win_rate": 0.54,
        "approx_contribution_pts": -9.8,
    },
    # b. Europe converts worse from Q-1 on, its share unchanged.
    "europe_rate_drop": {
        "dimension": "region",
        "value": "Europe",
        "effect": "rate",
        "log_odds": _DEMO.region_drop[1] if _DEMO.region_drop else 0.0,
        "share": next(level.weight for level in _DEMO.regions if level.name == "Europe"),
        "drop_from_quarter": -1,
        "approx_drop_vs_other_regions_pts": -13.6,
        "approx_contribution_pts": -8.3,
    },
    # c. One weak rep; every other rep has identical true skill.
    "weak_rep": {
        "dimension": "rep",
        "value": "rep_13",
        "log_odds": _DEMO.rep_log_odds["rep_13"],
        "approx_gap_pts": -20,
        "approx_closed_deals": 200,
    },
    # d. Long cycles lose; a set of open deals is stalled in its stage.
    "long_cycles_lose": {
        "lost_last_stage_factor": LOST_LAST_STAGE_FACTOR,
        "lost_dragger_share": LOST_DRAGGER_SHARE,
        "lost_dragger_last_stage_factor": LOST_DRAGGER_FACTOR,
        "cycle_multiple_of_median_won": 2.0,
        "max_win_rate_beyond": 0.25,
    },
    "stalled_open_deals": {
        "column": "planted_stall",
        "share": OPEN_STALLED_SHARE,
        "time_in_stage_multiple_of_median_won": OPEN_STALL_STAGE_MULTIPLE,
        "age_multiple_of_median_won_cycle": OPEN_STALL_AGE_MULTIPLE,
        "normal_open_cap_of_median": OPEN_NORMAL_CAP,
        "max_alerting_share": 0.15,
    },
    # e. The oracle: true_win_probability = logistic of this linear predictor.
    "win_probability": {
        "intercept": _DEMO.intercept,
        "log_amount_per_ln_usd": _DEMO.log_amount_log_odds,
        "amount_reference_usd": AMOUNT_REFERENCE_USD,
        "lead_source": {level.name: level.log_odds for level in _DEMO.lead_sources},
        "industry": {level.name: level.log_odds for level in _DEMO.industries},
        "product_type": {product.name: product.log_odds for product in _DEMO.products},
        "region": {level.name: level.log_odds for level in _DEMO.regions},
        "region_drop_from_q_minus_1": dict([_DEMO.region_drop]) if _DEMO.region_drop else {},
        "rep": dict(_DEMO.rep_log_odds),
        "open_stage": stage_log_bayes_factors(),
        "open_stall_per_doubling": STALL_LOG_ODDS_PER_DOUBLING,
    },
}


def quarter_start(day: datetime.date, offset: int = 0) -> datetime.date:
    """First day of the calendar quarter ``offset`` quarters from the one containing ``day``."""
    index = day.year * 4 + (day.month - 1) // 3 + offset
    return datetime.date(index // 4, (index % 4) * 3 + 1, 1)


def quarter_bounds(anchor: datetime.date, offset: int) -> tuple[datetime.date, datetime.date]:
    """Inclusive (first, last) day of quarter ``Q<offset>`` relative to ``anchor`` (Q0 holds it)."""
    first = quarter_start(anchor, offset)
    last = quarter_start(anchor, offset + 1) - datetime.timedelta(days=1)
    return first, last


def relative_quarter(dates: pd.Series | np.ndarray, anchor: datetime.date) -> np.ndarray:
    """Quarter offset of each date relative to ``anchor``'s quarter (0, -1, -2, …)."""
    months = np.asarray(dates, dtype="datetime64[M]").astype(np.int64)  # months since 1970-01
    anchor_index = (anchor.year - 1970) * 4 + (anchor.month - 1) // 3
    return months // 3 - anchor_index


_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _order(tie: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Row order by ``keys`` (most significant first, small non-negative ints), ties by ``tie``.

    ``tie`` holds uniforms in [0, 1). One float argsort over a mixed-radix key is several times
    faster than ``np.lexsort`` on a million rows.
    """
    combined = np.zeros(len(tie), dtype=np.float64)
    for key in keys:
        key = np.asarray(key, dtype=np.int64)
        low = int(key.min(initial=0))
        combined = combined * (int(key.max(initial=0)) - low + 1) + (key - low)
    return np.argsort(combined + tie, kind="stable")


def _balanced_draw(
    rng: np.random.Generator, weights: np.ndarray, groups: np.ndarray | None, order: np.ndarray
) -> np.ndarray:
    """Category index per row, with every run of ``order`` holding its expected counts (±2).

    ``weights`` is (k,) or (n_groups, k), then chosen per row by ``groups``. Rows in ``order``
    take the points of a golden-ratio (Kronecker) sequence from a random start, so each row
    still gets category j with probability w_j, but shares inside any block of the ordering
    are free of sampling noise.
    """
    n = len(order)
    cumulative = np.cumsum(weights, axis=-1)
    cumulative = cumulative / cumulative[..., -1:]
    points = np.empty(n)
    points[order] = (rng.random() + np.arange(n) * _GOLDEN) % 1.0
    if groups is None:
        return np.searchsorted(cumulative, points, side="right")
    index = np.empty(n, dtype=np.int64)
    for group in np.unique(groups):  # a handful of weight tables, not a loop per row
        rows = groups == group
        index[rows] = np.searchsorted(cumulative[group], points[rows], side="right")
    return index


def _systematic_outcomes(rng: np.random.Generator, probability: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Bernoulli outcomes with these marginals whose sum over any run of ``order`` is within 1.

    Systematic sampling: each deal still wins with exactly its probability, but the number of
    wins in each block of the ordering is its expected value rounded, so block rates are free of
    binomial noise.
    """
    sorted_p = probability[order]
    start = rng.random()
    upper = np.floor(np.cumsum(sorted_p) + start)
    lower = np.concatenate([[np.floor(start)], upper[:-1]])
    won_sorted = (upper - lower).astype(bool)
    won = np.empty_like(won_sorted)
    won[order] = won_sorted
    return won


def _split_offsets(pre_days: np.ndarray, last_stage: np.ndarray) -> np.ndarray:
    """Days from creation to entering each stage up to ``last_stage`` ((n, 4); -1 beyond it).

    The time before the last stage is shared among the earlier stages in proportion to their
    median durations, at least one day each. ``generate_stage_history`` uses the same rule, so
    histories match the deals exactly.
    """
    medians = np.asarray(STAGE_MEDIAN_DAYS)
    prefix = np.concatenate([[0.0], np.cumsum(medians)])  # prefix[k] = Σ medians before stage k
    n = len(pre_days)
    stage = np.arange(len(STAGES))[None, :]
    last = last_stage[:, None]
    spare = (pre_days - last_stage)[:, None].astype(np.float64)
    share = prefix[:-1][None, :] / prefix[last_stage][:, None].clip(min=1.0)
    offsets = stage + np.floor(share * spare)
    offsets = np.where(stage == last, pre_days[:, None], offsets)
    offsets = np.where(stage > last, -1, offsets)
    return offsets.astype(np.int64).reshape(n, len(STAGES))


def _stage_durations(offsets: np.ndarray, last_stage: np.ndarray, last_days: np.ndarray) -> np.ndarray:
    """Days spent in each stage ((n, 4), NaN beyond the last stage) from entry offsets."""
    durations = np.full(offsets.shape, np.nan)
    stages = np.arange(len(STAGES))[None, :]
    following = np.concatenate([offsets[:, 1:], np.full((len(offsets), 1), -1)], axis=1)
    middle = stages < last_stage[:, None]
    durations[middle] = (following - offsets)[middle]
    at_last = stages == last_stage[:, None]
    durations[at_last] = last_days
    return durations


def generate_deals(
    *,
    seed: int = 7,
    anchor: datetime.date,
    n_closed: int = 5000,
    n_open: int = 600,
    tenant_variant: str = "demo",
) -> pd.DataFrame:
    """Deterministic demo deals: the same arguments always give the identical frame.

    Returns one row per deal (closed first in creation order, then open), with the columns
    :data:`STANDARD_COLUMNS`, :data:`OPTIONAL_COLUMNS` and :data:`ORACLE_COLUMNS`. Dates are
    ``datetime64`` (NaT when unknown), ``deal_amount`` whole dollars, ``sales_cycle_days``
    nullable ints (empty for open deals), ``outcome`` "Won", "Lost" or "" (open).
    ``true_win_probability`` is the generator's own probability (at creation for closed deals,
    on ``anchor`` for open ones); ``planted_stall`` marks the planted stalled open deals.
    Raises ValueError for an unknown ``tenant_variant`` or negative counts.
    """
    if tenant_variant not in _VARIANTS:
        raise ValueError(f"Unknown tenant variant {tenant_variant!r}; choose from {TENANT_VARIANTS}.")
    if n_closed < 0 or n_open < 0:
        raise ValueError("Deal counts must not be negative.")
    variant = _VARIANTS[tenant_variant]
    rng = np.random.default_rng(np.random.SeedSequence([seed, TENANT_VARIANTS.index(tenant_variant)]))
    anchor_day = np.datetime64(anchor, "D")
    n = n_closed + n_open
    is_open = np.arange(n) >= n_closed

    # When closed deals close, and so which quarter's mix and rates apply.
    first_day = np.datetime64(quarter_start(anchor, -(QUARTERS_OF_CLOSED_DEALS - 1)), "D")
    span_days = int((anchor_day - first_day).astype(np.int64))
    close_offset = rng.integers(0, span_days + 1, size=n)
    closed_day = first_day + close_offset.astype("timedelta64[D]")
    quarter = np.where(is_open, 0, relative_quarter(closed_day, anchor))
    shifted = quarter >= -1

    # Segment fields: balanced within each close quarter (and within the fields drawn before),
    # so shares move only where an effect is planted.
    period = np.where(is_open, 1, quarter)
    tie = rng.random(n)
    industry = _balanced_draw(
        rng, np.array([lv.weight for lv in variant.industries]), None, _order(tie, period)
    )
    region = _balanced_draw(
        rng, np.array([lv.weight for lv in variant.regions]), None, _order(tie, period, industry)
    )
    product = _balanced_draw(
        rng,
        np.array([p.weight for p in variant.products]),
        None,
        _order(tie, period, region, industry),
    )
    lead_weights = np.array([[lv.weight for lv in variant.lead_sources], list(variant.shifted_lead_weights)])
    lead = _balanced_draw(
        rng, lead_weights, shifted.astype(np.int64), _order(tie, period, product, region, industry)
    )
    rep = _balanced_draw(
        rng,
        np.full(len(variant.reps), 1.0 / len(variant.reps)),
        None,
        _order(tie, period, lead, product, region, industry),
    )
    rep_effect = np.array([variant.rep_log_odds.get(crm_id, 0.0) for crm_id, _, _ in variant.reps])
    # 0 for reps of ordinary skill, k for the k-th rep with a planted effect.
    planted_rep = np.cumsum(rep_effect != 0) * (rep_effect != 0)

    median_amount = np.array([p.median_amount for p in variant.products])[product]
    amount_sigma = np.array([p.amount_sigma for p in variant.products])[product]
    amount = np.clip(
        np.round(median_amount * np.exp(amount_sigma * rng.standard_normal(n))), 1_000, 2_000_000
    )

    static_log_odds = (
        variant.intercept
        + np.array([lv.log_odds for lv in variant.lead_sources])[lead]
        + np.array([lv.log_odds for lv in variant.industries])[industry]
        + np.array([p.log_odds for p in variant.products])[product]
        + np.array([lv.log_odds for lv in variant.regions])[region]
        + variant.log_amount_log_odds * (np.log(amount) - np.log(AMOUNT_REFERENCE_USD))
        + rep_effect[rep]
    )
    if variant.region_drop is not None:
        region_names = [lv.name for lv in variant.regions]
        dropped = region_names.index(variant.region_drop[0])
        static_log_odds = static_log_odds + np.where(
            shifted & (region == dropped), variant.region_drop[1], 0.0
        )
    static_probability = 1.0 / (1.0 + np.exp(-static_log_odds))

    # Outcomes: systematic sampling within quarter → planted rep → lead → region → product
    # blocks, so planted effects show at their size; other reps keep ordinary binomial noise.
    order = _order(rng.random(n), period, planted_rep[rep], lead, region, product, industry)
    won = _systematic_outcomes(rng, np.where(is_open, 0.0, static_probability), order) & ~is_open

    cycle_factor = np.array([p.cycle_factor for p in variant.products])[product]
    durations = (
        np.asarray(STAGE_MEDIAN_DAYS)[None, :]
        * cycle_factor[:, None]
        * np.exp(STAGE_DURATION_SIGMA * rng.standard_normal((n, len(STAGES))))
    )
    last_stage = _balanced_draw(
        rng,
        np.array([LAST_STAGE_LOST_P, LAST_STAGE_WON_P]),
        won.astype(np.int64),
        _order(tie, period, won),
    )
    dragger = rng.random(n) < LOST_DRAGGER_SHARE
    drag = rng.uniform(*LOST_DRAGGER_FACTOR, size=n)
    last_factor = np.where(won, 1.0, np.where(dragger, drag, LOST_LAST_STAGE_FACTOR))

    # Closed deals: stage durations up to the last stage, the last one stretched for losers.
    whole = np.maximum(np.round(durations), 1).astype(np.int64)
    stage_index = np.arange(len(STAGES))[None, :]
    pre_days = np.where(stage_index < last_stage[:, None], whole, 0).sum(axis=1)
    last_days = np.maximum(np.round(durations[np.arange(n), last_stage] * last_factor), 1).astype(np.int64)

    # Open deals: current stage, time in it, and age, capped against what won deals took.
    stalled = np.zeros(n, dtype=bool)
    open_index = np.flatnonzero(is_open)
    n_stalled = round(OPEN_STALLED_SHARE * n_open)
    stalled[rng.permutation(open_index)[:n_stalled]] = True
    open_stage = _balanced_draw(
        rng,
        np.array([OPEN_NORMAL_STAGE_P, OPEN_STALLED_STAGE_P]),
        stalled.astype(np.int64),
        _order(tie, stalled),
    )
    last_stage = np.where(is_open, open_stage, last_stage)
    pre_days = np.where(stage_index < last_stage[:, None], whole, 0).sum(axis=1)

    closed_mask = ~is_open
    offsets_closed = _split_offsets(pre_days[closed_mask], last_stage[closed_mask])
    won_durations = _stage_durations(offsets_closed, last_stage[closed_mask], last_days[closed_mask])
    won_cycle = (pre_days + last_days)[closed_mask]
    typical = _typical_won_days(
        won_durations[won[closed_mask]],
        won_cycle[won[closed_mask]],
        product[closed_mask][won[closed_mask]],
        np.array([p.cycle_factor for p in variant.products]),
    )
    median_stage_days = typical["stage"][product, last_stage]  # (n,)
    median_cycle_days = typical["cycle"][product]

    in_stage_normal = np.floor(
        rng.uniform(0.0, OPEN_NORMAL_CAP, size=n) * typical["stage_cap"][product, last_stage]
    )
    age_normal = pre_days + in_stage_normal
    age_cap = OPEN_NORMAL_CAP * typical["cycle_cap"][product]
    shrink = np.where(
        age_normal > age_cap, age_cap * rng.uniform(0.6, 1.0, size=n) / np.maximum(age_normal, 1), 1.0
    )
    pre_normal = np.floor(pre_days * shrink)
    in_stage_normal = np.floor(in_stage_normal * shrink)
    pre_normal = np.maximum(pre_normal, last_stage)  # at least a day per earlier stage

    in_stage_stalled = np.ceil(rng.uniform(*OPEN_STALL_STAGE_MULTIPLE, size=n) * median_stage_days)
    target_age = np.ceil(rng.uniform(*OPEN_STALL_AGE_MULTIPLE, size=n) * median_cycle_days)
    in_stage_stalled = np.maximum(in_stage_stalled, target_age - pre_days)
    # Keep stalled deals inside the pipeline window, but never below the stall multiple.
    min_stalled = np.ceil(OPEN_STALL_STAGE_MULTIPLE[0] * median_stage_days)
    in_stage_stalled = np.maximum(np.minimum(in_stage_stalled, OPEN_MAX_AGE_DAYS - pre_days), min_stalled)
    pre_open = np.where(stalled, pre_days, pre_normal).astype(np.int64)
    in_stage_open = np.where(stalled, in_stage_stalled, in_stage_normal).astype(np.int64)

    # Dates.
    day = np.timedelta64(1, "D")
    closed_cycle = pre_days + last_days
    created = np.where(
        is_open, anchor_day - (pre_open + in_stage_open) * day, closed_day - closed_cycle * day
    )
    stage_entered = np.where(is_open, anchor_day - in_stage_open * day, closed_day - last_days * day)
    closed_out = np.where(is_open, np.datetime64("NaT"), closed_day)
    planned_cycle = np.round(median_cycle_days * rng.uniform(0.8, 1.3, size=n)).astype(np.int64)
    expected = created + planned_cycle * day
    slide = rng.integers(7, 45, size=n) * day
    expected = np.where(is_open & ~stalled & (expected <= anchor_day), anchor_day + slide, expected)

    open_probability = _while_open_probability(static_log_odds, last_stage, in_stage_open, median_stage_days)
    true_probability = np.where(is_open, open_probability, static_probability)

    # Rows and deal ids follow creation order, as a CRM's would.
    rows = _order(rng.random(n), is_open, created)
    name_code = _deal_name_codes(rng, variant, product, n)

    def labels(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
        # Plain strings rather than categoricals: callers map, fill and compare them freely.
        return np.asarray(names, dtype=object)[codes[rows]]

    def dates(values: np.ndarray) -> pd.Series:
        return pd.Series(values[rows].astype("datetime64[s]"))

    cycle_days = pd.array(closed_cycle[rows], dtype="Int64")
    cycle_days[is_open[rows]] = pd.NA
    outcome_code = np.where(is_open, 0, np.where(won, 1, 2))
    return pd.DataFrame(
        {
            "deal_id": _deal_ids(variant.deal_id_prefix, n),
            "created_date": dates(created),
            "closed_date": dates(closed_out),
            "sales_rep_id": labels(rep, [r[0] for r in variant.reps]),
            "industry": labels(industry, [lv.name for lv in variant.industries]),
            "region": labels(region, [lv.name for lv in variant.regions]),
            "product_type": labels(product, [p.name for p in variant.products]),
            "lead_source": labels(lead, [lv.name for lv in variant.lead_sources]),
            "deal_stage": labels(last_stage, STAGES),
            "deal_amount": amount.astype(np.int64)[rows],
            "sales_cycle_days": cycle_days,
            "outcome": labels(outcome_code, ["", "Won", "Lost"]),
            "deal_name": labels(name_code, _deal_name_table(variant)),
            "expected_close_date": dates(expected),
            "stage_entered_date": dates(stage_entered),
            "rep_name": labels(rep, [r[1] for r in variant.reps]),
            "rep_email": labels(rep, [r[2] for r in variant.reps]),
            "true_win_probability": true_probability[rows],
            "planted_stall": stalled[rows],
        }
    )


def _deal_ids(prefix: str, n: int) -> np.ndarray:
    """``prefix`` + zero-padded 1…n (at least 5 digits), built as bytes: fast for millions."""
    width = max(5, len(str(n)))
    numbers = np.arange(1, n + 1, dtype=np.int64)
    digits = (numbers[:, None] // 10 ** np.arange(width - 1, -1, -1)[None, :]) % 10 + ord("0")
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    text = np.ascontiguousarray(np.concatenate([head, digits.astype(np.uint8)], axis=1))
    size = text.shape[1]
    return text.view(f"S{size}").ravel().astype(f"U{size}").astype(object)


def _while_open_probability(
    static_log_odds: np.ndarray, stage: np.ndarray, days_in_stage: np.ndarray, median_won_days: np.ndarray
) -> np.ndarray:
    """Win probability of a deal seen while open: what reaching ``stage`` says (the funnel's
    Bayes factor), minus a penalty per doubling of time in stage beyond the won median."""
    stage_factor = np.asarray(list(stage_log_bayes_factors().values()))[stage]
    doublings = np.maximum(0.0, np.log2(np.maximum(days_in_stage, 1) / median_won_days))
    log_odds = static_log_odds + stage_factor + STALL_LOG_ODDS_PER_DOUBLING * doublings
    return 1.0 / (1.0 + np.exp(-log_odds))


def _typical_won_days(
    stage_days: np.ndarray, cycle_days: np.ndarray, product: np.ndarray, cycle_factor: np.ndarray
) -> dict[str, np.ndarray]:
    """Median won time per (product, stage) and won cycle per product, and the caps below them.

    Falls back to the design medians where there are too few won deals. The caps are the
    smaller of the product's and the whole tenant's medians, so a normal open deal stays under
    the thresholds whether alerts compare it with its product or with all deals.
    """
    n_products = len(cycle_factor)
    design_stage = np.asarray(STAGE_MEDIAN_DAYS)[None, :] * cycle_factor[:, None]
    design_cycle = design_stage.sum(axis=1)
    stage = design_stage.copy()
    cycle = design_cycle.copy()
    for index in range(n_products):  # a handful of products, not a loop per deal
        rows = product == index
        if rows.sum() >= 30:
            cycle[index] = float(np.median(cycle_days[rows]))
            for stage_index in range(len(STAGES)):
                values = stage_days[rows, stage_index]
                values = values[~np.isnan(values)]
                if len(values) >= 30:
                    stage[index, stage_index] = float(np.median(values))
    overall_stage = stage.min(axis=0)
    if len(cycle_days) >= 30:
        overall_stage = np.minimum(overall_stage, np.nanmedian(stage_days, axis=0))
    overall_cycle = float(np.median(cycle_days)) if len(cycle_days) >= 30 else float(cycle.min())
    return {
        "stage": stage,
        "cycle": cycle,
        "stage_cap": np.minimum(stage, overall_stage[None, :]),
        "cycle_cap": np.minimum(cycle, overall_cycle),
    }


def _deal_name_table(variant: _Variant) -> list[str]:
    """Every deal name the variant can produce, e.g. "Acme Corp — Pro expansion"."""
    companies = [f"{name} {suffix}" for name in variant.companies for suffix in variant.company_suffixes]
    products = [p.name for p in variant.products]
    return [
        f"{company} — {prod} {kind}" for company in companies for prod in products for kind in _DEAL_KINDS
    ]


def _deal_name_codes(rng: np.random.Generator, variant: _Variant, product: np.ndarray, n: int) -> np.ndarray:
    """Index into :func:`_deal_name_table` per deal: a random company and kind, its own product."""
    n_companies = len(variant.companies) * len(variant.company_suffixes)
    company = rng.integers(0, n_companies, size=n)
    kind = rng.integers(0, len(_DEAL_KINDS), size=n)
    return (company * len(variant.products) + product) * len(_DEAL_KINDS) + kind


def generate_stage_history(deals: pd.DataFrame) -> pd.DataFrame:
    """Every stage move of ``deals`` (closed and open): columns :data:`HISTORY_COLUMNS`.

    One row per stage reached: ("" → Qualified on created_date), then each move up to the
    deal's ``deal_stage``, the last one on ``stage_entered_date``. Closing is not a row: it is
    the deal's closed_date. Rows are ordered by deal and date; dates strictly increase.
    Uses the same split rule as :func:`generate_deals`, so time in each stage matches.
    """
    stage_codes = {stage: index for index, stage in enumerate(STAGES)}
    last_stage = deals["deal_stage"].map(stage_codes).to_numpy(dtype=np.int64)
    created = deals["created_date"].to_numpy(dtype="datetime64[D]")
    entered = deals["stage_entered_date"].to_numpy(dtype="datetime64[D]")
    pre_days = (entered - created).astype(np.int64)
    offsets = _split_offsets(pre_days, last_stage)

    reached = np.arange(len(STAGES))[None, :] <= last_stage[:, None]
    deal_rows, stage_cols = np.nonzero(reached)
    from_stages = np.array(("", *STAGES[:-1]), dtype=object)
    changed_on = created[deal_rows] + offsets[deal_rows, stage_cols].astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "deal_id": deals["deal_id"].to_numpy()[deal_rows],
            "from_stage": from_stages[stage_cols],
            "to_stage": np.array(STAGES, dtype=object)[stage_cols],
            "changed_on": pd.to_datetime(changed_on),
        }
    )


def _codes(values: pd.Series, names: list[str] | tuple[str, ...]) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(names)).codes.astype(np.int64)
    if (codes < 0).any():
        raise ValueError(f"{values.name} holds values outside {list(names)}; is this the right variant?")
    return codes


def static_win_log_odds(
    deals: pd.DataFrame, *, anchor: datetime.date, tenant_variant: str = "demo"
) -> np.ndarray:
    """The linear predictor of each deal at creation (see PLANTED["win_probability"]).

    For a closed deal, logistic of this is its ``true_win_probability``. The regional drop
    applies to deals closing in Q-1 or later relative to ``anchor`` and to every open deal.
    """
    variant = _VARIANTS[tenant_variant]
    amount = deals["deal_amount"].to_numpy(dtype=np.float64)
    log_odds = (
        variant.intercept
        + np.array([lv.log_odds for lv in variant.lead_sources])[
            _codes(deals["lead_source"], [lv.name for lv in variant.lead_sources])
        ]
        + np.array([lv.log_odds for lv in variant.industries])[
            _codes(deals["industry"], [lv.name for lv in variant.industries])
        ]
        + np.array([p.log_odds for p in variant.products])[
            _codes(deals["product_type"], [p.name for p in variant.products])
        ]
        + np.array([lv.log_odds for lv in variant.regions])[
            _codes(deals["region"], [lv.name for lv in variant.regions])
        ]
        + variant.log_amount_log_odds * (np.log(amount) - np.log(AMOUNT_REFERENCE_USD))
        + deals["sales_rep_id"].map(variant.rep_log_odds).fillna(0.0).to_numpy(dtype=np.float64)
    )
    if variant.region_drop is not None:
        is_open = deals["closed_date"].isna().to_numpy()
        later = np.zeros(len(deals), dtype=bool)
        later[~is_open] = relative_quarter(deals.loc[~is_open, "closed_date"], anchor) >= -1
        dropped = (deals["region"] == variant.region_drop[0]).to_numpy() & (is_open | later)
        log_odds = log_odds + np.where(dropped, variant.region_drop[1], 0.0)
    return log_odds


def typical_won_days_in_stage(deals: pd.DataFrame, *, tenant_variant: str = "demo") -> pd.DataFrame:
    """Median days won deals spent in each stage, per product (rows) and stage (columns).

    The same medians the generator aged open deals against and bases the stall penalty on
    (design values where a product has fewer than 30 won deals).
    """
    variant = _VARIANTS[tenant_variant]
    product_names = [p.name for p in variant.products]
    won = deals[deals["outcome"] == "Won"]
    last_stage = _codes(won["deal_stage"], STAGES)
    created = won["created_date"].to_numpy(dtype="datetime64[D]")
    entered = won["stage_entered_date"].to_numpy(dtype="datetime64[D]")
    closed = won["closed_date"].to_numpy(dtype="datetime64[D]")
    pre_days = (entered - created).astype(np.int64)
    last_days = (closed - entered).astype(np.int64)
    durations = _stage_durations(_split_offsets(pre_days, last_stage), last_stage, last_days)
    typical = _typical_won_days(
        durations,
        pre_days + last_days,
        _codes(won["product_type"], product_names),
        np.array([p.cycle_factor for p in variant.products]),
    )
    return pd.DataFrame(typical["stage"], index=product_names, columns=list(STAGES))


def snapshot_win_probability(
    deals: pd.DataFrame,
    *,
    anchor: datetime.date,
    stage: pd.Series | np.ndarray,
    days_in_stage: pd.Series | np.ndarray,
    tenant_variant: str = "demo",
) -> np.ndarray:
    """The generator's win probability of each deal seen while open, at ``stage`` after
    ``days_in_stage`` days in it (arrays aligned with ``deals``).

    The oracle for a closed deal replayed as it looked at some point of its life (a model that
    uses stage and time in stage can beat the at-creation probability, and should be compared
    with this). For open deals at their current stage on ``anchor`` it equals
    ``true_win_probability``; at Qualified after 0 days it is the at-creation probability.
    ``deals`` must be the whole generated frame (its won deals set the typical stage times).
    """
    variant = _VARIANTS[tenant_variant]
    typical = typical_won_days_in_stage(deals, tenant_variant=tenant_variant).to_numpy()
    stage_index = _codes(pd.Series(np.asarray(stage), name="stage"), STAGES)
    product = _codes(deals["product_type"], [p.name for p in variant.products])
    return _while_open_probability(
        static_win_log_odds(deals, anchor=anchor, tenant_variant=tenant_variant),
        stage_index,
        np.asarray(days_in_stage, dtype=np.float64),
        typical[product, stage_index],
    )


def deals_to_csv(deals: pd.DataFrame, path_or_buffer: Any, *, include_oracle: bool = False) -> None:
    """Write ``deals`` as a ``standard`` preset CSV (ISO dates, empty cells for unknowns).

    The oracle columns are left out unless ``include_oracle``: they are the generator's truth,
    not CRM data.
    """
    columns = [c for c in deals.columns if include_oracle or c not in ORACLE_COLUMNS]
    deals.to_csv(path_or_buffer, columns=columns, index=False, date_format="%Y-%m-%d")
