"""The demo generator (deals.demo): determinism, schema, and the planted effects, in pure pandas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from scipy.stats import chi2
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder

from deals.demo import (
    OPTIONAL_COLUMNS,
    ORACLE_COLUMNS,
    PLANTED,
    STAGES,
    STANDARD_COLUMNS,
    deals_to_csv,
    generate_deals,
    generate_stage_history,
    quarter_bounds,
    relative_quarter,
    snapshot_win_probability,
)
from deals.mapping import mapping_preset

ANCHOR = dt.date(2026, 11, 15)
REFERENCE_CSV = Path(settings.BASE_DIR).parent / "shared/data/skygeni_sales_data.csv"


@pytest.fixture(scope="module")
def deals() -> pd.DataFrame:
    return generate_deals(anchor=ANCHOR)


@pytest.fixture(scope="module")
def closed(deals: pd.DataFrame) -> pd.DataFrame:
    frame = deals[deals["outcome"] != ""].copy()
    frame["won"] = (frame["outcome"] == "Won").astype(float)
    frame["quarter"] = relative_quarter(frame["closed_date"], ANCHOR)
    return frame


@pytest.fixture(scope="module")
def open_deals(deals: pd.DataFrame) -> pd.DataFrame:
    frame = deals[deals["outcome"] == ""].copy()
    frame["days_in_stage"] = (pd.Timestamp(ANCHOR) - frame["stage_entered_date"]).dt.days
    frame["age_days"] = (pd.Timestamp(ANCHOR) - frame["created_date"]).dt.days
    return frame


@pytest.fixture(scope="module")
def history(deals: pd.DataFrame) -> pd.DataFrame:
    return generate_stage_history(deals)


def _wilson(rate: pd.Series, n: pd.Series, z: float = 1.96) -> tuple[pd.Series, pd.Series]:
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _contributions(before: pd.DataFrame, after: pd.DataFrame, dimensions: list[str]) -> pd.DataFrame:
    """Kitagawa shift-share per segment, as issue 3 defines it (mix + rate = total change)."""
    mean_rate = (before["won"].mean() + after["won"].mean()) / 2
    rows = []
    for dimension in dimensions:
        share_before = before[dimension].value_counts(normalize=True)
        share_after = after[dimension].value_counts(normalize=True)
        rate_before = before.groupby(dimension)["won"].mean()
        rate_after = after.groupby(dimension)["won"].mean()
        for value in share_before.index.union(share_after.index):
            s0, s1 = share_before.get(value, 0.0), share_after.get(value, 0.0)
            r0, r1 = rate_before.get(value, np.nan), rate_after.get(value, np.nan)
            rows.append((dimension, value, "mix", (s1 - s0) * (np.nanmean([r0, r1]) - mean_rate)))
            rows.append((dimension, value, "rate", (r1 - r0) * (s0 + s1) / 2))
    frame = pd.DataFrame(rows, columns=["dimension", "value", "effect", "contribution"]).fillna(0.0)
    return frame.sort_values("contribution").reset_index(drop=True)


# Determinism and schema


def test_the_same_arguments_give_the_identical_frame(deals: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(generate_deals(anchor=ANCHOR), deals)


def test_another_seed_gives_other_deals(deals: pd.DataFrame) -> None:
    other = generate_deals(anchor=ANCHOR, seed=8)
    assert not other["deal_amount"].equals(deals["deal_amount"])


def test_columns_are_the_standard_schema_then_optional_then_oracle(deals: pd.DataFrame) -> None:
    assert list(deals.columns) == [*STANDARD_COLUMNS, *OPTIONAL_COLUMNS, *ORACLE_COLUMNS]


def test_standard_columns_are_the_reference_files_header() -> None:
    header = REFERENCE_CSV.read_text().splitlines()[0].split(",")
    assert header == list(STANDARD_COLUMNS)


def test_every_imported_column_is_mapped_by_the_standard_preset() -> None:
    preset = mapping_preset("standard")
    assert set(STANDARD_COLUMNS) | set(OPTIONAL_COLUMNS) <= set(preset.columns)
    assert not set(ORACLE_COLUMNS) & set(preset.columns)


def test_the_csv_leaves_out_the_oracle_columns(deals: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "demo.csv"
    deals_to_csv(deals.head(50), path)
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(written.columns) == [*STANDARD_COLUMNS, *OPTIONAL_COLUMNS]
    assert written["created_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_there_are_the_requested_numbers_of_closed_and_open_deals(deals: pd.DataFrame) -> None:
    assert deals["outcome"].value_counts().to_dict().keys() == {"Won", "Lost", ""}
    assert (deals["outcome"] != "").sum() == 5000
    assert (deals["outcome"] == "").sum() == 600
    assert deals["deal_id"].is_unique


def test_deal_ids_follow_creation_order(deals: pd.DataFrame) -> None:
    closed = deals[deals["outcome"] != ""]
    assert closed["created_date"].is_monotonic_increasing
    assert deals["deal_id"].iloc[0] == "D00001"


def test_closed_deals_close_from_q_minus_7_to_the_anchor(closed: pd.DataFrame) -> None:
    first_day, _ = quarter_bounds(ANCHOR, -7)
    assert closed["closed_date"].min() >= pd.Timestamp(first_day)
    assert closed["closed_date"].max() <= pd.Timestamp(ANCHOR)
    assert sorted(closed["quarter"].unique()) == list(range(-7, 1))


def test_a_closed_deals_cycle_is_its_closed_minus_created_date(closed: pd.DataFrame) -> None:
    days = (closed["closed_date"] - closed["created_date"]).dt.days
    assert (closed["sales_cycle_days"].astype(int) == days).all()
    assert (days > 0).all()


def test_open_deals_have_no_close_date_cycle_or_outcome(open_deals: pd.DataFrame) -> None:
    assert open_deals["closed_date"].isna().all()
    assert open_deals["sales_cycle_days"].isna().all()
    assert (open_deals["expected_close_date"].notna()).all()


def test_open_deals_are_at_every_stage_and_under_150_days_old(open_deals: pd.DataFrame) -> None:
    assert set(open_deals["deal_stage"]) == set(STAGES)
    assert open_deals["age_days"].between(0, 150).all()
    assert (open_deals["days_in_stage"] <= open_deals["age_days"]).all()


def test_stages_are_the_default_pipeline_without_the_closing_stage(deals: pd.DataFrame) -> None:
    assert set(deals["deal_stage"]) == set(STAGES)


def test_amounts_are_whole_dollars_in_a_b2b_range(deals: pd.DataFrame) -> None:
    assert deals["deal_amount"].between(1_000, 2_000_000).all()
    assert 10_000 < deals["deal_amount"].median() < 40_000


def test_quarter_bounds_are_calendar_quarters_around_the_anchor() -> None:
    assert quarter_bounds(ANCHOR, 0) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert quarter_bounds(ANCHOR, -1) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert quarter_bounds(ANCHOR, -5) == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown tenant variant"):
        generate_deals(anchor=ANCHOR, tenant_variant="nope")


# Planted effects (PLANTED)


def test_partner_share_jumps_from_12_to_50_percent_in_q_minus_1(closed: pd.DataFrame) -> None:
    planted = PLANTED["partner_mix_shift"]
    share = closed.groupby("quarter")["lead_source"].apply(lambda s: (s == "Partner").mean())
    assert share[-2] == pytest.approx(planted["share_before"], abs=0.01)
    assert share[-1] == pytest.approx(planted["share_after"], abs=0.01)


def test_partner_converts_far_worse_than_the_other_lead_sources(closed: pd.DataFrame) -> None:
    partner = closed["lead_source"] == "Partner"
    assert closed.loc[partner, "won"].mean() < 0.20
    assert closed.loc[~partner, "won"].mean() > 0.50


def test_europe_converts_13_points_worse_from_q_minus_1_with_its_share_unchanged(
    closed: pd.DataFrame,
) -> None:
    europe = closed["region"] == "Europe"
    rates = closed.groupby([closed["quarter"], europe])["won"].mean().unstack()
    drop_vs_others = (rates.loc[-1, True] - rates.loc[-2, True]) - (
        rates.loc[-1, False] - rates.loc[-2, False]
    )
    assert -0.16 < drop_vs_others < -0.11
    share = europe.groupby(closed["quarter"]).mean()
    assert share[-1] == pytest.approx(share[-2], abs=0.01)


def test_partner_mix_is_the_top_contributor_and_europe_rate_the_second(closed: pd.DataFrame) -> None:
    frame = closed.assign(size_band=pd.qcut(closed["deal_amount"], 4, labels=False))
    dimensions = [
        "industry",
        "region",
        "product_type",
        "lead_source",
        "deal_stage",
        "size_band",
        "sales_rep_id",
    ]
    ranked = _contributions(frame[frame["quarter"] == -2], frame[frame["quarter"] == -1], dimensions)
    top, second = ranked.iloc[0], ranked.iloc[1]
    assert (top["dimension"], top["value"], top["effect"]) == ("lead_source", "Partner", "mix")
    assert (second["dimension"], second["value"], second["effect"]) == ("region", "Europe", "rate")
    assert top["contribution"] < -0.08
    total = frame.loc[frame["quarter"] == -1, "won"].mean() - frame.loc[frame["quarter"] == -2, "won"].mean()
    per_dimension = ranked.groupby("dimension")["contribution"].sum()
    assert np.allclose(per_dimension, total)


def test_the_win_rate_does_not_move_between_q_minus_1_and_q0(closed: pd.DataFrame) -> None:
    rates = closed.groupby("quarter")["won"].mean()
    assert rates[0] == pytest.approx(rates[-1], abs=0.02)


def test_rep_13_is_the_only_rep_whose_interval_lies_below_the_team_rate(closed: pd.DataFrame) -> None:
    reps = closed.groupby("sales_rep_id")["won"].agg(["mean", "size"])
    team_rate = closed["won"].mean()
    _, upper = _wilson(reps["mean"], reps["size"])
    assert list(reps.index[upper < team_rate]) == [PLANTED["weak_rep"]["value"]]
    assert reps.loc["rep_13", "size"] >= 150
    assert team_rate - reps.loc["rep_13", "mean"] > 0.15


def test_the_other_reps_differ_no_more_than_chance_allows(closed: pd.DataFrame) -> None:
    others = closed[closed["sales_rep_id"] != "rep_13"].groupby("sales_rep_id")["won"].agg(["sum", "size"])
    rate = others["sum"].sum() / others["size"].sum()
    dispersion = ((others["sum"] - others["size"] * rate) ** 2 / (others["size"] * rate * (1 - rate))).sum()
    assert chi2.sf(dispersion, df=len(others) - 1) > 0.05


def test_deals_far_beyond_the_typical_winning_cycle_mostly_lose(closed: pd.DataFrame) -> None:
    won = closed[closed["won"] == 1]
    typical_days = closed["product_type"].map(won.groupby("product_type")["sales_cycle_days"].median())
    long = closed["sales_cycle_days"].astype(float) > 2 * typical_days
    assert long.sum() > 100
    assert closed.loc[long, "won"].mean() < PLANTED["long_cycles_lose"]["max_win_rate_beyond"]


def _won_days_in_stage(history: pd.DataFrame, closed: pd.DataFrame) -> pd.DataFrame:
    moves = history.merge(closed[["deal_id", "closed_date", "won", "product_type"]], on="deal_id")
    moves = moves.sort_values(["deal_id", "changed_on"])
    left_on = moves.groupby("deal_id")["changed_on"].shift(-1).fillna(moves["closed_date"])
    moves["days"] = (left_on - moves["changed_on"]).dt.days
    return moves[moves["won"] == 1]


def test_only_the_planted_stalled_deals_exceed_won_deals_time_in_stage(
    history: pd.DataFrame, closed: pd.DataFrame, open_deals: pd.DataFrame
) -> None:
    won_moves = _won_days_in_stage(history, closed)
    p75 = won_moves.groupby(["product_type", "to_stage"])["days"].quantile(0.75)
    threshold = [
        p75[(product, stage)]
        for product, stage in zip(open_deals["product_type"], open_deals["deal_stage"], strict=True)
    ]
    stalls = open_deals["days_in_stage"] > np.asarray(threshold)
    planted = open_deals["planted_stall"]
    assert (stalls == planted).all()
    assert 0.05 <= planted.mean() <= 0.10


def test_only_the_planted_stalled_deals_are_older_than_the_typical_winning_cycle(
    closed: pd.DataFrame, open_deals: pd.DataFrame
) -> None:
    won = closed[closed["won"] == 1]
    typical_days = open_deals["product_type"].map(won.groupby("product_type")["sales_cycle_days"].median())
    overdue = open_deals["age_days"] > typical_days.astype(float)
    assert (overdue == open_deals["planted_stall"]).all()
    assert overdue.mean() <= PLANTED["stalled_open_deals"]["max_alerting_share"]


def test_the_oracle_is_the_logistic_of_the_documented_predictor(closed: pd.DataFrame) -> None:
    weights = PLANTED["win_probability"]
    log_odds = (
        weights["intercept"]
        + closed["lead_source"].map(weights["lead_source"])
        + closed["industry"].map(weights["industry"])
        + closed["product_type"].map(weights["product_type"])
        + closed["region"].map(weights["region"])
        + weights["log_amount_per_ln_usd"] * np.log(closed["deal_amount"] / weights["amount_reference_usd"])
        + closed["sales_rep_id"].map(weights["rep"]).fillna(0.0)
        + np.where(
            (closed["region"] == "Europe") & (closed["quarter"] >= -1),
            weights["region_drop_from_q_minus_1"]["Europe"],
            0.0,
        )
    )
    expected = 1 / (1 + np.exp(-log_odds))
    assert np.allclose(closed["true_win_probability"], expected)


def test_the_snapshot_oracle_gives_the_true_probability_at_creation_and_on_the_anchor(
    deals: pd.DataFrame,
) -> None:
    is_open = (deals["outcome"] == "").to_numpy()
    days_in_stage = np.where(is_open, (pd.Timestamp(ANCHOR) - deals["stage_entered_date"]).dt.days, 0)
    stage = np.where(is_open, deals["deal_stage"], STAGES[0])
    probability = snapshot_win_probability(deals, anchor=ANCHOR, stage=stage, days_in_stage=days_in_stage)
    assert np.allclose(probability, deals["true_win_probability"])


def test_closed_deals_replayed_halfway_are_ranked_better_by_the_snapshot_oracle(
    deals: pd.DataFrame, history: pd.DataFrame
) -> None:
    # Halfway through its life a deal's stage and time in stage already say something, so a
    # model using them can beat the at-creation probability; the snapshot oracle says how far.
    closed = (deals["outcome"] != "").to_numpy()
    life_days = deals["sales_cycle_days"].fillna(0).astype(int)
    halfway = deals["created_date"] + pd.to_timedelta(life_days // 2, unit="D")
    moves = history.merge(pd.DataFrame({"deal_id": deals["deal_id"], "halfway": halfway}), on="deal_id")
    current = moves[moves["changed_on"] <= moves["halfway"]].groupby("deal_id").tail(1).set_index("deal_id")
    current = current.loc[deals["deal_id"]]
    probability = snapshot_win_probability(
        deals,
        anchor=ANCHOR,
        stage=current["to_stage"].to_numpy(),
        days_in_stage=(current["halfway"] - current["changed_on"]).dt.days.to_numpy(),
    )
    won = (deals["outcome"] == "Won").to_numpy()[closed]
    at_creation = roc_auc_score(won, deals["true_win_probability"].to_numpy()[closed])
    assert roc_auc_score(won, probability[closed]) > at_creation + 0.02


def test_stalled_open_deals_have_a_lower_true_probability(open_deals: pd.DataFrame) -> None:
    by_stall = open_deals.groupby("planted_stall")["true_win_probability"].mean()
    assert by_stall[True] < by_stall[False] - 0.1


def test_a_logistic_model_on_open_time_features_approaches_the_oracle_auc(closed: pd.DataFrame) -> None:
    cut = pd.Timestamp(quarter_bounds(ANCHOR, -2)[0])
    train, test = closed[closed["closed_date"] < cut], closed[closed["closed_date"] >= cut]
    columns = ["lead_source", "industry", "product_type", "region", "sales_rep_id"]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(train[columns])

    def features(frame: pd.DataFrame) -> np.ndarray:
        return np.hstack([encoder.transform(frame[columns]), np.log(frame[["deal_amount"]].to_numpy()) - 10])

    model = LogisticRegression(max_iter=2000).fit(features(train), train["won"])
    model_auc = roc_auc_score(test["won"], model.predict_proba(features(test))[:, 1])
    oracle_auc = roc_auc_score(test["won"], test["true_win_probability"])
    assert oracle_auc > 0.70
    assert abs(model_auc - oracle_auc) < 0.03


# Stage history


def test_every_deal_has_one_move_per_stage_reached(deals: pd.DataFrame, history: pd.DataFrame) -> None:
    reached = deals["deal_stage"].map({stage: i + 1 for i, stage in enumerate(STAGES)})
    assert len(history) == reached.sum()
    assert history.groupby("deal_id").size().reindex(deals["deal_id"]).to_numpy().tolist() == reached.tolist()


def test_a_history_starts_on_the_created_date_and_ends_at_the_deals_stage(
    deals: pd.DataFrame, history: pd.DataFrame
) -> None:
    first = history.groupby("deal_id").head(1).set_index("deal_id")
    last = history.groupby("deal_id").tail(1).set_index("deal_id")
    by_id = deals.set_index("deal_id")
    assert (first["from_stage"] == "").all()
    assert (first["to_stage"] == STAGES[0]).all()
    assert (first["changed_on"] == by_id.loc[first.index, "created_date"]).all()
    assert (last["to_stage"] == by_id.loc[last.index, "deal_stage"]).all()
    assert (last["changed_on"] == by_id.loc[last.index, "stage_entered_date"]).all()


def test_history_dates_strictly_increase_and_stay_before_the_close(
    deals: pd.DataFrame, history: pd.DataFrame
) -> None:
    steps = history.groupby("deal_id")["changed_on"].diff().dropna().dt.days
    assert (steps >= 1).all()
    closed_on = history["deal_id"].map(deals.set_index("deal_id")["closed_date"])
    assert (history["changed_on"][closed_on.notna()] < closed_on.dropna()).all()


def test_each_move_goes_from_the_previous_stage_to_the_next(history: pd.DataFrame) -> None:
    following = dict(zip(["", *STAGES[:-1]], STAGES, strict=True))
    assert (history["to_stage"] == history["from_stage"].map(following)).all()


# The second tenant


def test_northwind_is_visibly_another_company() -> None:
    northwind = generate_deals(anchor=ANCHOR, n_closed=1500, n_open=200, tenant_variant="northwind")
    demo = generate_deals(anchor=ANCHOR, n_closed=1500, n_open=200)
    assert northwind["deal_id"].str.startswith("NW").all()
    assert "Nordics" in set(northwind["region"])
    assert not set(northwind["sales_rep_id"]) & set(demo["sales_rep_id"])
    assert northwind["deal_amount"].median() > 1.5 * demo["deal_amount"].median()
