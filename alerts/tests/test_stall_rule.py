import datetime as dt

from alerts.models import Alert, Severity
from alerts.services import alert_checks_run
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create


def days_before(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def stall_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="stall"))


def test_a_deal_longer_in_its_stage_than_the_p75_of_won_deals_raises_a_stall_alert(won_history):
    deal = deal_create(created=days_before(20), stage="Proposal", stage_entered=days_before(16))

    alert_checks_run(as_of=AS_OF)

    [alert] = stall_alerts()
    assert alert.deal == deal
    assert alert.evidence["days_in_stage"] == 16
    assert alert.evidence["threshold_days"] == 13.0
    assert alert.evidence["n_won"] == 30
    assert (
        alert.summary
        == "16 days in Proposal; won deals in Core leave it within 13 days (p75 of 30 won deals)."
    )


def test_a_deal_within_the_p75_raises_no_stall_alert(won_history):
    deal_create(created=days_before(20), stage="Proposal", stage_entered=days_before(13))

    alert_checks_run(as_of=AS_OF)

    assert stall_alerts() == []


def test_twice_the_threshold_makes_the_stall_critical(won_history):
    deal_create(created=days_before(20), stage="Proposal", stage_entered=days_before(26))

    alert_checks_run(as_of=AS_OF)

    assert stall_alerts()[0].severity == Severity.CRITICAL


def test_a_segment_too_small_for_its_own_threshold_uses_the_tenant_wide_one(won_history):
    deal_create(
        created=days_before(20), stage="Proposal", stage_entered=days_before(16), product_type="Enterprise"
    )

    alert_checks_run(as_of=AS_OF)

    [alert] = stall_alerts()
    assert alert.evidence["segment"] is None
    assert "across all segments" in alert.summary


def test_a_deal_without_a_stage_entry_date_is_not_checked_for_stall(won_history):
    deal_create(created=days_before(200), stage="Proposal", stage_entered=None)

    alert_checks_run(as_of=AS_OF)

    assert stall_alerts() == []


def test_the_percentile_is_configurable(won_history):
    from alerts.models import AlertRule
    from alerts.services import alert_rule_update, alert_rules_ensure

    alert_rules_ensure()
    alert_rule_update(rule=AlertRule.objects.get(kind="stall"), user=None, thresholds={"percentile": 0.95})
    deal_create(created=days_before(20), stage="Proposal", stage_entered=days_before(14))

    alert_checks_run(as_of=AS_OF)

    assert stall_alerts() == []


def test_without_stage_history_the_stall_rule_says_why_it_did_not_run(in_tenant_a):
    deal_create(created=days_before(20), stage="Proposal", stage_entered=days_before(16))

    report = alert_checks_run(as_of=AS_OF)

    stall = next(outcome for outcome in report.rules if outcome.kind == "stall")
    assert stall.created == 0
    assert "stage history" in stall.note
