"""Admin → API keys, alert rules and next actions; every member's digest preference."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from alerts.models import AlertRule, DigestPreference
from api.keys import key_hash
from api.models import ApiKey
from salesintel.audit.models import AuditEvent
from scoring.drivers import DEFAULT_NEXT_ACTIONS
from scoring.models import NextActionRule
from scoring.selectors import next_action_rules
from tenants.context import tenant_context


def test_creating_a_key_shows_its_plaintext_once_and_stores_only_the_hash(admin_client: Client, tenant_a):
    response = admin_client.post(reverse("settings_api_keys"), {"name": "Salesforce sync", "scope": "write"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plaintext = response.context["created"].plaintext
    assert plaintext in response.content.decode()
    with tenant_context(tenant_a):
        key = ApiKey.objects.get()
    assert (key.name, key.scope, key.key_sha256) == ("Salesforce sync", "write", key_hash(plaintext))
    listing = admin_client.get(reverse("settings_api_keys")).content.decode()
    assert plaintext not in listing
    assert f"{key.key_prefix}…" in listing


def test_a_revoked_key_is_marked_and_kept_in_the_list(admin_client: Client, tenant_a):
    admin_client.post(reverse("settings_api_keys"), {"name": "Old", "scope": "read"})
    with tenant_context(tenant_a):
        key = ApiKey.objects.get()
    admin_client.post(reverse("settings_api_key_revoke", args=[key.pk]))
    with tenant_context(tenant_a):
        key.refresh_from_db()
    assert key.revoked_at is not None
    assert re.search(r"revoked \d+ \w+", admin_client.get(reverse("settings_api_keys")).content.decode())


def test_another_tenants_key_cannot_be_revoked(admin_client: Client, tenant_b, user_b):
    from api.services import api_key_create

    with tenant_context(tenant_b):
        key = api_key_create(name="B", scope="read").api_key
    assert admin_client.post(reverse("settings_api_key_revoke", args=[key.pk])).status_code == 404


def test_an_admin_tunes_and_switches_off_a_rule(admin_client: Client, tenant_a):
    page = admin_client.get(reverse("settings_alert_rules"))
    stall = next(row for row in page.context["rows"] if row["rule"].kind == "stall")
    response = admin_client.post(
        reverse("settings_alert_rule_save", args=[stall["rule"].pk]),
        {"percentile": "0.9", "min_sample": "25", "critical_ratio": "2.5", "cooldown_days": "7"},
    )
    assert response.status_code == 302
    with tenant_context(tenant_a):
        rule = AlertRule.objects.get(kind="stall")
    assert rule.enabled is False
    assert rule.thresholds["percentile"] == 0.9
    assert rule.cooldown_days == 7


def test_an_out_of_bounds_threshold_is_refused_with_a_message(admin_client: Client, tenant_a):
    page = admin_client.get(reverse("settings_alert_rules"))
    stall = next(row for row in page.context["rows"] if row["rule"].kind == "stall")
    response = admin_client.post(
        reverse("settings_alert_rule_save", args=[stall["rule"].pk]),
        {"enabled": "on", "percentile": "5", "cooldown_days": "7"},
        follow=True,
    )
    assert "Stalled in stage:" in response.content.decode()
    with tenant_context(tenant_a):
        assert AlertRule.objects.get(kind="stall").thresholds["percentile"] == 0.75


def test_managers_cannot_change_rules(manager_client: Client, tenant_a):
    assert manager_client.get(reverse("settings_alert_rules")).status_code == 403


def test_every_member_sets_their_own_digest_frequency(viewer_client: Client, viewer_a, tenant_a):
    assert viewer_client.get(reverse("account_digest")).context["current"] == "weekly"
    viewer_client.post(reverse("account_digest"), {"frequency": "off"})
    with tenant_context(tenant_a):
        assert DigestPreference.objects.get(user=viewer_a).frequency == "off"


def test_an_admin_sets_rotates_and_removes_the_webhook(admin_client: Client, tenant_a):
    from alerts.models import WebhookEndpoint

    admin_client.post(
        reverse("settings_webhook"),
        {"url": "https://hooks.example.test/T1", "min_severity": "critical", "enabled": "on"},
    )
    with tenant_context(tenant_a):
        endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.min_severity, endpoint.enabled) == (
        "https://hooks.example.test/T1",
        "critical",
        True,
    )
    assert endpoint.secret in admin_client.get(reverse("settings_alert_rules")).content.decode()
    admin_client.post(reverse("settings_webhook"), {"action": "rotate"})
    with tenant_context(tenant_a):
        assert WebhookEndpoint.objects.get().secret != endpoint.secret
    admin_client.post(reverse("settings_webhook"), {"action": "delete"})
    with tenant_context(tenant_a):
        assert not WebhookEndpoint.objects.exists()


def test_a_webhook_url_that_is_not_http_is_refused(admin_client: Client, tenant_a):
    from alerts.models import WebhookEndpoint

    response = admin_client.post(reverse("settings_webhook"), {"url": "ftp://x.test/"}, follow=True)
    assert "Webhook:" in response.content.decode()
    with tenant_context(tenant_a):
        assert not WebhookEndpoint.objects.exists()


LEAD_SOURCE = ("lead_source", "negative")


def test_the_next_actions_page_lists_every_driver_with_its_default(admin_client: Client, tenant_a):
    page = admin_client.get(reverse("settings_next_actions"))

    body = page.content.decode()
    assert page.status_code == 200
    assert [row["feature"] for row in page.context["rows"]][:2] == ["industry", "region"]
    for row in page.context["rows"]:
        assert row["shown"] == DEFAULT_NEXT_ACTIONS[(row["feature"], "negative")]
    assert "Weak lead source: confirm the pain and the buyer&#x27;s own urgency." in body


def test_an_admin_replaces_switches_off_and_restores_a_next_action(admin_client: Client, tenant_a, user_a):
    save = reverse("settings_next_action_save", args=["lead_source"])

    response = admin_client.post(save, {"action": "  Call the partner manager.  ", "enabled": "on"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert next_action_rules()[LEAD_SOURCE] == "Call the partner manager."
        assert NextActionRule.objects.get().updated_by == user_a
    page = admin_client.get(reverse("settings_next_actions")).content.decode()
    assert "Deals show: “Call the partner manager.”" in page

    admin_client.post(save, {"action": "Call the partner manager."})  # the switch left off
    with tenant_context(tenant_a):
        assert LEAD_SOURCE not in next_action_rules()

    admin_client.post(reverse("settings_next_action_reset", args=["lead_source"]))
    with tenant_context(tenant_a):
        assert next_action_rules()[LEAD_SOURCE] == DEFAULT_NEXT_ACTIONS[LEAD_SOURCE]
        assert not NextActionRule.objects.exists()
        events = list(
            AuditEvent.objects.filter(action__startswith="next_action.")
            .order_by("id")
            .values_list("action", "actor", "details")
        )
    assert [(action, actor) for action, actor, _ in events] == [
        ("next_action.changed", user_a.pk),
        ("next_action.changed", user_a.pk),
        ("next_action.reset", user_a.pk),
    ]
    assert events[1][2]["changes"] == {"enabled": [True, False]}


def test_an_empty_or_overlong_next_action_is_refused_and_nothing_is_saved(admin_client: Client, tenant_a):
    save = reverse("settings_next_action_save", args=["days_in_stage"])

    empty = admin_client.post(save, {"action": "   ", "enabled": "on"})
    overlong = admin_client.post(save, {"action": "x" * 301, "enabled": "on"})

    assert empty.status_code == overlong.status_code == 400
    assert "Write the action, or switch the recommendation off." in empty.content.decode()
    assert "Keep the action to 300 characters (this one has 301)." in overlong.content.decode()
    assert 'aria-invalid="true"' in overlong.content.decode()
    with tenant_context(tenant_a):
        assert not NextActionRule.objects.exists()


def test_a_feature_that_is_not_a_driver_is_not_found(admin_client: Client, tenant_a):
    response = admin_client.post(reverse("settings_next_action_save", args=["password"]), {"action": "x"})

    assert response.status_code == 404


def test_one_tenants_next_action_never_reaches_another(
    admin_client: Client, client_factory_b, tenant_a, tenant_b
):
    save = reverse("settings_next_action_save", args=["lead_source"])
    admin_client.post(save, {"action": "A's own step.", "enabled": "on"})
    client_factory_b.post(reverse("settings_next_action_save", args=["lead_source"]), {"action": ""})

    with tenant_context(tenant_a):
        assert next_action_rules()[LEAD_SOURCE] == "A's own step."
    with tenant_context(tenant_b):
        assert LEAD_SOURCE not in next_action_rules()
        assert list(NextActionRule.objects.values_list("action", "enabled")) == [("", False)]
    page_b = client_factory_b.get(reverse("settings_next_actions")).content.decode()
    assert "A&#x27;s own step." not in page_b


def test_the_next_actions_page_reads_the_rules_in_one_query_however_many(
    admin_client: Client, tenant_a, user_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scoring.services import next_action_rule_set

    url = reverse("settings_next_actions")
    admin_client.get(url)
    with CaptureQueriesContext(connection) as none:
        admin_client.get(url)
    with tenant_context(tenant_a):
        for feature in ("industry", "region", "lead_source", "rep"):
            next_action_rule_set(feature=feature, action=f"Our step for {feature}.", user=user_a)
    with CaptureQueriesContext(connection) as four:
        body = admin_client.get(url).content.decode()

    assert len(four.captured_queries) == len(none.captured_queries)
    assert body.count(f"Last changed by {user_a.get_username()}") == 4
