import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertState, Severity
from alerts.services import alert_checks_run
from alerts.tests.factories import deal_create, score_set
from deals.models import Deal

TODAY = dt.date(2024, 6, 1)
SCORED_AT = timezone.make_aware(dt.datetime(2024, 5, 31, 12, 0), dt.UTC)
EARLIER = SCORED_AT - dt.timedelta(days=3)
PARTNER = [
    {"feature": "amount", "label": "Amount $48k", "value": 0.2},
    {"feature": "lead_source", "label": "Partner lead source", "value": -0.4},
    {"feature": "days_in_stage", "label": "47 days in Demo (typical 12)", "value": -0.6},
]


@pytest.fixture
def deal(in_tenant_a) -> Deal:
    return deal_create(created=dt.date(2024, 5, 20), stage="Demo", name="Initech renewal")


def score_drop_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="score_drop").order_by("id"))


def test_a_fall_of_more_than_the_threshold_raises_an_alert_naming_the_main_negative_driver(deal):
    score_set(deal=deal, probability=0.46, band="low", at=EARLIER)
    score_set(deal=deal, probability=0.28, band="high", drivers=PARTNER, at=SCORED_AT)

    alert_checks_run(as_of=TODAY)

    [alert] = score_drop_alerts()
    assert alert.deal == deal
    assert alert.severity == Severity.WARNING
    assert alert.title == "Initech renewal: win probability 46% → 28%"
    assert alert.evidence["drop_pts"] == 18.0
    assert alert.summary == (
        "Win probability fell from 46.0% to 28.0% (−18.0 pts) since 2024-05-31; now high risk. "
        "Main negative driver: 47 days in Demo (typical 12)."
    )


def test_a_fall_smaller_than_the_threshold_within_a_band_raises_nothing(deal):
    score_set(deal=deal, probability=0.46, band="medium", at=EARLIER)
    score_set(deal=deal, probability=0.36, band="medium", at=SCORED_AT)

    alert_checks_run(as_of=TODAY)

    assert score_drop_alerts() == []


def test_crossing_into_the_high_band_raises_an_alert_even_for_a_small_fall(deal):
    score_set(deal=deal, probability=0.31, band="medium", at=EARLIER)
    score_set(deal=deal, probability=0.29, band="high", at=SCORED_AT)

    alert_checks_run(as_of=TODAY)

    assert len(score_drop_alerts()) == 1


def test_a_fall_into_the_critical_band_is_critical(deal):
    score_set(deal=deal, probability=0.35, band="medium", at=EARLIER)
    score_set(deal=deal, probability=0.10, band="critical", at=SCORED_AT)

    alert_checks_run(as_of=TODAY)

    assert score_drop_alerts()[0].severity == Severity.CRITICAL


def test_a_rescore_that_changes_nothing_keeps_the_alert_open(deal):
    score_set(deal=deal, probability=0.46, band="low", at=EARLIER)
    score_set(deal=deal, probability=0.28, band="high", at=SCORED_AT)
    alert_checks_run(as_of=TODAY)
    score_set(deal=deal, probability=0.28, band="high", at=SCORED_AT + dt.timedelta(days=1))

    alert_checks_run(as_of=TODAY + dt.timedelta(days=1))

    [alert] = score_drop_alerts()
    assert alert.state == AlertState.OPEN


def test_recovering_to_the_earlier_probability_resolves_the_alert(deal):
    score_set(deal=deal, probability=0.46, band="low", at=EARLIER)
    score_set(deal=deal, probability=0.28, band="high", at=SCORED_AT)
    alert_checks_run(as_of=TODAY)
    score_set(deal=deal, probability=0.44, band="medium", at=SCORED_AT + dt.timedelta(days=1))

    alert_checks_run(as_of=TODAY + dt.timedelta(days=1))

    assert score_drop_alerts()[0].state == AlertState.RESOLVED


def test_a_fall_caused_by_a_new_model_being_promoted_is_not_alerted(deal):
    score_set(deal=deal, probability=0.46, band="low", at=EARLIER)
    score_set(deal=deal, probability=0.28, band="high", trigger="promotion", at=SCORED_AT)

    alert_checks_run(as_of=TODAY)

    assert score_drop_alerts() == []


def test_a_fall_older_than_the_look_back_is_not_news(deal):
    score_set(deal=deal, probability=0.46, band="low", at=EARLIER - dt.timedelta(days=30))
    score_set(deal=deal, probability=0.28, band="high", at=SCORED_AT - dt.timedelta(days=30))

    alert_checks_run(as_of=TODAY)

    assert score_drop_alerts() == []
