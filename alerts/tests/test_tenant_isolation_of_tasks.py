"""A task runs as the tenant named in its first argument and leaves nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from alerts.models import Alert
from alerts.tasks import daily_checks
from alerts.tests.factories import deal_create, won_deal_with_history
from deals.models import Deal
from tenants.context import NoTenantError, current_tenant_id, tenant_context

AS_OF = dt.date(2024, 6, 1)


def history_and_stalled_deals(count: int) -> None:
    for index in range(30):
        won_deal_with_history(
            created=dt.date(2024, 1, 1) + dt.timedelta(days=index),
            days_per_stage={"Qualified": 10, "Proposal": 10 + index % 5, "Negotiation": 5},
        )
    for _ in range(count):
        deal_create(created=dt.date(2024, 5, 1), stage="Proposal", stage_entered=dt.date(2024, 5, 1))


@pytest.fixture
def tenants_with_stalls(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        history_and_stalled_deals(2)
    with tenant_context(tenant_b):
        history_and_stalled_deals(1)
    return tenant_a, tenant_b


def database_tenant_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('app.tenant_id', true)")
        return cursor.fetchone()[0]


def test_a_task_for_b_after_a_task_for_a_sees_only_b(tenants_with_stalls):
    tenant_a, tenant_b = tenants_with_stalls

    report_a = daily_checks.apply(args=(tenant_a.pk, AS_OF.isoformat())).get()
    report_b = daily_checks.apply(args=(tenant_b.pk, AS_OF.isoformat())).get()

    assert (report_a["tenant_id"], report_a["open_deals_checked"]) == (tenant_a.pk, 2)
    assert (report_b["tenant_id"], report_b["open_deals_checked"]) == (tenant_b.pk, 1)
    with tenant_context(tenant_b):
        b_deals = set(Deal.objects.values_list("pk", flat=True))
        assert {alert.deal_id for alert in Alert.objects.all()} <= b_deals
        assert Alert.objects.count() == 2  # stall and cycle breach of B's one deal
    with tenant_context(tenant_a):
        assert Alert.objects.count() == 4


def test_after_a_task_no_tenant_is_active_in_the_orm_or_the_database(tenants_with_stalls):
    tenant_a, _ = tenants_with_stalls

    daily_checks.apply(args=(tenant_a.pk, AS_OF.isoformat())).get()

    assert current_tenant_id() is None
    assert database_tenant_setting() in (None, "")
    with pytest.raises(NoTenantError):
        Deal.objects.count()


def test_a_failing_task_also_leaves_no_tenant_behind(tenants_with_stalls):
    tenant_a, _ = tenants_with_stalls

    result = daily_checks.apply(args=(tenant_a.pk, "not-a-date"))

    assert result.failed()
    assert current_tenant_id() is None
    assert database_tenant_setting() in (None, "")
