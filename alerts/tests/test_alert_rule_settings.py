import pytest
from django.core.exceptions import ValidationError

from alerts.models import AlertRule
from alerts.rules import RULE_SPECS
from alerts.services import alert_rule_settings, alert_rule_update, alert_rules_ensure


def test_every_rule_is_created_lazily_with_its_defaults(in_tenant_a):
    rules = alert_rules_ensure()

    assert set(rules) == set(RULE_SPECS)
    assert rules["stall"].enabled
    assert rules["stall"].thresholds == {"percentile": 0.75, "min_sample": 20, "critical_ratio": 2.0}
    assert rules["score_drop"].cooldown_days == 7


def test_creating_the_defaults_twice_keeps_one_rule_per_kind(in_tenant_a):
    alert_rules_ensure()
    alert_rules_ensure()

    assert AlertRule.objects.count() == len(RULE_SPECS)


def test_an_admin_changes_a_threshold_and_the_cooldown(in_tenant_a, user_a):
    rule = alert_rules_ensure()["score_drop"]

    alert_rule_update(rule=rule, user=user_a, thresholds={"drop_pts": "20"}, cooldown_days=3)

    rule.refresh_from_db()
    assert alert_rule_settings(rule=rule)["drop_pts"] == 20.0
    assert (rule.cooldown_days, rule.updated_by) == (3, user_a)


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"percentile": 1.5}, "must be between 0.5 and 0.99"),
        ({"percentile": "often"}, "is not a number"),
        ({"min_sample": 2.5}, "must be a whole number"),
        ({"loudness": 11}, "Unknown threshold(s) for Stalled in stage: loudness"),
    ],
)
def test_a_bad_threshold_is_refused_with_a_reason(in_tenant_a, user_a, thresholds, message):
    rule = alert_rules_ensure()["stall"]

    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        alert_rule_update(rule=rule, user=user_a, thresholds=thresholds)


def test_a_cooldown_beyond_a_year_is_refused(in_tenant_a, user_a):
    with pytest.raises(ValidationError):
        alert_rule_update(rule=alert_rules_ensure()["stall"], user=user_a, cooldown_days=400)


def test_switching_a_rule_off(in_tenant_a, user_a):
    rule = alert_rule_update(rule=alert_rules_ensure()["slip"], user=user_a, enabled=False)

    assert AlertRule.objects.get(pk=rule.pk).enabled is False
