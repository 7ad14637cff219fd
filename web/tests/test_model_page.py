"""The model page: what serves, the backtest against the baselines, why a model was not promoted."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse


def test_before_any_training_the_page_says_nothing_scores_yet(viewer_client: Client):
    response = viewer_client.get(reverse("model"))
    assert response.status_code == 200
    assert response.context["described"]["serving"] == "none"
    assert "No model has been trained yet" in response.content.decode()


def test_a_baseline_that_serves_is_explained(viewer_client: Client, scored_pipeline_a):
    response = viewer_client.get(reverse("model"))
    body = response.content.decode()
    assert "Serving: Base rate (baseline)" in body
    assert "Not promoted because" in body
    rows = {row["key"]: row for row in response.context["metric_rows"]}
    assert set(rows) == {"model", "base_rate", "segment_prior"}
    assert rows["base_rate"]["serving"] is True
    assert sum(row["best"] for row in rows.values()) >= 1


def test_the_backtest_reliability_has_a_chart_and_a_table(viewer_client: Client, scored_pipeline_a):
    body = viewer_client.get(reverse("model")).content.decode()
    assert 'aria-labelledby="backtest-reliability-title backtest-reliability-desc"' in body
    assert "Mean predicted" in body
