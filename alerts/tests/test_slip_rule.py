import datetime as dt

from django.utils import timezone

from alerts.models import Alert, Severity
from alerts.services import alert_checks_run
from alerts.tests.factories import deal_create
from deals.models import Deal

DAY_1 = dt.date(2024, 6, 1)
DAY_2 = dt.date(2024, 6, 2)


def slip_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="slip"))


def move_close_date(deal: Deal, to: dt.date) -> None:
    # As the importer and Deal.save() do, the change bumps updated_at.
    Deal.objects.filter(pk=deal.pk).update(expected_close_date=to, updated_at=timezone.now())


def test_a_deal_seen_for_the_first_time_raises_no_slip(in_tenant_a):
    deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))

    alert_checks_run(as_of=DAY_1)

    assert slip_alerts() == []


def test_a_close_date_pushed_out_raises_a_slip_alert_with_both_dates(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 8, 15))

    alert_checks_run(as_of=DAY_2)

    [alert] = slip_alerts()
    assert alert.deal == deal
    assert alert.evidence["push_days"] == 46
    assert alert.evidence["previous_expected_close_date"] == "2024-06-30"
    assert alert.evidence["expected_close_date"] == "2024-08-15"
    assert alert.summary.startswith("Expected close moved from 2024-06-30 to 2024-08-15 (+46 days)")


def test_a_push_shorter_than_the_minimum_is_ignored(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 7, 3))

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts() == []


def test_a_close_date_pulled_in_raises_nothing(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 6, 10))

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts() == []


def test_pulling_the_date_back_in_resolves_the_slip(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 8, 15))
    alert_checks_run(as_of=DAY_2)
    move_close_date(deal, dt.date(2024, 7, 1))

    alert_checks_run(as_of=dt.date(2024, 6, 3))

    assert slip_alerts()[0].state == "resolved"


def test_the_third_push_makes_the_slip_critical(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    for day, new_date in enumerate(
        [dt.date(2024, 7, 30), dt.date(2024, 8, 30), dt.date(2024, 9, 30)], start=2
    ):
        move_close_date(deal, new_date)
        alert_checks_run(as_of=dt.date(2024, 6, day))

    [alert] = slip_alerts()
    assert alert.severity == Severity.CRITICAL
    assert alert.evidence["push_count"] == 3


def test_a_slip_resolves_once_the_push_is_older_than_the_window(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 8, 15))
    alert_checks_run(as_of=DAY_2)

    alert_checks_run(as_of=DAY_2 + dt.timedelta(days=14))

    assert slip_alerts()[0].state == "resolved"


def test_the_slip_scan_reads_only_deals_updated_since_the_previous_scan(in_tenant_a):
    deal = deal_create(created=dt.date(2024, 5, 1), expected_close=dt.date(2024, 6, 30))
    alert_checks_run(as_of=DAY_1)
    # A change that did not bump updated_at (not how the app writes) is invisible to the scan.
    Deal.objects.filter(pk=deal.pk).update(
        expected_close_date=dt.date(2024, 8, 15), updated_at=timezone.now() - dt.timedelta(days=3)
    )

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts() == []
