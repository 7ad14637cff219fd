"""/api/v1/alerts: list and filter, retrieve with history, acknowledge / snooze / resolve."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertState, RuleKind, Severity
from alerts.services import alert_rules_ensure
from api.tests.conftest import session_client
from tenants.context import tenant_context

ALERTS = "/api/v1/alerts"


def alert_make(deal, kind: str = RuleKind.STALL, **fields: object) -> Alert:  # type: ignore[no-untyped-def]
    rule = alert_rules_ensure()[kind]
    values: dict[str, object] = {
        "rule": rule,
        "kind": kind,
        "deal": deal,
        "dedup_key": f"{kind}:{deal.pk}",
        "severity": Severity.WARNING,
        "title": f"{deal.crm_id} stalled",
        "summary": "No stage move in 40 days.",
        "evidence": {"days_in_stage": 40},
        "raised_on": dt.date(2024, 6, 1),
    }
    values.update(fields)
    return Alert.objects.create(**values)


@pytest.fixture
def alert_a(tenant_a, deal_a) -> Alert:
    with tenant_context(tenant_a):
        return alert_make(deal_a)


@pytest.fixture
def critical_slip_a(tenant_a, deal_a) -> Alert:
    with tenant_context(tenant_a):
        return alert_make(deal_a, kind=RuleKind.SLIP, severity=Severity.CRITICAL, title="Close date slipped")


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [alert["id"] for alert in response.json()["results"]]


def test_the_inbox_lists_active_alerts_with_their_deal(client_a, alert_a):
    response = client_a.get(ALERTS)
    assert ids(response) == [alert_a.pk]
    assert response.json()["results"][0]["deal_crm_id"] == "ACME-SECRET-1"


def test_alerts_filter_by_kind_and_severity(client_a, alert_a, critical_slip_a):
    assert ids(client_a.get(ALERTS, {"severity": "critical"})) == [critical_slip_a.pk]
    assert ids(client_a.get(ALERTS, {"kind": "stall"})) == [alert_a.pk]


def test_an_unknown_state_is_400(client_a, db):
    response = client_a.get(ALERTS, {"state": "panicking"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["state[0]"]


def test_acknowledging_moves_the_alert_and_records_it(writer_a, tenant_a, alert_a):
    response = writer_a.post(f"{ALERTS}/{alert_a.pk}/acknowledge")
    assert response.status_code == 200
    assert response.json()["state"] == "acknowledged"
    detail = writer_a.get(f"{ALERTS}/{alert_a.pk}").json()
    assert [event["action"] for event in detail["events"]] == ["acknowledged"]


def test_snoozing_hides_the_alert_from_the_inbox_until_then(writer_a, alert_a):
    until = (timezone.now() + dt.timedelta(days=7)).isoformat()
    response = writer_a.post(f"{ALERTS}/{alert_a.pk}/snooze", {"until": until}, format="json")
    assert response.json()["state"] == "snoozed"
    assert ids(writer_a.get(ALERTS)) == []
    assert ids(writer_a.get(ALERTS, {"state": "snoozed"})) == [alert_a.pk]


def test_snoozing_into_the_past_is_422(writer_a, alert_a):
    response = writer_a.post(
        f"{ALERTS}/{alert_a.pk}/snooze", {"until": "2000-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["until"]


def test_resolving_closes_it_and_acknowledging_it_then_is_409(writer_a, tenant_a, alert_a):
    response = writer_a.post(f"{ALERTS}/{alert_a.pk}/resolve", {"note": "Called the buyer"}, format="json")
    assert response.json()["state"] == "resolved"
    again = writer_a.post(f"{ALERTS}/{alert_a.pk}/acknowledge")
    assert again.status_code == 409
    assert again.json()["type"] == "conflict"


def test_a_read_key_cannot_act_on_alerts(client_a, tenant_a, alert_a):
    assert client_a.post(f"{ALERTS}/{alert_a.pk}/resolve", {}, format="json").status_code == 403
    with tenant_context(tenant_a):
        assert Alert.objects.get().state == AlertState.OPEN


def test_another_tenant_gets_404_for_every_alert_path(writer_b, user_b, alert_a):
    for client in (writer_b, session_client(user_b)):
        assert ids(client.get(ALERTS)) == []
        for path in ("", "/acknowledge", "/resolve"):
            method = client.get if path == "" else client.post
            response = method(f"{ALERTS}/{alert_a.pk}{path}")
            assert response.status_code == 404, path
            assert "ACME" not in response.content.decode()
