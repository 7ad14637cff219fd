import datetime as dt

from alerts.models import Alert, AlertRule, Severity
from alerts.services import alert_checks_run, alert_rule_update, alert_rules_ensure
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create


def days_before(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def cycle_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="cycle_breach"))


def test_a_deal_older_than_the_median_winning_cycle_of_its_segment_raises_a_cycle_breach(won_history):
    deal = deal_create(created=days_before(30), stage="Qualified")

    alert_checks_run(as_of=AS_OF)

    [alert] = cycle_alerts()
    assert alert.deal == deal
    assert alert.severity == Severity.WARNING
    assert alert.evidence["age_days"] == 30
    assert alert.evidence["typical_days"] == 27.0
    assert alert.evidence["segment"] == "Core"
    assert (
        "Open 30 days; won deals in Core typically close in 27 days (median of 30 won deals)" in alert.summary
    )


def test_a_deal_younger_than_the_median_winning_cycle_raises_nothing(won_history):
    deal_create(created=days_before(27), stage="Qualified")

    alert_checks_run(as_of=AS_OF)

    assert cycle_alerts() == []


def test_the_margin_over_the_median_is_configurable(won_history):
    alert_rules_ensure()
    alert_rule_update(
        rule=AlertRule.objects.get(kind="cycle_breach"), user=None, thresholds={"cycle_multiplier": 1.5}
    )
    deal_create(created=days_before(40), stage="Qualified")

    alert_checks_run(as_of=AS_OF)

    assert cycle_alerts() == []


def test_twice_the_median_makes_the_breach_critical(won_history):
    deal_create(created=days_before(60), stage="Qualified")

    alert_checks_run(as_of=AS_OF)

    assert cycle_alerts()[0].severity == Severity.CRITICAL


def test_closed_deals_are_never_checked(won_history):
    deal_create(created=days_before(90), status="lost", closed=days_before(1))

    alert_checks_run(as_of=AS_OF)

    assert cycle_alerts() == []


def test_a_tenant_with_no_won_deals_gets_no_cycle_alerts_and_the_report_says_why(in_tenant_a):
    deal_create(created=days_before(400), stage="Qualified")

    report = alert_checks_run(as_of=AS_OF)

    outcome = next(outcome for outcome in report.rules if outcome.kind == "cycle_breach")
    assert outcome.note == "No won deals yet to know the typical winning cycle."
    assert (outcome.candidates, outcome.created) == (0, 0)
    assert cycle_alerts() == []
