"""Digests through a real SMTP server, with the numbers the app shows."""

from __future__ import annotations

import datetime as dt
import io
import json
from html import unescape

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.digest import digests_send_due
from alerts.models import Alert, DigestDelivery
from alerts.selectors import alert_new_since
from alerts.services import alert_checks_run, digest_preference_set
from alerts.tests.factories import score_set
from deals.models import Deal
from insights.services import diagnose
from salesintel.testing.data import DEMO_ANCHOR
from tenants.context import tenant_context
from tenants.models import Role
from tenants.quota import tenant_quota_set
from tenants.services import membership_grant, user_ensure
from web.templatetags.web import interval, money, pct, pts

DRIVERS = [{"feature": "lead_source", "label": "Partner lead source", "value": -0.4}]


@pytest.fixture
def demo_with_member(demo_tenant):
    """The demo tenant with one manager, two scored high-risk deals and today's alerts."""
    user = user_ensure(email="cro@demo.test", password=None)
    membership_grant(tenant=demo_tenant, user=user, role=Role.MANAGER)
    with tenant_context(demo_tenant):
        risky = list(Deal.objects.filter(status="open").order_by("-amount")[:2])
        for deal in risky:
            score_set(deal=deal, probability=0.12, band="critical", drivers=DRIVERS)
        alert_checks_run(as_of=DEMO_ANCHOR)
    return demo_tenant, user, risky


def parts(message) -> tuple[str, str]:
    """The plain-text part and the HTML part with entities decoded (as a reader sees it)."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, unescape(html)


def send(tenant, on: dt.date = DEMO_ANCHOR, **kwargs):
    return digests_send_due(tenant=tenant, on=on, weekday=on.weekday(), **kwargs)


def test_the_digest_goes_through_smtp_with_a_text_and_an_html_part(demo_with_member, smtp_server):
    tenant, _, _ = demo_with_member

    summary = send(tenant)

    assert summary.sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "cro@demo.test"
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert text.startswith("Demo Sales Org — your weekly sales digest")
    assert "<html" in html


def test_both_parts_show_the_win_rate_headline_the_app_shows(demo_with_member, smtp_server):
    tenant, _, _ = demo_with_member
    headline = diagnose(tenant=tenant, as_of=DEMO_ANCHOR)["win_rate"]

    send(tenant)

    text, html = parts(smtp_server.messages[0])
    shown = [
        pct(headline["current"]["rate"]),
        interval(headline["current"]),
        f"{headline['current']['n']} closed deals",
        pct(headline["baseline"]["rate"]),
        pts(headline["change"]),
        headline["verdict"],
    ]
    for number in shown:
        assert number in text, number
        assert number in html, number


def test_the_digest_lists_risk_deals_with_drivers_new_alerts_and_links_into_the_app(
    demo_with_member, smtp_server, settings
):
    tenant, _, risky = demo_with_member
    with tenant_context(tenant):
        most_severe = alert_new_since(since=timezone.now() - dt.timedelta(days=1), limit=1)[0].title
        alert_count = Alert.objects.count()

    send(tenant)

    text, html = parts(smtp_server.messages[0])
    for part in (text, html):
        assert risky[0].name in part
        assert "Partner lead source: −0.4" in part
        assert most_severe in part
        assert f"({alert_count}" in part
        assert f"{settings.SITE_URL}/deals/{risky[0].pk}/" in part
        assert f"{settings.SITE_URL}/alerts/" in part


def test_the_digest_carries_a_signed_one_click_unsubscribe_link(demo_with_member, smtp_server, settings):
    tenant, _, _ = demo_with_member

    send(tenant)

    message = smtp_server.messages[0]
    link = str(message["List-Unsubscribe"]).strip().strip("<>")
    assert link.startswith(f"{settings.SITE_URL}/alerts/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in parts(message)[0]


def test_a_second_run_in_the_same_week_sends_nothing(demo_with_member, smtp_server):
    tenant, _, _ = demo_with_member
    send(tenant)

    again = send(tenant, on=DEMO_ANCHOR - dt.timedelta(days=1))  # Saturday of the same ISO week

    assert (again.sent, again.skipped) == (0, 0)
    assert len(smtp_server.messages) == 1


def test_an_unsubscribed_member_gets_no_digest(demo_with_member, smtp_server):
    tenant, user, _ = demo_with_member
    with tenant_context(tenant):
        digest_preference_set(user=user, frequency="off")

    summary = send(tenant)

    assert summary.sent == 0
    assert smtp_server.messages == []


def test_weekly_digests_wait_for_the_digest_weekday_but_daily_ones_do_not(demo_with_member, smtp_server):
    tenant, user, _ = demo_with_member
    not_the_weekday = (DEMO_ANCHOR.weekday() + 1) % 7

    weekly = digests_send_due(tenant=tenant, on=DEMO_ANCHOR, weekday=not_the_weekday)
    with tenant_context(tenant):
        digest_preference_set(user=user, frequency="daily")
    daily = digests_send_due(tenant=tenant, on=DEMO_ANCHOR, weekday=not_the_weekday)

    assert (weekly.sent, daily.sent) == (0, 1)


def test_a_dry_run_renders_but_sends_and_records_nothing(demo_with_member, smtp_server):
    tenant, _, _ = demo_with_member

    summary = send(tenant, dry_run=True)

    assert summary.recipients == ["cro@demo.test"]
    assert smtp_server.messages == []
    assert mail.outbox == []
    with tenant_context(tenant):
        assert DigestDelivery.objects.count() == 0


def briefing_json(tenant, on: dt.date = DEMO_ANCHOR) -> dict:
    """The briefing as ``manage.py briefing --json`` prints it (the page's document)."""
    out = io.StringIO()
    call_command("briefing", "--tenant", tenant.slug, "--as-of", on.isoformat(), "--json", stdout=out)
    return json.loads(out.getvalue())


def test_both_parts_open_with_the_briefing_the_app_shows(demo_with_member, smtp_server, client: Client):
    tenant, user, _ = demo_with_member
    tenant_quota_set(tenant=tenant, quota="12000000", user=None)
    document = briefing_json(tenant)
    client.force_login(user)
    page = client.get(reverse("briefing"), {"as_of": DEMO_ANCHOR.isoformat()})
    assert page.context["doc"]["forecast"] == document["forecast"]
    assert page.context["doc"]["focus"] == document["focus"]

    send(tenant)

    text, html = parts(smtp_server.messages[0])
    currency = document["currency"]
    headline, forecast, focus = document["headline"], document["forecast"], document["focus"]
    by_value = {segment["value"]: segment for segment in focus["segments"]}
    partner = by_value["Partner"]
    no_evidence = sum(1 for segment in focus["segments"] if segment["label"] == "no evidence either way")
    assert forecast["quota_source"] == "tenant" and "Partner" in focus["deprioritise"]
    shown = [
        # headline win rate with n and its interval
        pct(headline["current"]["rate"]),
        interval(headline["current"]),
        f"{headline['current']['n']} closed deals",
        headline["verdict"],
        # the quarter forecast with its 80% interval, against the stored quota
        money(forecast["expected"], currency),
        f"80% interval {money(forecast['p10'], currency)}–{money(forecast['p90'], currency)}",
        f"{money(forecast['won_so_far'], currency)} won so far ({forecast['n_won_so_far']} deals)",
        f"Quota {money(12_000_000, currency)}",
        f"expected attainment {pct(forecast['expected_attainment'], 0)}",
        f"{pct(forecast['probability_of_quota'], 0)} chance to reach it",
        # the top contributors to the change, the focus list with intervals, the alerts summary
        *(item["summary"] for item in document["top_contributors"]),
        f"Partner: {money(partner['expected_revenue'], currency)} per opportunity",
        f"{money(partner['ci_low'], currency)}–{money(partner['ci_high'], currency)}, n = {partner['n']}",
        f"the {money(focus['tenant_average'], currency)} average",
        f"{no_evidence} of {len(focus['segments'])} segments: no evidence either way.",
        document["alerts"]["summary"],
    ]
    for number in shown:
        assert number in text, number
        assert number in html, number
    quarter = forecast["quarter"]["label"]
    assert text.index(f"{quarter} BOOKINGS FORECAST") < text.index("TOP RISK DEALS")
    assert html.index(f"{quarter} bookings forecast") < html.index("Top risk deals")


def test_where_no_segment_separates_from_the_average_both_parts_say_no_evidence_either_way(
    skygeni_tenant, smtp_server
):
    on = dt.date(2024, 7, 21)  # the day after the reference file's last close
    user = user_ensure(email="cro@skygeni.test", password=None)
    membership_grant(tenant=skygeni_tenant, user=user, role=Role.VIEWER)
    document = briefing_json(skygeni_tenant, on=on)
    assert (document["focus"]["focus"], document["focus"]["deprioritise"]) == ([], [])

    send(skygeni_tenant, on=on)

    text, html = parts(smtp_server.messages[0])
    for part in (text, html):
        assert document["focus"]["summary"] in part
        assert document["focus"]["summary"].startswith("No evidence either way")
        assert "No quarterly quota set" in part
        assert money(document["forecast"]["p10"], "USD") in part
