"""On the demo data: the planted stalled deals raise stall or cycle alerts, and few others do.

The demo generator plants stalled open deals (deals.demo.PLANTED["stalled_open_deals"]: 8% of
open deals, 2.5–4.5× the median won time in their stage and 1.5–2.2× the median winning
cycle) and keeps every other open deal under 0.85× those medians. With default settings no
more than 15% of open deals may alert on one day (docs/alerts.md).
"""

from __future__ import annotations

import pandas as pd
import pytest

from alerts.models import Alert
from alerts.services import alert_checks_run
from deals.demo import PLANTED
from deals.models import Deal
from salesintel.testing.data import DEMO_ANCHOR
from tenants.context import tenant_context

MAX_ALERTING_SHARE = 0.15


@pytest.fixture
def demo_alerts(demo_tenant, demo_deals: pd.DataFrame):
    with tenant_context(demo_tenant):
        report = alert_checks_run(as_of=DEMO_ANCHOR)
        alerted = set(
            Alert.objects.filter(kind__in=["stall", "cycle_breach"]).values_list("deal__crm_id", flat=True)
        )
        open_ids = set(Deal.objects.filter(status="open").values_list("crm_id", flat=True))
    planted = set(demo_deals.loc[demo_deals["planted_stall"], "deal_id"])
    return report, alerted, open_ids, planted


def test_every_planted_stalled_deal_raises_a_stall_or_cycle_alert(demo_alerts):
    _, alerted, _, planted = demo_alerts

    assert planted
    assert planted <= alerted


def test_no_more_than_fifteen_percent_of_open_deals_alert_on_one_day(demo_alerts):
    report, _, open_ids, _ = demo_alerts

    assert report.open_deals == len(open_ids) == 600
    assert report.share_alerted <= MAX_ALERTING_SHARE
    assert report.share_alerted <= PLANTED["stalled_open_deals"]["max_alerting_share"]


def test_deals_that_were_not_planted_as_stalled_raise_no_stall_or_cycle_alert(demo_alerts):
    _, alerted, _, planted = demo_alerts

    assert alerted - planted == set()
