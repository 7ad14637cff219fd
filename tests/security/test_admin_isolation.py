"""The Django admin, as a tenant admin of B who is Django staff holding every permission, shows
nothing of tenant A: no row of A in any registered ModelAdmin's changelist, add form (user
pickers) or search, and A's change, history and delete pages answer 302/404. Such a staff user
cannot grant privileges, manage groups, or change a user who also belongs to another tenant.

Tenants A and B are filled with a marked row of every tenant-owned model (tenant_world); A's
texts carry ``zqxa`` and A's user's address is at ``acme``.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from tenants.models import Role, Tenant
from tenants.services import membership_grant, user_ensure
from tests.security.conftest import A_MARKER, B_MARKER
from tests.security.tenant_world import TenantWorld

A_TEXTS = (A_MARKER, "acme", "Acme")
REFUSED = (302, 403, 404)


def _admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _leaks(body: bytes) -> list[str]:
    text = body.decode(errors="replace")
    return [needle for needle in A_TEXTS if needle in text]


@pytest.fixture
def staff_b(world_a: TenantWorld, world_b: TenantWorld) -> Client:
    """B's admin: staff (as create_tenant makes tenant admins) with every permission there is."""
    user = world_b.user
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.all())
    client = Client()
    client.force_login(user)
    return client


def test_every_registered_changelist_shows_none_of_a_and_b_sees_its_own(staff_b, world_a, world_b):
    shown_b = []
    for model, model_admin in admin.site._registry.items():
        url = _admin_url(model, "changelist")
        response = staff_b.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        assert not _leaks(response.content), (url, _leaks(response.content))
        if response.status_code == 200 and model_admin.search_fields:
            # Searching for A's texts finds nothing either (the page echoes the search term).
            for needle in A_TEXTS:
                searched = staff_b.get(url, {"q": needle})
                assert searched.status_code == 200, url
                assert searched.context["cl"].result_count == 0, (url, needle)
        if response.status_code == 200 and B_MARKER in response.content.decode():
            shown_b.append(model._meta.label)
    # The positive control: B's own rows are listed (the pages really render rows).
    assert {"deals.Deal", "deals.Rep", "deals.FieldMapping", "alerts.Alert"} <= set(shown_b), shown_b


def test_every_add_form_offers_none_of_as_rows_or_users(staff_b):
    for model in admin.site._registry:
        url = _admin_url(model, "add")
        response = staff_b.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
        assert not _leaks(response.content), (url, _leaks(response.content))


def test_the_change_history_and_delete_pages_of_as_rows_are_refused(staff_b, world_a, tenant_a):
    objects = [(type(row), row.pk) for rows in world_a.rows.values() for row in rows]
    objects += [(type(world_a.user), world_a.user.pk), (Tenant, tenant_a.pk)]
    checked = 0
    for model, pk in objects:
        if model not in admin.site._registry:
            continue
        for view in ("change", "history", "delete"):
            url = _admin_url(model, view, pk)
            response = staff_b.get(url)
            assert response.status_code in REFUSED, (url, response.status_code)
            assert not _leaks(response.content), (url, _leaks(response.content))
            if response.status_code == 302:
                assert not _leaks(response["Location"].encode())
            checked += 1
        # Nor can a POST change or delete it.
        before = model._base_manager.filter(pk=pk).count()
        for view in ("change", "delete"):
            response = staff_b.post(_admin_url(model, view, pk), {"post": "yes"})
            assert response.status_code in REFUSED, (model, view, response.status_code)
        assert model._base_manager.filter(pk=pk).count() == before
    assert checked >= 3 * 10  # every registered tenant-owned model of A, A's user and tenant


def test_a_tenant_admin_cannot_grant_privileges_or_manage_groups(staff_b, world_b):
    user = world_b.user
    page = staff_b.get(_admin_url(type(user), "change", user.pk))
    assert page.status_code == 200
    body = page.content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in body, field
    staff_b.post(
        _admin_url(type(user), "change", user.pk),
        {"username": user.username, "email": user.email, "is_active": "on", "is_superuser": "on"},
    )
    user.refresh_from_db()
    assert not user.is_superuser
    assert staff_b.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert staff_b.get(reverse("admin:auth_group_add")).status_code == 403
    assert staff_b.get(reverse("admin:auth_user_add")).status_code == 403
    group = Group.objects.create(name="everything")
    assert staff_b.get(_admin_url(Group, "change", group.pk)).status_code in REFUSED


def test_a_user_who_also_belongs_to_another_tenant_is_read_only_for_a_tenant_admin(
    staff_b, tenant_a, world_b
):
    shared = user_ensure(email="sam@shared.test", password="pw-shared-123")
    membership_grant(tenant=tenant_a, user=shared, role=Role.ADMIN)
    membership_grant(tenant=world_b.tenant, user=shared, role=Role.VIEWER)
    listed = staff_b.get(reverse("admin:auth_user_changelist"))
    assert "sam@shared.test" in listed.content.decode()  # a member of B, so listed
    page = staff_b.get(_admin_url(type(shared), "change", shared.pk))
    assert page.status_code == 200
    assert 'name="email"' not in page.content.decode()  # shown, not editable
    password = reverse("admin:auth_user_password_change", args=[shared.pk])
    assert staff_b.get(password).status_code == 403
    response = staff_b.post(password, {"password1": "taken-over-123!", "password2": "taken-over-123!"})
    assert response.status_code == 403
    shared.refresh_from_db()
    assert shared.check_password("pw-shared-123")
