"""The diagnosis page: the headline with n and intervals, the noise verdict, trend and
decomposition, and the pickers that swap the content with HTMX."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def test_the_headline_shows_each_rate_with_its_interval_and_sample_size(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"))
    assert response.status_code == 200
    win_rate = response.context["doc"]["win_rate"]
    body = response.content.decode()
    current = win_rate["current"]
    assert f"{current['rate'] * 100:.1f}%" in body
    assert f"{current['ci_low'] * 100:.1f}–{current['ci_high'] * 100:.1f}%" in body
    assert f"n = {current['n']}" in body


def test_the_noise_verdict_is_said_in_words(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"))
    verdict = response.context["doc"]["win_rate"]["verdict"]
    assert "noise" in verdict
    assert verdict in response.content.decode()


def test_the_trend_has_one_point_per_month_with_an_svg_and_a_table(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"))
    assert len(response.context["months"]) == 24
    body = response.content.decode()
    assert 'aria-labelledby="trend-title trend-desc"' in body
    assert "Show as a table" in body


def test_the_waterfall_follows_the_chosen_dimension(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"), {"dimension": "lead_source"})
    assert response.context["selected"]["dimension"] == "lead_source"
    selected = response.context["selected"]
    assert abs(selected["mix_effect"] + selected["rate_effect"] - selected["total_change"]) < 1e-6


def test_an_unknown_dimension_falls_back_to_a_known_one(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"), {"dimension": "shoe_size"})
    assert response.context["selected"]["dimension"] in {
        "industry",
        "region",
        "product_type",
        "lead_source",
        "stage",
        "size_band",
        "rep",
    }


def test_the_period_picker_changes_the_compared_periods(admin_client: Client, pipeline_a):
    months = admin_client.get(reverse("home"), {"period": "month", "compare": "year_ago"}).context["doc"]
    assert months["period"]["kind"] == "month"
    assert months["period"]["compare"] == "year_ago"


def test_the_as_of_date_replays_the_diagnosis_at_a_past_date(admin_client: Client, pipeline_a):
    doc = admin_client.get(reverse("home"), {"as_of": "2025-08-15"}).context["doc"]
    assert doc["as_of"] == "2025-08-15"
    assert doc["period"]["current"]["label"] == "2025Q2"


def test_an_htmx_picker_change_gets_only_the_content_fragment(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("home"), {"period": "year"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="headline"' in body
    assert "HX-Request" in response["Vary"]


def test_a_tenant_without_deals_gets_an_honest_empty_page(admin_client: Client):
    response = admin_client.get(reverse("home"))
    assert response.status_code == 200
    assert "Not enough data." in response.content.decode()
