"""What people do with alerts: acknowledge, snooze, resolve (one or many), and who did it."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from alerts.models import Alert, AlertEvent, AlertState
from alerts.services import alert_acknowledge, alert_bulk_act, alert_checks_run, alert_resolve, alert_snooze
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create
from tenants.context import tenant_context


@pytest.fixture
def alerts(won_history) -> list[Alert]:
    for _ in range(3):
        deal_create(
            created=AS_OF - dt.timedelta(days=20),
            stage="Proposal",
            stage_entered=AS_OF - dt.timedelta(days=16),
        )
    alert_checks_run(as_of=AS_OF)
    return list(Alert.objects.order_by("id"))


def test_acknowledging_records_who_and_when(alerts, user_a):
    alert = alert_acknowledge(alert=alerts[0], user=user_a)

    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acted_by == user_a
    assert alert.acted_at is not None
    assert list(AlertEvent.objects.values_list("action", "user")) == [("acknowledged", user_a.pk)]


def test_snoozing_needs_a_time_in_the_future(alerts, user_a):
    with pytest.raises(ValidationError):
        alert_snooze(alert=alerts[0], user=user_a, until=timezone.now() - dt.timedelta(hours=1))


def test_a_snoozed_alert_keeps_its_end_time(alerts, user_a):
    until = timezone.now() + dt.timedelta(days=3)

    alert = alert_snooze(alert=alerts[0], user=user_a, until=until)

    assert (alert.state, alert.snoozed_until) == (AlertState.SNOOZED, until)


def test_resolving_by_hand_is_not_automatic(alerts, user_a):
    alert = alert_resolve(alert=alerts[0], user=user_a, note="Customer signed")

    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_automatically is False
    assert AlertEvent.objects.get().note == "Customer signed"


def test_a_resolved_alert_cannot_be_acknowledged(alerts, user_a):
    alert_resolve(alert=alerts[0], user=user_a)

    with pytest.raises(ValidationError):
        alert_acknowledge(alert=alerts[0], user=user_a)


def test_bulk_actions_change_every_active_alert_named_and_skip_resolved_ones(alerts, user_a):
    alert_resolve(alert=alerts[0], user=user_a)

    changed = alert_bulk_act(alert_ids=[alert.pk for alert in alerts], action="acknowledge", user=user_a)

    assert changed == 2
    assert sorted(Alert.objects.values_list("state", flat=True)) == [
        "acknowledged",
        "acknowledged",
        "resolved",
    ]


def test_bulk_actions_ignore_another_tenants_alert_ids(alerts, user_a, tenant_b):
    ids = [alert.pk for alert in alerts]

    with tenant_context(tenant_b):
        changed = alert_bulk_act(alert_ids=ids, action="resolve", user=user_a)

    assert changed == 0
    assert not Alert.objects.filter(state=AlertState.RESOLVED).exists()
