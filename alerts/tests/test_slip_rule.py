import datetime as dt

from django.db import connection
from django.utils import timezone

from alerts.models import Alert, CloseDateChange, Severity
from alerts.services import alert_checks_run, alert_rule_update, alert_rules_ensure
from alerts.tests.factories import deal_create
from deals.models import Deal

DAY_1 = dt.date(2024, 6, 1)
DAY_2 = dt.date(2024, 6, 2)
JUNE_30 = dt.date(2024, 6, 30)


def slip_alerts() -> list[Alert]:
    return list(Alert.objects.filter(kind="slip"))


def open_deal() -> Deal:
    return deal_create(created=dt.date(2024, 5, 1), expected_close=JUNE_30)


def move_close_date(deal: Deal, to: dt.date, *, on: dt.date) -> None:
    """Change the date as a CRM import would, the recorded change dated ``on`` (noon UTC)."""
    Deal.objects.filter(pk=deal.pk).update(expected_close_date=to)
    CloseDateChange.objects.filter(deal=deal, new_date=to).update(
        changed_at=timezone.make_aware(dt.datetime.combine(on, dt.time(12)), dt.UTC)
    )


def test_a_deal_whose_date_never_moved_raises_no_slip(in_tenant_a):
    open_deal()

    alert_checks_run(as_of=DAY_1)

    assert slip_alerts() == []


def test_a_close_date_pushed_out_raises_a_slip_alert_with_both_dates(in_tenant_a):
    deal = open_deal()
    move_close_date(deal, dt.date(2024, 8, 15), on=DAY_2)

    alert_checks_run(as_of=DAY_2)

    [alert] = slip_alerts()
    assert alert.deal == deal
    assert alert.severity == Severity.WARNING
    assert alert.evidence["push_days"] == 46
    assert alert.evidence["previous_expected_close_date"] == "2024-06-30"
    assert alert.evidence["expected_close_date"] == "2024-08-15"
    assert alert.summary == (
        "Expected close moved from 2024-06-30 to 2024-08-15 (+46 days) on 2024-06-02; "
        "pushed once since 2024-06-30 was first expected."
    )


def test_a_push_shorter_than_the_minimum_is_ignored(in_tenant_a):
    move_close_date(open_deal(), dt.date(2024, 7, 3), on=DAY_2)

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts() == []


def test_a_close_date_pulled_in_raises_nothing(in_tenant_a):
    move_close_date(open_deal(), dt.date(2024, 6, 10), on=DAY_2)

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts() == []


def test_pulling_the_date_back_in_resolves_the_slip(in_tenant_a):
    deal = open_deal()
    move_close_date(deal, dt.date(2024, 8, 15), on=DAY_1)
    alert_checks_run(as_of=DAY_1)
    move_close_date(deal, dt.date(2024, 7, 1), on=DAY_2)

    alert_checks_run(as_of=DAY_2)

    assert slip_alerts()[0].state == "resolved"


def test_the_third_push_makes_the_slip_critical(in_tenant_a):
    deal = open_deal()
    for day, new_date in enumerate(
        [dt.date(2024, 7, 30), dt.date(2024, 8, 30), dt.date(2024, 9, 30)], start=1
    ):
        move_close_date(deal, new_date, on=dt.date(2024, 6, day))

    alert_checks_run(as_of=dt.date(2024, 6, 3))

    [alert] = slip_alerts()
    assert alert.severity == Severity.CRITICAL
    assert alert.evidence["push_count"] == 3
    assert alert.evidence["first_expected_close_date"] == "2024-06-30"
    assert alert.summary.endswith("pushed 3 times since 2024-06-30 was first expected.")


def test_a_one_day_push_is_worded_in_the_singular(in_tenant_a):
    alert_rule_update(rule=alert_rules_ensure()["slip"], user=None, thresholds={"min_push_days": "1"})
    deal = open_deal()
    move_close_date(deal, dt.date(2024, 7, 1), on=DAY_2)

    alert_checks_run(as_of=DAY_2)

    [alert] = slip_alerts()
    assert alert.title.endswith(": close date pushed 1 day")
    assert alert.summary.startswith(
        "Expected close moved from 2024-06-30 to 2024-07-01 (+1 day) on 2024-06-02; pushed once"
    )


def test_a_slip_resolves_once_the_push_is_older_than_the_window(in_tenant_a):
    move_close_date(open_deal(), dt.date(2024, 8, 15), on=DAY_2)
    alert_checks_run(as_of=DAY_2)

    alert_checks_run(as_of=DAY_2 + dt.timedelta(days=14))

    assert slip_alerts()[0].state == "resolved"


def test_a_check_as_of_a_past_date_ignores_later_pushes(in_tenant_a):
    move_close_date(open_deal(), dt.date(2024, 8, 15), on=DAY_2)

    alert_checks_run(as_of=DAY_1)

    assert slip_alerts() == []


def test_a_push_on_a_closed_deal_is_not_recorded(in_tenant_a):
    deal = open_deal()
    Deal.objects.filter(pk=deal.pk).update(status="lost", closed_date=DAY_1)

    Deal.objects.filter(pk=deal.pk).update(expected_close_date=dt.date(2024, 8, 15))

    assert CloseDateChange.objects.count() == 0


def test_every_way_of_writing_the_date_is_recorded_by_the_trigger(in_tenant_a):
    deal = open_deal()

    deal.expected_close_date = dt.date(2024, 7, 31)
    deal.save()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE deals_deal SET expected_close_date = '2024-08-31' WHERE id = %s", [deal.pk])

    assert list(CloseDateChange.objects.order_by("id").values_list("old_date", "new_date")) == [
        (JUNE_30, dt.date(2024, 7, 31)),
        (dt.date(2024, 7, 31), dt.date(2024, 8, 31)),
    ]


def test_a_bulk_upsert_through_the_import_engine_records_the_push(in_tenant_a):
    from deals.services import deals_upsert_records

    record = {
        "crm_id": "OPP-1",
        "created_date": "2024-05-01",
        "expected_close_date": "2024-06-30",
        "stage": "Proposal",
        "amount": "1000",
        "status": "open",
    }
    deals_upsert_records(records=[record])

    deals_upsert_records(records=[{**record, "expected_close_date": "2024-09-30"}])

    [change] = CloseDateChange.objects.all()
    assert (change.deal.crm_id, change.old_date, change.new_date) == ("OPP-1", JUNE_30, dt.date(2024, 9, 30))
