"""De-duplication, cooldown, auto-resolution, snooze and escalation across runs of the checks."""

import datetime as dt

from django.utils import timezone

from alerts.models import Alert, AlertRule, AlertState, Severity
from alerts.services import (
    alert_acknowledge,
    alert_checks_run,
    alert_resolve,
    alert_rule_update,
    alert_snooze,
)
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create
from deals.models import Deal


def stalled_deal() -> Deal:
    return deal_create(
        created=AS_OF - dt.timedelta(days=20), stage="Proposal", stage_entered=AS_OF - dt.timedelta(days=16)
    )


def stall_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="stall").order_by("id"))


def stall_outcome(report):
    return next(outcome for outcome in report.rules if outcome.kind == "stall")


def test_running_the_checks_twice_creates_no_second_alert(won_history):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)

    report = alert_checks_run(as_of=AS_OF)

    assert len(stall_alerts()) == 1
    assert stall_outcome(report).created == 0
    assert stall_outcome(report).still_open == 1


def test_the_next_day_the_same_stall_is_still_the_one_alert_raised_the_day_before(won_history):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)

    report = alert_checks_run(as_of=AS_OF + dt.timedelta(days=1))

    [alert] = stall_alerts()
    assert alert.raised_on == AS_OF
    assert stall_outcome(report).still_open == 1


def test_an_alert_resolves_itself_when_the_deal_moves_on(won_history, user_a):
    deal = stalled_deal()
    alert_checks_run(as_of=AS_OF)
    Deal.objects.filter(pk=deal.pk).update(stage="Negotiation", stage_entered_date=AS_OF)

    report = alert_checks_run(as_of=AS_OF)

    [alert] = stall_alerts()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_automatically
    assert stall_outcome(report).resolved == 1


def test_an_alert_resolves_itself_when_the_deal_closes(won_history):
    deal = stalled_deal()
    alert_checks_run(as_of=AS_OF)
    Deal.objects.filter(pk=deal.pk).update(status="lost", closed_date=AS_OF)

    alert_checks_run(as_of=AS_OF)

    assert stall_alerts()[0].state == AlertState.RESOLVED


def test_a_stall_resolved_by_hand_is_suppressed_during_the_cooldown(won_history, user_a):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)
    alert_resolve(alert=stall_alerts()[0], user=user_a)

    report = alert_checks_run(as_of=AS_OF + dt.timedelta(days=1))

    assert len(stall_alerts()) == 1
    assert stall_outcome(report).suppressed == 1
    assert stall_outcome(report).created == 0


def test_after_the_cooldown_a_condition_that_still_holds_raises_a_new_alert(won_history, user_a):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)
    alert_resolve(alert=stall_alerts()[0], user=user_a)
    Alert.objects.update(resolved_at=timezone.now() - dt.timedelta(days=15))

    report = alert_checks_run(as_of=AS_OF + dt.timedelta(days=15))

    assert [alert.state for alert in stall_alerts()] == [AlertState.RESOLVED, AlertState.OPEN]
    assert stall_outcome(report).created == 1


def test_an_acknowledged_alert_stays_acknowledged_while_the_condition_holds(won_history, user_a):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)
    alert_acknowledge(alert=stall_alerts()[0], user=user_a)

    alert_checks_run(as_of=AS_OF + dt.timedelta(days=1))

    [alert] = stall_alerts()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acted_by == user_a


def test_a_snoozed_alert_comes_back_open_when_the_snooze_ends_and_the_condition_holds(won_history, user_a):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)
    alert_snooze(alert=stall_alerts()[0], user=user_a, until=timezone.now() + dt.timedelta(days=2))

    alert_checks_run(as_of=AS_OF + dt.timedelta(days=1))
    still_snoozed = stall_alerts()[0].state
    report = alert_checks_run(as_of=AS_OF + dt.timedelta(days=3), now=timezone.now() + dt.timedelta(days=3))

    assert still_snoozed == AlertState.SNOOZED
    [alert] = stall_alerts()
    assert alert.state == AlertState.OPEN
    assert alert.snoozed_until is None
    assert stall_outcome(report).unsnoozed == 1


def test_a_stall_that_doubles_past_its_threshold_escalates_to_critical_with_new_evidence(won_history):
    stalled_deal()
    alert_checks_run(as_of=AS_OF)

    alert_checks_run(as_of=AS_OF + dt.timedelta(days=10))

    [alert] = stall_alerts()
    assert alert.severity == Severity.CRITICAL
    assert alert.evidence["days_in_stage"] == 26


def test_a_rule_switched_off_is_skipped_and_leaves_its_alerts_alone(won_history):
    deal = stalled_deal()
    alert_checks_run(as_of=AS_OF)
    alert_rule_update(rule=AlertRule.objects.get(kind="stall"), user=None, enabled=False)
    Deal.objects.filter(pk=deal.pk).update(stage="Negotiation", stage_entered_date=AS_OF)

    report = alert_checks_run(as_of=AS_OF)

    assert stall_outcome(report).evaluated is False
    assert stall_alerts()[0].state == AlertState.OPEN


def test_a_deal_that_stalls_again_in_a_later_stage_gets_a_new_alert_despite_the_cooldown(won_history):
    deal = stalled_deal()
    alert_checks_run(as_of=AS_OF)
    Deal.objects.filter(pk=deal.pk).update(
        stage="Negotiation", stage_entered_date=AS_OF - dt.timedelta(days=30)
    )

    alert_checks_run(as_of=AS_OF)

    assert [(alert.evidence["stage"], alert.state) for alert in stall_alerts()] == [
        ("Proposal", AlertState.RESOLVED),
        ("Negotiation", AlertState.OPEN),
    ]
