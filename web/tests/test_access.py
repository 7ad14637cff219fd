"""Access rules for every URL of the web UI: anonymous visitors go to sign in, a missing role is
403, and another tenant's objects are 404. ``GUARDED`` must list every guarded URL (a test checks
that no URL is left out)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from alerts.services import alert_rules_ensure
from api.services import api_key_create
from deals.models import FieldMapping
from tenants.context import tenant_context
from tenants.models import Membership, Role
from web import urls as web_urls


@dataclass(frozen=True)
class Guarded:
    name: str
    role: str  # the least role that may use it
    method: str = "get"
    # Which object of *tenant B* the URL takes (None: no object in the URL).
    object_of_b: str | None = None
    # Fixed URL arguments that name no tenant's object (a driver's feature key).
    kwargs: tuple[tuple[str, str], ...] = ()


GUARDED = [
    Guarded("home", Role.VIEWER),
    Guarded("briefing", Role.VIEWER),
    Guarded("segments", Role.VIEWER),
    Guarded("reps", Role.VIEWER),
    Guarded("rep_detail", Role.VIEWER, object_of_b="rep"),
    Guarded("risk_board", Role.VIEWER),
    Guarded("risk_board_export", Role.VIEWER),
    Guarded("deal_detail", Role.VIEWER, object_of_b="deal"),
    Guarded("alerts", Role.VIEWER),
    Guarded("model", Role.VIEWER),
    Guarded("account_digest", Role.VIEWER),
    Guarded("alerts_bulk", Role.MANAGER, "post"),
    Guarded("alert_act", Role.MANAGER, "post", object_of_b="alert"),
    Guarded("settings_home", Role.ADMIN),
    Guarded("settings_imports", Role.ADMIN),
    Guarded("settings_import_upload", Role.ADMIN, "post"),
    Guarded("settings_import_map", Role.ADMIN, object_of_b="upload"),
    Guarded("settings_import_status", Role.ADMIN, object_of_b="upload"),
    Guarded("settings_import_run", Role.ADMIN, "post", object_of_b="upload"),
    Guarded("settings_mappings", Role.ADMIN),
    Guarded("settings_mapping_delete", Role.ADMIN, "post", object_of_b="mapping"),
    Guarded("settings_api_keys", Role.ADMIN),
    Guarded("settings_api_key_revoke", Role.ADMIN, "post", object_of_b="api_key"),
    Guarded("settings_alert_rules", Role.ADMIN),
    Guarded("settings_alert_rule_save", Role.ADMIN, "post", object_of_b="alert_rule"),
    Guarded("settings_webhook", Role.ADMIN, "post"),
    Guarded("settings_quota", Role.ADMIN),
    Guarded("settings_next_actions", Role.ADMIN),
    Guarded("settings_next_action_save", Role.ADMIN, "post", kwargs=(("feature", "lead_source"),)),
    Guarded("settings_next_action_reset", Role.ADMIN, "post", kwargs=(("feature", "lead_source"),)),
    Guarded("settings_members", Role.ADMIN),
    Guarded("settings_member_invite", Role.ADMIN, "post"),
    Guarded("settings_member_role", Role.ADMIN, "post", object_of_b="membership"),
    Guarded("settings_member_remove", Role.ADMIN, "post", object_of_b="membership"),
]
# Open to everyone (sign in, password reset) or needing only a signed-in user.
UNGUARDED = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "password_change",
    "password_change_done",
    "tenant_switch",
    "healthz",
}
RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def web_url_names() -> set[str]:
    return {
        pattern.name for pattern in web_urls.urlpatterns if isinstance(pattern, URLPattern) and pattern.name
    }


@pytest.fixture
def objects_of_b(tenant_b, deal_b, user_b) -> dict[str, object]:
    """One object of each kind in tenant B, by the name GUARDED uses."""
    from alerts.models import Alert
    from deals.models import Rep

    with tenant_context(tenant_b):
        rep = Rep.objects.create(crm_id="rep_b", name="Bea Rep")
        rule = alert_rules_ensure()["stall"]
        alert = Alert.objects.create(
            rule=rule,
            kind="stall",
            deal=deal_b,
            dedup_key="stall:deal:b",
            title="B stalled",
            summary="…",
            raised_on=deal_b.created_date,
        )
        return {
            "rep": rep.pk,
            "deal": deal_b.pk,
            "alert": alert.pk,
            "alert_rule": rule.pk,
            "mapping": FieldMapping.objects.create(name="b-map", spec={"extends": "standard"}).pk,
            "api_key": api_key_create(name="B key", scope="read").api_key.pk,
            "membership": Membership.objects.get(user=user_b).pk,
            "upload": "0123456789abcdef0123456789abcdef",
        }


def url_of(entry: Guarded, objects: dict[str, object] | None = None) -> str:
    if entry.object_of_b is None:
        return reverse(entry.name, kwargs=dict(entry.kwargs))
    value = (objects or {}).get(entry.object_of_b, 999_999 if entry.object_of_b != "upload" else "ab" * 16)
    key = "upload_id" if entry.object_of_b == "upload" else "pk"
    return reverse(entry.name, kwargs={key: value})


def test_every_url_is_listed_here_as_guarded_or_open():
    listed = {entry.name for entry in GUARDED} | UNGUARDED
    assert web_url_names() == listed


@pytest.mark.parametrize("entry", GUARDED, ids=lambda entry: entry.name)
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, tenant_a, entry):
    response = getattr(client, entry.method)(url_of(entry))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("entry", [e for e in GUARDED if RANK[Role(e.role)] > 0], ids=lambda e: e.name)
def test_viewers_are_refused_what_needs_a_higher_role(viewer_client: Client, entry):
    assert getattr(viewer_client, entry.method)(url_of(entry)).status_code == 403


@pytest.mark.parametrize("entry", [e for e in GUARDED if RANK[Role(e.role)] > 1], ids=lambda e: e.name)
def test_managers_are_refused_admin_urls(manager_client: Client, entry):
    assert getattr(manager_client, entry.method)(url_of(entry)).status_code == 403


@pytest.mark.parametrize("entry", [e for e in GUARDED if e.object_of_b], ids=lambda e: e.name)
def test_another_tenants_objects_are_not_found(admin_client: Client, objects_of_b, entry):
    assert getattr(admin_client, entry.method)(url_of(entry, objects_of_b)).status_code == 404


@pytest.mark.parametrize(
    "entry", [e for e in GUARDED if e.method == "get" and not e.object_of_b], ids=lambda e: e.name
)
def test_the_least_role_can_open_each_page(client: Client, pipeline_a, viewer_a, manager_a, user_a, entry):
    user = {Role.VIEWER: viewer_a, Role.MANAGER: manager_a, Role.ADMIN: user_a}[Role(entry.role)]
    client.force_login(user)
    assert client.get(url_of(entry)).status_code == 200


def test_an_anonymous_htmx_request_redirects_the_whole_page_to_sign_in(client: Client, tenant_a):
    response = client.get(
        reverse("risk_board"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/deals/?q=x"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2Fdeals%2F%3Fq%3Dx"


def test_a_signed_in_user_without_a_tenant_is_refused(client: Client, django_user_model, tenant_a):
    loner = django_user_model.objects.create_user("loner@x.test", password="pw-loner-123")
    client.force_login(loner)
    assert client.get(reverse("risk_board")).status_code == 403


def test_the_admin_navigation_is_shown_to_admins_only(viewer_a, user_a):
    viewer, admin = Client(), Client()
    viewer.force_login(viewer_a)
    admin.force_login(user_a)
    assert b'href="/settings/"' not in viewer.get(reverse("risk_board")).content
    assert b'href="/settings/"' in admin.get(reverse("risk_board")).content
