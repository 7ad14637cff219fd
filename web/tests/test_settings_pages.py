"""Admin → API keys and alert rules; every member's digest preference."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from alerts.models import AlertRule, DigestPreference
from api.keys import key_hash
from api.models import ApiKey
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
