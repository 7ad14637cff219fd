"""Admin → Quota: a tenant admin sets the quarterly quota; it is audited and the briefing uses it."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from salesintel.audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.quota import QUOTA_CHANGED_ACTION
from tenants.resolvers import SESSION_KEY


def stored_quota(tenant: Tenant) -> Decimal | None:
    return Tenant.objects.get(pk=tenant.pk).quarterly_quota


def quota_events(tenant: Tenant) -> list[AuditEvent]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.filter(action=QUOTA_CHANGED_ACTION).order_by("id"))


def test_an_admin_sets_the_quota_and_the_change_is_audited(admin_client: Client, tenant_a):
    response = admin_client.post(reverse("settings_quota"), {"quota": "3,000,000"})

    assert response.status_code == 302
    assert stored_quota(tenant_a) == Decimal("3000000.00")
    page = admin_client.get(reverse("settings_quota")).content.decode()
    assert "Now $3,000,000 a quarter." in page
    (event,) = quota_events(tenant_a)
    assert event.actor_label == "ada@acme.test" and event.actor is not None
    assert event.details == {
        "field": "quarterly_quota",
        "currency": "USD",
        "from": None,
        "to": "3000000.00",
    }


def test_a_blank_quota_clears_it_and_saving_the_same_value_logs_nothing(admin_client: Client, tenant_a):
    admin_client.post(reverse("settings_quota"), {"quota": "500000"})
    admin_client.post(reverse("settings_quota"), {"quota": "500000.00"})
    admin_client.post(reverse("settings_quota"), {"quota": ""})

    assert stored_quota(tenant_a) is None
    assert [(event.details["from"], event.details["to"]) for event in quota_events(tenant_a)] == [
        (None, "500000.00"),
        ("500000.00", None),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-250000", "The quota must be a positive amount."),
        ("0", "The quota must be a positive amount."),
        ("lots", "The quota must be a number (an amount in the tenant's currency), not 'lots'."),
        ("1e400000", "The quota must be less than 100,000,000,000,000."),
        ("nan", "The quota must be a finite amount."),
    ],
)
def test_an_invalid_quota_is_refused_with_a_clear_message_and_changes_nothing(
    admin_client: Client, tenant_a, value, message
):
    admin_client.post(reverse("settings_quota"), {"quota": "1000000"})

    response = admin_client.post(reverse("settings_quota"), {"quota": value})

    assert response.status_code == 400
    body = html.unescape(response.content.decode())
    assert message in body and 'aria-invalid="true"' in body
    assert stored_quota(tenant_a) == Decimal("1000000.00")
    assert len(quota_events(tenant_a)) == 1


@pytest.mark.parametrize("role_client", ["viewer_client", "manager_client"])
def test_viewers_and_managers_may_neither_see_nor_set_the_quota(request, tenant_a, role_client):
    client: Client = request.getfixturevalue(role_client)

    assert client.get(reverse("settings_quota")).status_code == 403
    assert client.post(reverse("settings_quota"), {"quota": "100"}).status_code == 403
    assert stored_quota(tenant_a) is None
    assert quota_events(tenant_a) == []


def test_another_tenants_admin_cannot_set_this_tenants_quota(client: Client, tenant_a, tenant_b, user_b):
    client.force_login(user_b)
    session = client.session
    session[SESSION_KEY] = tenant_a.pk  # not a member of A: the session falls back to B
    session.save()

    response = client.post(reverse("settings_quota"), {"quota": "999"})

    assert response.status_code == 302
    assert stored_quota(tenant_a) is None and quota_events(tenant_a) == []
    assert stored_quota(tenant_b) == Decimal("999.00")
    (event,) = quota_events(tenant_b)
    assert event.actor_label == "bob@globex.test"


def test_the_briefing_forecasts_against_the_stored_quota_and_a_what_if_overrides_it(
    admin_client: Client, tenant_a, pipeline_a
):
    admin_client.post(reverse("settings_quota"), {"quota": "2500000"})

    stored = admin_client.get(reverse("briefing"))
    what_if = admin_client.get(reverse("briefing"), {"quota": "1000"})

    forecast = stored.context["doc"]["forecast"]
    assert (forecast["quota"], forecast["quota_source"]) == (2_500_000.0, "tenant")
    assert forecast["expected_attainment"] == pytest.approx(forecast["expected"] / 2_500_000, abs=1e-4)
    assert 0 <= forecast["probability_of_quota"] <= 1
    body = stored.content.decode()
    assert "Quota $2.50M: expected attainment" in body and "(what-if)" not in body
    assert "chance to reach it" in body
    assert what_if.context["doc"]["forecast"]["quota_source"] == "argument"
    assert "Quota $1,000 (what-if)" in what_if.content.decode()


def test_without_a_quota_the_briefing_says_so_and_points_admins_to_the_setting(
    admin_client: Client, tenant_a, pipeline_a
):
    body = admin_client.get(reverse("briefing")).content.decode()

    assert "No quarterly quota set" in body
    assert reverse("settings_quota") in body
