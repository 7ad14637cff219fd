"""The alerts inbox: everyone reads, managers act (inline and in bulk), filters narrow the list."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from alerts.models import Alert, AlertState
from tenants.context import tenant_context


def states(tenant) -> dict[str, str]:
    with tenant_context(tenant):
        return dict(Alert.objects.values_list("title", "state"))


def test_the_inbox_lists_the_tenants_open_alerts(viewer_client: Client, alerts_a):
    response = viewer_client.get(reverse("alerts"))
    assert response.status_code == 200
    assert len(response.context["alerts"]) == 4
    assert response.context["counts"]["open"] == 4
    assert b"Acme platform expansion stalled in Proposal" in response.content


def test_a_deals_alerts_are_listed_together_under_its_first(viewer_client: Client, alerts_a, tenant_a):
    from web.tests.conftest import raise_alert

    stalled = alerts_a[0]
    with tenant_context(tenant_a):
        breach = raise_alert(stalled.deal, title="Acme platform expansion: open 96 days", kind="cycle_breach")
    response = viewer_client.get(reverse("alerts"))

    listed = [alert.pk for alert in response.context["alerts"]]
    assert listed[:2] == [breach.pk, stalled.pk]
    body = response.content.decode()
    assert body.count(" same-deal") == 1
    assert f'id="alert-{stalled.pk}" class="alert-row state-open same-deal"' in body
    assert response.context["counts"]["open"] == 5
    assert "on 4 deals; a deal's alerts are listed together" in body


def test_viewers_see_no_action_buttons(viewer_client: Client, alerts_a):
    response = viewer_client.get(reverse("alerts"))
    assert response.context["can_act"] is False
    assert b"Acknowledge</button>" not in response.content


def test_viewers_cannot_act_on_alerts(viewer_client: Client, alerts_a, tenant_a):
    alert = alerts_a[0]
    response = viewer_client.post(reverse("alert_act", args=[alert.pk]), {"action": "acknowledge"})
    assert response.status_code == 403
    assert states(tenant_a)[alert.title] == AlertState.OPEN


def test_a_manager_acknowledges_an_alert_inline_and_gets_the_row_back(
    manager_client: Client, alerts_a, tenant_a
):
    alert = alerts_a[0]
    response = manager_client.post(
        reverse("alert_act", args=[alert.pk]), {"action": "acknowledge"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="alert-{alert.pk}"')
    assert "Acknowledged" in body and "max@acme.test" in body
    assert states(tenant_a)[alert.title] == AlertState.ACKNOWLEDGED


def test_snoozing_needs_a_duration_and_hides_the_alert(manager_client: Client, alerts_a, tenant_a):
    alert = alerts_a[1]
    manager_client.post(reverse("alert_act", args=[alert.pk]), {"action": "snooze", "days": "3"})
    assert states(tenant_a)[alert.title] == AlertState.SNOOZED
    listed = manager_client.get(reverse("alerts")).context["alerts"]
    assert alert.pk not in [a.pk for a in listed]


def test_resolving_an_alert_moves_it_to_the_resolved_filter(manager_client: Client, alerts_a, tenant_a):
    alert = alerts_a[2]
    manager_client.post(reverse("alert_act", args=[alert.pk]), {"action": "resolve"})
    resolved = manager_client.get(reverse("alerts"), {"state": "resolved"}).context["alerts"]
    assert [a.pk for a in resolved] == [alert.pk]


def test_bulk_actions_apply_to_every_ticked_alert(manager_client: Client, alerts_a, tenant_a):
    ids = [alerts_a[1].pk, alerts_a[2].pk]
    response = manager_client.post(
        reverse("alerts_bulk"), {"alert": ids, "action": "resolve"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"2 alerts updated." in response.content
    with tenant_context(tenant_a):
        by_pk = dict(Alert.objects.values_list("pk", "state"))
    assert [by_pk[pk] for pk in ids] == [AlertState.RESOLVED, AlertState.RESOLVED]
    assert by_pk[alerts_a[0].pk] == AlertState.OPEN


def test_filters_narrow_by_severity_and_search(viewer_client: Client, alerts_a):
    critical = viewer_client.get(reverse("alerts"), {"severity": "critical"}).context["alerts"]
    assert [a.title for a in critical] == ["Acme platform expansion stalled in Proposal"]
    found = viewer_client.get(reverse("alerts"), {"q": "A-OPEN-1"}).context["alerts"]
    assert [a.deal.crm_id for a in found] == ["A-OPEN-1"]


def test_another_tenants_alert_cannot_be_acted_on(client: Client, user_b, alerts_a):
    client.force_login(user_b)
    response = client.post(reverse("alert_act", args=[alerts_a[0].pk]), {"action": "resolve"})
    assert response.status_code == 404


def test_the_deal_page_lists_the_deals_alerts(viewer_client: Client, alerts_a, open_deal_a):
    body = viewer_client.get(reverse("deal_detail", args=[open_deal_a.pk])).content.decode()
    assert "Acme platform expansion stalled in Proposal" in body


def test_the_sidebar_badge_counts_open_alerts(viewer_client: Client, alerts_a):
    body = viewer_client.get(reverse("risk_board")).content.decode()
    assert 'aria-label="4 open alerts"' in body
