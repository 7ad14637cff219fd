"""Admin → Members: invite by email, change roles, remove people; the last admin stays."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.context import tenant_context
from tenants.models import Membership, Role


def memberships(tenant) -> dict[str, str]:
    with tenant_context(tenant):
        return {m.user.username: m.role for m in Membership.objects.select_related("user")}


def test_the_members_page_lists_the_tenants_people_only(admin_client: Client, viewer_a, user_b):
    body = admin_client.get(reverse("settings_members")).content.decode()
    assert "vera@acme.test" in body
    assert "bob@globex.test" not in body


def test_inviting_a_new_person_creates_their_membership_and_emails_a_password_link(
    admin_client: Client, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("settings_member_invite"), {"email": "nina@acme.test", "role": "manager"}
        )
    assert response.status_code == 302
    assert memberships(tenant_a)["nina@acme.test"] == Role.MANAGER
    (message,) = mail.outbox
    assert message.to == ["nina@acme.test"]
    assert "Acme Corp" in message.subject
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body)
    assert link is not None
    assert b"Choose a new password" in Client().get(link.group(1), follow=True).content


def test_inviting_someone_who_already_has_an_account_asks_them_to_sign_in(
    admin_client: Client, user_b, tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("settings_member_invite"), {"email": "bob@globex.test", "role": "viewer"})
    assert memberships(tenant_a)["bob@globex.test"] == Role.VIEWER
    assert "/password/reset/" not in mail.outbox[0].body
    assert "http://testserver/login/" in mail.outbox[0].body
    assert get_user_model().objects.get(username="bob@globex.test").check_password("pw-globex-123")


def test_an_invalid_invitation_shows_the_form_errors(admin_client: Client):
    response = admin_client.post(
        reverse("settings_member_invite"), {"email": "not-an-email", "role": "admin"}
    )
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content


def test_an_admin_changes_a_members_role(admin_client: Client, viewer_a, tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=viewer_a)
    admin_client.post(reverse("settings_member_role", args=[membership.pk]), {"role": "manager"})
    assert memberships(tenant_a)["vera@acme.test"] == Role.MANAGER


def test_the_last_admin_cannot_be_demoted(admin_client: Client, user_a, tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=user_a)
    response = admin_client.post(
        reverse("settings_member_role", args=[membership.pk]), {"role": "viewer"}, follow=True
    )
    assert memberships(tenant_a)["ada@acme.test"] == Role.ADMIN
    assert b"at least one admin" in response.content


def test_an_admin_removes_a_member(admin_client: Client, viewer_a, tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=viewer_a)
    admin_client.post(reverse("settings_member_remove", args=[membership.pk]))
    assert "vera@acme.test" not in memberships(tenant_a)


def test_an_admin_cannot_remove_themselves(admin_client: Client, user_a, tenant_a):
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user=user_a)
    admin_client.post(reverse("settings_member_remove", args=[membership.pk]))
    assert "ada@acme.test" in memberships(tenant_a)
