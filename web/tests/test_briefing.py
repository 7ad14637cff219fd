"""The CRO briefing page on the demo tenant: forecast with its interval, focus list, risk deals."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.urls import reverse

from scoring.services import model_train
from tenants.context import tenant_context
from tenants.models import Role, Tenant
from tenants.services import membership_grant, user_ensure


@pytest.fixture
def demo_viewer(client: Client, demo_tenant: Tenant) -> Client:
    with tenant_context(demo_tenant):
        model_train()
    user: AbstractUser = user_ensure(email="cro@demo.test", password="pw-demo-cro-1")
    membership_grant(tenant=demo_tenant, user=user, role=Role.VIEWER)
    client.force_login(user)
    return client


def test_the_briefing_shows_the_forecast_interval_focus_list_and_risk_deals(demo_viewer: Client):
    response = demo_viewer.get(reverse("briefing"), {"quota": "3000000"})
    assert response.status_code == 200
    doc = response.context["doc"]
    body = html.unescape(response.content.decode())
    forecast = doc["forecast"]
    assert forecast["p10"] <= forecast["expected"] <= forecast["p90"]
    assert "80% interval" in body and "chance to reach it" in body
    assert 'data-testid="forecast-chart"' in body
    deprioritised = {title: rows for title, _, rows, _ in response.context["focus_columns"]}["Deprioritise"]
    assert any("Partner" in segment["value"] for segment in deprioritised)
    assert 'data-testid="risk-deals"' in body
    for line in doc["summary"][:2]:
        assert line in body
    # The briefing counts deals as they stood when its day began (the risk board: as they are
    # now), and says so beside its summary.
    assert f"In brief · as of the start of {doc['as_of']}" in body
    assert f"when {doc['as_of']} began: a deal created or closed that day counts from the next" in body


def test_changing_the_quota_swaps_only_the_briefing(demo_viewer: Client):
    response = demo_viewer.get(reverse("briefing"), {"quota": "1000"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "100% chance to reach it" in body
