"""/api/v1/deals/{id}/score, /deals/{id}/scores and /models: win probabilities out."""

from __future__ import annotations

import pytest

from deals.models import Deal
from scoring.models import CurrentScore, ModelVersion
from scoring.services import deal_scores_refresh, model_train
from scoring.tests.factories import ANCHOR, deals_seed
from tenants.context import tenant_context


@pytest.fixture
def scored_a(tenant_a):
    """Tenant A with 400 closed and 40 open deals, a trained model, and the open deals scored."""
    with tenant_context(tenant_a):
        deals_seed()
        model_train(min_won=50, min_lost=50, rescore=False)
        deal_scores_refresh(trigger="test", as_of=ANCHOR)
        open_deal = Deal.objects.filter(status="open").order_by("crm_id").first()
        closed_deal = Deal.objects.exclude(status="open").order_by("crm_id").first()
    return open_deal, closed_deal


def test_an_open_deal_has_a_score_with_drivers_and_model_version(client_a, tenant_a, scored_a):
    open_deal, _ = scored_a
    response = client_a.get(f"/api/v1/deals/{open_deal.pk}/score")
    assert response.status_code == 200, response.content
    body = response.json()
    with tenant_context(tenant_a):
        current = CurrentScore.objects.get(deal=open_deal)
        active = ModelVersion.objects.get(is_active=True)
    assert body["win_probability"] == round(current.probability, 4)
    assert (body["band"], body["model_version"]) == (current.band, active.number)
    assert body["positive_drivers"] or body["negative_drivers"]


def test_the_score_history_lists_each_score_newest_first(client_a, tenant_a, scored_a):
    open_deal, _ = scored_a
    with tenant_context(tenant_a):
        deal_scores_refresh(deal_ids=[open_deal.pk], trigger="again", as_of=ANCHOR)
    results = client_a.get(f"/api/v1/deals/{open_deal.pk}/scores").json()["results"]
    assert [score["trigger"] for score in results] == ["again", "test"]


def test_a_closed_deal_has_no_current_score(client_a, scored_a):
    _, closed_deal = scored_a
    response = client_a.get(f"/api/v1/deals/{closed_deal.pk}/score")
    assert response.status_code == 404
    assert "no score" in response.json()["detail"]


def test_the_deal_list_carries_scores_and_filters_by_band(client_a, tenant_a, scored_a):
    open_deal, _ = scored_a
    with tenant_context(tenant_a):
        band = CurrentScore.objects.get(deal=open_deal).band
        expected = sorted(CurrentScore.objects.filter(band=band).values_list("deal__crm_id", flat=True))
    response = client_a.get("/api/v1/deals", {"band": band, "limit": 1000})
    results = response.json()["results"]
    assert [deal["crm_id"] for deal in results] == expected
    assert {deal["band"] for deal in results} == {band}


def test_models_lists_versions_with_backtest_metrics_and_which_serves(client_a, tenant_a, scored_a):
    body = client_a.get("/api/v1/models").json()
    with tenant_context(tenant_a):
        active = ModelVersion.objects.get(is_active=True)
    assert body["serving"]["version_number"] == active.number
    assert [version["version_number"] for version in body["results"]] == [active.number]
    assert "brier" in body["results"][0]["backtest"]


def test_versions_are_named_by_the_tenants_own_number_not_a_global_id(client_a, tenant_a, tenant_b):
    """Global version ids would tell one tenant how many models the others trained."""
    with tenant_context(tenant_b):
        for _ in range(3):
            ModelVersion.objects.create(serving="base_rate")
    with tenant_context(tenant_a):
        deals_seed()
        model_train(min_won=50, min_lost=50, rescore=False)
        deal_scores_refresh(trigger="test", as_of=ANCHOR)
        active = ModelVersion.objects.get(is_active=True)
        deal = Deal.objects.filter(status="open").first()
    assert (active.number, active.pk > 3) == (1, True)

    score = client_a.get(f"/api/v1/deals/{deal.pk}/score").json()
    history = client_a.get(f"/api/v1/deals/{deal.pk}/scores").json()["results"]
    models = client_a.get("/api/v1/models").json()

    assert score["model_version"] == 1
    assert [item["model_version"] for item in history] == [1]
    assert models["serving"]["version_number"] == 1
    assert "version_id" not in models["serving"]


def test_before_any_training_models_says_nothing_serves(client_a):
    body = client_a.get("/api/v1/models").json()
    assert (body["serving"]["serving"], body["results"]) == ("none", [])


def test_another_tenant_gets_404_for_scores_and_sees_no_models(writer_b, scored_a):
    open_deal, _ = scored_a
    for path in ("score", "scores"):
        response = writer_b.get(f"/api/v1/deals/{open_deal.pk}/{path}")
        assert response.status_code == 404
    assert writer_b.get("/api/v1/models").json()["results"] == []
