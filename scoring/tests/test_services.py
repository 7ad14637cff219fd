"""scoring.services and scoring.selectors on the database (seeded tenants, real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection
from django.db.models import F, FloatField, Sum

from deals.models import Deal, DealStatus
from scoring import selectors, services
from scoring.model import WinModel
from scoring.models import Band, CurrentScore, DealScore, ModelVersion, Serving
from scoring.selectors import (
    deal_score_current,
    deal_score_history,
    deal_scores_current,
    pipeline_probabilities,
    score_audit,
    serving_model_describe,
    serving_model_load,
)
from scoring.services import deal_scores_refresh, model_train, next_action_rule_set
from scoring.tests.conftest import SMALL_MINIMUM
from scoring.tests.factories import ANCHOR, deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant


def _open_ids() -> list[int]:
    return list(Deal.objects.filter(status=DealStatus.OPEN).order_by("id").values_list("id", flat=True))


def test_below_the_minimum_no_model_is_trained_and_the_reason_is_stored(in_tenant_a: Tenant) -> None:
    deals_seed(n_closed=60, n_open=5)

    version = model_train()

    assert version.serving == Serving.NONE
    assert version.is_active and not version.promoted and version.artefact is None
    assert "needs at least 100 won and 100 lost" in version.reason
    assert CurrentScore.objects.count() == 0
    assert serving_model_describe()["label"] == "No scores (not enough data)"


def test_before_any_training_the_description_says_what_to_do(in_tenant_a: Tenant) -> None:
    described = serving_model_describe()

    assert described["serving"] == "none"
    assert "train_models" in described["reason"]


def test_a_promoted_model_is_stored_with_its_backtest_and_baselines(active_version: ModelVersion) -> None:
    assert active_version.promoted is True
    assert active_version.serving == Serving.MODEL
    assert active_version.metrics["brier"] < active_version.baseline_metrics["base_rate"]["brier"]
    assert set(active_version.baseline_metrics) == {"base_rate", "segment_prior"}
    assert len(active_version.metrics["reliability"]) == 10
    assert active_version.n_won + active_version.n_lost == 400
    assert "lead_source=Partner" in active_version.coefficients
    assert isinstance(serving_model_load(version=active_version), WinModel)


def test_every_open_deal_gets_a_current_score_with_band_and_drivers(trained_tenant: Tenant) -> None:
    current = CurrentScore.objects.all()

    assert current.count() == 40
    assert {score.band for score in current} <= set(Band.values)
    partner_deal = Deal.objects.filter(status=DealStatus.OPEN, lead_source="Partner").first()
    view = deal_score_current(deal=partner_deal)
    assert view is not None
    assert any(driver["label"] == "Partner lead source" for driver in view.negative_drivers)
    assert all(driver["text"].startswith(driver["label"] + ": −") for driver in view.negative_drivers)


def test_every_score_says_which_model_made_it(trained_tenant: Tenant) -> None:
    views = deal_scores_current(deal_ids=_open_ids())

    assert {view.serving for view in views.values()} == {"model"}
    assert {view.serving_label for view in views.values()} == {"Logistic model"}
    assert {view.as_dict()["serving"] for view in views.values()} == {"model"}


def test_rescoring_keeps_the_previous_probability(trained_tenant: Tenant) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).first()
    before = CurrentScore.objects.get(deal=deal)
    Deal.objects.filter(pk=deal.pk).update(
        lead_source="Partner" if deal.lead_source != "Partner" else "Referral"
    )

    deal_scores_refresh(deal_ids=[deal.pk], trigger="changed", as_of=ANCHOR)

    after = CurrentScore.objects.get(deal=deal)
    assert after.previous_probability == pytest.approx(before.probability)
    assert after.previous_band == before.band
    assert after.probability != pytest.approx(before.probability)
    assert DealScore.objects.filter(deal=deal).count() == 2
    assert [score.trigger for score in deal_score_history(deal=deal)] == ["changed", "test"]


def test_a_deals_history_over_many_days_is_read_off_the_day_led_index(trained_tenant: Tenant) -> None:
    # Forty earlier days of history for every scored deal, as daily passes leave it.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO scoring_dealscore
                (tenant_id, deal_id, model_version_id, probability, band, driver_ids, trigger, scored_at)
            SELECT c.tenant_id, c.deal_id, c.model_version_id, c.probability, c.band, '{}', 'daily',
                   c.scored_at - make_interval(days => back)
            FROM generate_series(1, 40) AS back, scoring_currentscore c
            """
        )
        cursor.execute("ANALYZE scoring_dealscore")
        # The table is small enough to scan whole; what is checked is that the index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    deal_id = _open_ids()[0]

    plan = DealScore.objects.filter(deal_id=deal_id).order_by("-scored_at", "-id").explain(analyze=True)
    history = deal_score_history(deal=deal_id)

    # The deal is a condition of the index scan (skipping from day to day), so no other deal's
    # row is fetched and filtered out.
    assert "Index Scan using dealscore_tenant_day_deal" in plan
    assert f"AND (deal_id = {deal_id}))" in plan.split("Index Cond: ")[1].splitlines()[0]
    assert "Rows Removed by Filter" not in plan
    assert len(history) == 41
    assert [score.trigger for score in history] == ["test"] + ["daily"] * 40
    assert [score.scored_at for score in history] == sorted((s.scored_at for s in history), reverse=True)


def test_a_closed_deal_loses_its_current_score_but_keeps_its_history(trained_tenant: Tenant) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).first()
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.WON, closed_date=ANCHOR)

    batch = deal_scores_refresh(deal_ids=[deal.pk], trigger="changed", as_of=ANCHOR)

    assert batch.scored == 0 and batch.removed == 1
    assert not CurrentScore.objects.filter(deal=deal).exists()
    assert DealScore.objects.filter(deal=deal).count() == 1


@pytest.mark.parametrize("path", ["small", "copy"])
def test_a_full_pass_drops_current_scores_of_deals_closed_since(
    trained_tenant: Tenant, monkeypatch, path: str
) -> None:
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    closed_id = _open_ids()[0]
    Deal.objects.filter(pk=closed_id).update(status=DealStatus.LOST, closed_date=ANCHOR)

    batch = deal_scores_refresh(trigger="batch", as_of=ANCHOR)

    assert batch.scored == 39 and batch.removed == 1
    assert CurrentScore.objects.count() == 39


@pytest.mark.parametrize("path", ["small", "copy"])
def test_a_full_pass_leaves_another_tenants_current_scores_alone(
    trained_tenant: Tenant, tenant_b: Tenant, monkeypatch, path: str
) -> None:
    with tenant_context(tenant_b):
        deals_seed()
        model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM, rescore=False)
        deal_scores_refresh(trigger="test", as_of=ANCHOR)
        theirs = sorted(CurrentScore.objects.values_list("deal_id", "score_id", "probability", "scored_at"))
    assert len(theirs) == 40
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    Deal.objects.filter(pk=_open_ids()[0]).update(status=DealStatus.LOST, closed_date=ANCHOR)

    # Every score changes and a stale one goes: the pass touches only the active tenant's rows.
    batch = deal_scores_refresh(trigger="daily", as_of=ANCHOR + dt.timedelta(days=1))

    assert batch.written == 39 and batch.removed == 1
    with tenant_context(tenant_b):
        after = sorted(CurrentScore.objects.values_list("deal_id", "score_id", "probability", "scored_at"))
        assert after == theirs
        assert not DealScore.objects.filter(trigger="daily").exists()


def test_the_copy_path_stores_what_the_small_path_stores(trained_tenant: Tenant, monkeypatch) -> None:
    small = {row.deal_id: row for row in CurrentScore.objects.all()}
    small_drivers = {score.deal_id: score.drivers for score in DealScore.objects.all()}
    monkeypatch.setattr(services, "SMALL_BATCH", 0)

    # Deals named by id get a history row each, changed or not: both paths write every row.
    deal_scores_refresh(deal_ids=_open_ids(), trigger="copy", as_of=ANCHOR)

    copied = {row.deal_id: row for row in CurrentScore.objects.all()}
    assert copied.keys() == small.keys()
    for deal_id, row in copied.items():
        assert row.probability == pytest.approx(small[deal_id].probability, abs=1e-6)
        assert row.band == small[deal_id].band
        assert row.previous_probability == pytest.approx(small[deal_id].probability)
        assert DealScore.objects.get(pk=row.score_id).drivers == small_drivers[deal_id]


@pytest.mark.parametrize("path", ["small", "copy"])
def test_a_full_pass_writes_history_for_changed_scores_only(
    trained_tenant: Tenant, monkeypatch, path: str
) -> None:
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    before = {row.deal_id: row for row in CurrentScore.objects.all()}
    changed = Deal.objects.filter(status=DealStatus.OPEN, lead_source="Partner").first()
    Deal.objects.filter(pk=changed.pk).update(lead_source="Referral")

    batch = deal_scores_refresh(trigger="batch", as_of=ANCHOR)

    assert batch.scored == 40 and batch.written == 1
    assert list(DealScore.objects.filter(trigger="batch").values_list("deal_id", flat=True)) == [changed.pk]
    after = {row.deal_id: row for row in CurrentScore.objects.all()}
    assert after[changed.pk].previous_probability == before[changed.pk].probability
    assert after[changed.pk].probability != before[changed.pk].probability
    assert after[changed.pk].score_id == DealScore.objects.get(trigger="batch").pk
    unchanged = [deal_id for deal_id in after if deal_id != changed.pk]
    for deal_id in unchanged:
        assert (after[deal_id].score_id, after[deal_id].scored_at, after[deal_id].previous_probability) == (
            before[deal_id].score_id,
            before[deal_id].scored_at,
            before[deal_id].previous_probability,
        )

    rerun = deal_scores_refresh(trigger="rerun", as_of=ANCHOR)

    assert rerun.scored == 40 and rerun.written == 0 and rerun.removed == 0
    assert not DealScore.objects.filter(trigger="rerun").exists()
    assert {row.deal_id: row.probability for row in CurrentScore.objects.all()} == {
        deal_id: row.probability for deal_id, row in after.items()
    }


@pytest.mark.parametrize("path", ["small", "copy"])
def test_a_day_later_every_score_changes_and_is_kept(trained_tenant: Tenant, monkeypatch, path: str) -> None:
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    before = dict(CurrentScore.objects.values_list("deal_id", "probability"))

    batch = deal_scores_refresh(trigger="daily", as_of=ANCHOR + dt.timedelta(days=1))

    assert batch.written == 40
    assert DealScore.objects.filter(trigger="daily").count() == 40
    for row in CurrentScore.objects.all():
        assert row.previous_probability == before[row.deal_id]
        assert DealScore.objects.get(pk=row.score_id).trigger == "daily"


def test_a_day_later_pass_updates_the_unranked_current_scores_in_place(
    seeded_tenant: Tenant, monkeypatch
) -> None:
    # Only the ranked deals' scores are indexed by value, so every other row's new version must
    # find room on its own page (HOT): the table's fillfactor leaves it (migration 0012). The
    # rows were inserted in this transaction too, so no old version has been pruned to make room.
    monkeypatch.setattr(services, "RISK_RANKED", 5)
    deals_seed(n_closed=0, n_open=600, seed=1, prefix="H")
    model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM, rescore=False)
    deal_scores_refresh(trigger="first", as_of=ANCHOR)
    before = _updates_in_this_transaction("scoring_currentscore")

    batch = deal_scores_refresh(trigger="daily", as_of=ANCHOR + dt.timedelta(days=1))

    after = _updates_in_this_transaction("scoring_currentscore")
    updated, in_place = after[0] - before[0], after[1] - before[1]
    assert batch.written == updated == 640
    # A deal entering, leaving or staying in a ranked set (5 riskiest, 5 safest) updates an index.
    assert in_place >= updated - 4 * 5, (updated, in_place)


def _updates_in_this_transaction(table: str) -> tuple[int, int]:
    """(rows updated, of which in place) in ``table`` by this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(oid), pg_stat_get_xact_tuples_hot_updated(oid)"
            " FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        return cursor.fetchone()


@pytest.mark.parametrize("path", ["small", "copy"])
def test_current_scores_carry_the_amount_scored_so_the_weighted_pipeline_needs_no_deals(
    trained_tenant: Tenant, monkeypatch, path: str
) -> None:
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    big, cents = _open_ids()[:2]
    # Sixteen significant digits and odd cents: stored exactly, not through a float.
    Deal.objects.filter(pk=big).update(amount=Decimal("12345678901234.57"))
    Deal.objects.filter(pk=cents).update(amount=Decimal("0.01"))

    deal_scores_refresh(trigger=path, as_of=ANCHOR)

    amounts = dict(Deal.objects.filter(status=DealStatus.OPEN).values_list("id", "amount"))
    current = list(CurrentScore.objects.all())
    assert {row.deal_id: row.amount for row in current} == amounts
    weighted = CurrentScore.objects.aggregate(
        total=Sum(F("amount") * F("probability"), output_field=FloatField())
    )
    expected = sum(float(amounts[row.deal_id]) * row.probability for row in current)
    assert weighted["total"] == pytest.approx(expected)


def test_promotion_rescores_every_open_deal_with_the_new_version(trained_tenant: Tenant) -> None:
    version = model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM)

    assert set(CurrentScore.objects.values_list("model_version_id", flat=True)) == {version.pk}
    assert DealScore.objects.filter(model_version=version, trigger="promotion").count() == 40
    assert ModelVersion.objects.filter(is_active=True).get() == version


def test_tenant_admins_override_and_disable_next_actions(trained_tenant: Tenant) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN, lead_source="Partner").first()
    next_action_rule_set(feature="lead_source", action="Call the partner manager.")

    view = deal_score_current(deal=deal)
    assert view is not None
    assert {
        "feature": "lead_source",
        "label": "Partner lead source",
        "action": "Call the partner manager.",
    } in (view.next_actions)

    next_action_rule_set(feature="lead_source", action="", enabled=False)
    view = deal_score_current(deal=deal)
    assert view is not None
    assert all(action["feature"] != "lead_source" for action in view.next_actions)


def test_pipeline_probabilities_list_the_scored_open_deals(trained_tenant: Tenant) -> None:
    frame = pipeline_probabilities()

    assert sorted(frame["deal_id"]) == _open_ids()
    assert frame["probability"].between(0, 1).all()
    assert set(frame["serving"]) == {"model"}


def test_the_audit_compares_scores_held_while_open_with_outcomes(trained_tenant: Tenant) -> None:
    open_ids = _open_ids()
    winners, losers = open_ids[:20], open_ids[20:]
    close_on = dt.date.today()
    Deal.objects.filter(pk__in=winners).update(status=DealStatus.WON, closed_date=close_on)
    Deal.objects.filter(pk__in=losers).update(status=DealStatus.LOST, closed_date=close_on)

    audit = score_audit(since=close_on - dt.timedelta(days=1))

    assert len(audit) == 1
    entry = audit[0]
    assert entry["n"] == 40 and entry["n_won"] == 20
    assert entry["serving"] == "model" and entry["roc_auc"] is not None
    assert len(entry["reliability"]) == 10
    assert entry["win_rate"] == 0.5
    # Wilson's 95% interval for 20 of 40.
    assert (entry["win_rate_ci_low"], entry["win_rate_ci_high"]) == pytest.approx((0.352, 0.648), abs=0.001)
    assert entry["replayed"] is False


def test_the_audit_ignores_deals_closed_before_the_date(trained_tenant: Tenant) -> None:
    assert score_audit(since=dt.date.today()) == []


def test_scores_of_one_tenant_are_invisible_to_another(trained_tenant: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_b):
        assert CurrentScore.objects.count() == 0
        assert pipeline_probabilities().empty
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM scoring_dealscore")
            assert cursor.fetchone()[0] == 0


def test_the_copy_path_keeps_crm_text_with_quotes_tabs_and_backslashes(
    seeded_tenant: Tenant, monkeypatch
) -> None:
    nasty = 'Web\\form "beta"\tx'
    Deal.objects.filter(lead_source="Partner").update(lead_source=nasty)
    model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM, rescore=False)
    monkeypatch.setattr(services, "SMALL_BATCH", 0)

    deal_scores_refresh(trigger="copy", as_of=ANCHOR)

    labels = {
        driver["label"]
        for score in DealScore.objects.filter(trigger="copy")
        for driver in score.drivers
        if driver["feature"] == "lead_source"
    }
    assert f"{nasty} lead source" in labels


def _assert_ranked_scores_come_first() -> None:
    """Every risk-ranked probability is at or below every unranked one, every unranked one at or
    below every safe-ranked one; no score has both ranks, and a rank is its probability."""
    rows = list(CurrentScore.objects.values_list("probability", "risk_rank", "safe_rank"))
    assert all(risk is None or safe is None for _, risk, safe in rows)
    assert all(rank == p for p, risk, safe in rows for rank in (risk, safe) if rank is not None)
    riskiest = [p for p, risk, _ in rows if risk is not None]
    safest = [p for p, _, safe in rows if safe is not None]
    unranked = [p for p, risk, safe in rows if risk is None and safe is None]
    for lower, higher in ((riskiest, unranked), (unranked, safest), (riskiest, safest)):
        if lower and higher:
            assert max(lower) <= min(higher)


@pytest.mark.parametrize("path", ["small", "copy"])
def test_a_full_pass_ranks_the_riskiest_and_the_safest_deals_only(
    trained_tenant: Tenant, monkeypatch, path: str
) -> None:
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    monkeypatch.setattr(services, "RISK_RANKED", 7)

    deal_scores_refresh(trigger="full", as_of=ANCHOR + dt.timedelta(days=3))

    probabilities = sorted(CurrentScore.objects.values_list("probability", flat=True))
    assert len(set(probabilities)) == 40
    ranks = CurrentScore.objects.values_list("risk_rank", "safe_rank")
    riskiest = sorted(risk for risk, _ in ranks if risk is not None)
    safest = sorted(safe for _, safe in ranks if safe is not None)
    assert riskiest == probabilities[:7] and safest == probabilities[-7:]
    _assert_ranked_scores_come_first()


@pytest.mark.parametrize(("ranked", "riskiest", "safest"), [(40, 40, 0), (25, 25, 15), (20, 20, 20)])
def test_a_small_tenant_ranks_every_deal(
    trained_tenant: Tenant, monkeypatch, ranked: int, riskiest: int, safest: int
) -> None:
    # Up to twice RISK_RANKED deals, every score is ranked: the riskiest first, the rest safest.
    monkeypatch.setattr(services, "RISK_RANKED", ranked)

    deal_scores_refresh(trigger="full", as_of=ANCHOR + dt.timedelta(days=3))

    assert CurrentScore.objects.filter(risk_rank__isnull=False).count() == riskiest
    assert CurrentScore.objects.filter(safe_rank__isnull=False).count() == safest
    _assert_ranked_scores_come_first()


@pytest.mark.parametrize("path", ["small", "copy"])
def test_rescoring_some_deals_keeps_ranked_scores_below_the_others(
    trained_tenant: Tenant, monkeypatch, path: str
) -> None:
    monkeypatch.setattr(services, "RISK_RANKED", 7)
    deal_scores_refresh(trigger="full", as_of=ANCHOR)
    if path == "copy":
        monkeypatch.setattr(services, "SMALL_BATCH", 0)
    by_risk = list(CurrentScore.objects.order_by("probability").values_list("deal_id", flat=True))
    # The riskiest deal becomes the safest, and a safe (safe-ranked) one drops to the bottom.
    riskiest, safe = by_risk[0], by_risk[-3]
    assert CurrentScore.objects.get(deal_id=safe).safe_rank is not None
    Deal.objects.filter(pk=riskiest).update(lead_source="Referral", stage="Negotiation", amount=Decimal(5000))
    Deal.objects.filter(pk=safe).update(lead_source="Partner", stage="Prospecting", amount=Decimal(900_000))

    deal_scores_refresh(deal_ids=[riskiest, safe, *by_risk[10:20]], trigger="event", as_of=ANCHOR)

    _assert_ranked_scores_come_first()
    assert CurrentScore.objects.filter(risk_rank__isnull=False).count() >= 1
    assert CurrentScore.objects.filter(safe_rank__isnull=False).count() >= 1


def test_model_versions_are_numbered_within_their_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    """A tenant's first model is v1 whatever other tenants trained; the global id would have
    told it how many versions they had."""
    with tenant_context(tenant_a):
        first, second = model_train(), model_train()
    with tenant_context(tenant_b):
        other = model_train()

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert (second.label, other.label) == ("v2", "v1")
    assert other.pk > second.pk


def test_a_few_deals_read_row_by_row_are_typed_as_the_copy_read_types_them(in_tenant_a: Tenant) -> None:
    deals_seed(n_closed=60, n_open=12)
    ids = _open_ids()
    # Each kind of missing value: no rep, no stage date, an empty segment.
    Deal.objects.filter(pk=ids[0]).update(rep=None, stage_entered_date=None, industry="")

    few = selectors.open_deal_frame(deal_ids=ids)  # fetched rows
    every = selectors.open_deal_frame()  # COPY … TO STDOUT, read as CSV

    pd.testing.assert_frame_equal(few, every)
    assert (few.loc[0, "rep"], few.loc[0, "industry"]) == ("", "")
    assert pd.isna(few.loc[0, "stage_entered_date"]) and pd.isna(few.loc[0, "closed_date"])
