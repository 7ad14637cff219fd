import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.selectors import alert_counts, alert_get, alert_list
from alerts.services import alert_acknowledge, alert_checks_run, alert_snooze
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create
from tenants.context import tenant_context


@pytest.fixture
def inbox(won_history, user_a) -> list[Alert]:
    deal_create(
        created=AS_OF - dt.timedelta(days=20), stage="Proposal", stage_entered=AS_OF - dt.timedelta(days=16)
    )
    deal_create(
        created=AS_OF - dt.timedelta(days=60), stage="Proposal", stage_entered=AS_OF - dt.timedelta(days=40)
    )
    alert_checks_run(as_of=AS_OF)
    alerts = list(Alert.objects.order_by("id"))
    alert_snooze(alert=alerts[-1], user=user_a, until=timezone.now() + dt.timedelta(days=1))
    alert_acknowledge(alert=alerts[0], user=user_a)
    return alerts


def test_the_inbox_shows_open_and_acknowledged_alerts_and_hides_snoozed_ones(inbox):
    shown = list(alert_list())

    assert inbox[-1] not in shown
    assert len(shown) == len(inbox) - 1


def test_the_inbox_filters_by_rule_and_severity(inbox):
    assert {alert.kind for alert in alert_list(kinds=["stall"])} == {"stall"}
    assert {alert.severity for alert in alert_list(severities=["critical"])} == {"critical"}


def test_the_inbox_lists_a_page_of_alerts_with_their_deals_in_one_query(inbox, django_assert_num_queries):
    with django_assert_num_queries(1):
        titles = [
            (alert.deal.crm_id, alert.acted_by)
            for alert in alert_list(states=["open", "acknowledged", "snoozed"])
        ]

    assert len(titles) == len(inbox)


def test_counts_for_badges(inbox):
    counts = alert_counts()

    assert counts["snoozed"] == 1
    assert counts["acknowledged"] == 1
    assert counts["open"] == len(inbox) - 2


def test_another_tenants_alert_is_not_found(inbox, tenant_b):
    with tenant_context(tenant_b), pytest.raises(Alert.DoesNotExist):
        alert_get(alert_id=inbox[0].pk)


def test_the_inbox_can_keep_each_deals_alerts_together(won_history):
    """A stalled deal also runs past its cycle: two alerts. Listed by deal, they sit together,
    the deal with the newest alert first; counts say how many deals the open alerts are about."""
    first, second = (
        deal_create(
            created=AS_OF - dt.timedelta(days=90),
            stage="Proposal",
            stage_entered=AS_OF - dt.timedelta(days=60),
        )
        for _ in range(2)
    )
    alert_checks_run(as_of=AS_OF)
    a_old, a_new = Alert.objects.filter(deal=first).order_by("kind")
    [b] = Alert.objects.filter(deal=second, kind=a_old.kind)
    start = timezone.now()
    for minutes, alert in enumerate([a_old, b, a_new]):
        Alert.objects.filter(pk=alert.pk).update(created_at=start + dt.timedelta(minutes=minutes))
    shown = {first.pk, second.pk}

    newest_first = [alert.pk for alert in alert_list() if alert.deal_id in shown]
    by_deal = [alert.pk for alert in alert_list(by_deal=True) if alert.deal_id in shown]

    assert newest_first[:3] == [a_new.pk, b.pk, a_old.pk]
    assert by_deal[:3] == [a_new.pk, a_old.pk, b.pk]
    assert alert_counts()["open_deals"] == 2
