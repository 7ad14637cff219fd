import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Alert
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create
from tenants.context import tenant_context
from tenants.models import Role
from tenants.services import membership_grant, user_ensure


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tenant_with_a_stalled_deal(won_history):
    deal_create(
        created=AS_OF - dt.timedelta(days=40), stage="Proposal", stage_entered=AS_OF - dt.timedelta(days=16)
    )
    return won_history


def test_run_checks_prints_per_rule_counts_as_json(tenant_with_a_stalled_deal):
    report = json.loads(run("run_checks", "--tenant", "acme", "--as-of", AS_OF.isoformat(), "--json"))

    assert report["tenant"] == "acme"
    assert report["open_deals_checked"] == 1
    assert report["rules"]["stall"]["created"] == 1
    assert report["rules"]["cycle_breach"]["created"] == 1
    assert set(report["rules"]) == {"stall", "cycle_breach", "score_drop", "slip"}
    assert {"created", "suppressed", "resolved", "still_open"} <= set(report["rules"]["slip"])


def test_run_checks_twice_creates_nothing_the_second_time(tenant_with_a_stalled_deal):
    run("run_checks", "--tenant", "acme", "--as-of", AS_OF.isoformat())

    report = json.loads(run("run_checks", "--tenant", "acme", "--as-of", AS_OF.isoformat(), "--json"))

    assert report["created"] == 0
    assert Alert.objects.count() == 2


def test_run_checks_prints_a_readable_summary(tenant_with_a_stalled_deal):
    output = run("run_checks", "--tenant", "acme", "--as-of", AS_OF.isoformat())

    assert "acme as of 2024-06-01: 1 open deals checked, 1 flagged (100.0%)." in output
    assert "stall                  created 1, suppressed 0, still open 0, resolved 0" in output


def test_run_checks_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError, match="No tenant with slug 'nope'"):
        run("run_checks", "--tenant", "nope")


def test_send_digests_dry_run_names_the_recipients_and_sends_nothing(demo_tenant, mailoutbox):
    membership_grant(
        tenant=demo_tenant, user=user_ensure(email="vp@demo.test", password=None), role=Role.VIEWER
    )

    output = run("send_digests", "--tenant", "demo", "--dry-run")

    assert output.strip() == "demo: would send 1 digest(s) to vp@demo.test"
    assert mailoutbox == []


def test_send_digests_sends_each_member_one_digest_per_period(demo_tenant, mailoutbox):
    membership_grant(
        tenant=demo_tenant, user=user_ensure(email="vp@demo.test", password=None), role=Role.VIEWER
    )

    first = run("send_digests", "--tenant", "demo")
    second = run("send_digests", "--tenant", "demo")

    assert first.strip() == "demo: sent 1 digest(s) to vp@demo.test"
    assert second.strip() == "demo: sent 0 digest(s)"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].alternatives[0][1] == "text/html"
    with tenant_context(demo_tenant):
        assert Alert.objects.count() == 0
