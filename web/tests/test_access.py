"""Every page: anonymous users go to sign in, roles are enforced (403), and another tenant's
objects are 404 — checked for every URL of the web UI."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

# (url name, kwargs factory) for pages every member may read.
READ_PAGES = ["home", "risk_board", "risk_board_export", "segments", "reps", "alerts", "model"]
ADMIN_PAGES = ["settings_home", "settings_members"]
ADMIN_POSTS = ["settings_member_invite"]


@pytest.mark.parametrize("name", READ_PAGES + ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, tenant_a, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_an_anonymous_htmx_request_redirects_the_whole_page_to_sign_in(client: Client, tenant_a):
    response = client.get(
        reverse("risk_board"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/deals/?q=x"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=%2Fdeals%2F%3Fq%3Dx"


def test_a_deal_page_for_anonymous_visitors_redirects_to_sign_in(client: Client, open_deal_a):
    response = client.get(reverse("deal_detail", args=[open_deal_a.pk]))
    assert response.status_code == 302


@pytest.mark.parametrize("name", READ_PAGES)
def test_viewers_can_read_every_insight_page(viewer_client: Client, pipeline_a, name):
    assert viewer_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_viewers_are_refused_admin_pages(viewer_client: Client, name):
    assert viewer_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_managers_are_refused_admin_pages(manager_client: Client, name):
    assert manager_client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admins_can_open_admin_pages(admin_client: Client, name):
    assert admin_client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_POSTS)
def test_viewers_cannot_post_to_admin_actions(viewer_client: Client, name):
    response = viewer_client.post(reverse(name), {"email": "eve@evil.test", "role": "admin"})
    assert response.status_code == 403


def test_another_tenants_deal_is_not_found(admin_client: Client, deal_b):
    assert admin_client.get(reverse("deal_detail", args=[deal_b.pk])).status_code == 404


def test_another_tenants_membership_cannot_be_changed(admin_client: Client, user_b, tenant_b):
    from tenants.context import tenant_context
    from tenants.models import Membership

    with tenant_context(tenant_b):
        membership_b = Membership.objects.get(user=user_b)
    url = reverse("settings_member_role", args=[membership_b.pk])
    assert admin_client.post(url, {"role": "viewer"}).status_code == 404
    remove = reverse("settings_member_remove", args=[membership_b.pk])
    assert admin_client.post(remove).status_code == 404


def test_a_signed_in_user_without_a_tenant_is_refused(client: Client, django_user_model, tenant_a):
    loner = django_user_model.objects.create_user("loner@x.test", password="pw-loner-123")
    client.force_login(loner)
    assert client.get(reverse("risk_board")).status_code == 403
