"""The request's tenant comes from the signed-in user's active membership."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from deals.models import Deal
from tenants.context import tenant_context
from tenants.models import Role
from tenants.services import membership_grant


@pytest.fixture
def deal_of_a(tenant_a):
    with tenant_context(tenant_a):
        return Deal.objects.create(
            crm_id="A-SECRET-1",
            name="Acme secret expansion",
            created_date=dt.date(2024, 1, 1),
            stage="Demo",
            amount=Decimal("5000"),
        )


def test_a_signed_in_member_gets_their_tenant(client: Client, user_a, tenant_a):
    client.force_login(user_a)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert response.wsgi_request.tenant == tenant_a


def test_a_user_without_membership_is_refused(client: Client, django_user_model, tenant_a):
    stranger = django_user_model.objects.create_user("stranger@x.test", password="pw-strange-1")
    client.force_login(stranger)
    assert client.get(reverse("home")).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client: Client, tenant_a):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_member_of_two_tenants_can_switch_between_them(client: Client, user_a, tenant_a, tenant_b):
    membership_grant(tenant=tenant_b, user=user_a, role=Role.VIEWER)
    client.force_login(user_a)
    assert client.get(reverse("home")).wsgi_request.tenant == tenant_a
    response = client.post(reverse("tenant_switch"), {"tenant_id": tenant_b.pk})
    assert response.status_code == 302
    assert client.get(reverse("home")).wsgi_request.tenant == tenant_b


def test_switching_to_a_tenant_the_user_does_not_belong_to_is_refused(
    client: Client, user_a, tenant_a, tenant_b
):
    client.force_login(user_a)
    response = client.post(reverse("tenant_switch"), {"tenant_id": tenant_b.pk})
    assert response.status_code == 404
    assert client.get(reverse("home")).wsgi_request.tenant == tenant_a


def test_the_admin_lists_only_the_active_tenants_deals(client: Client, user_b, deal_of_a):
    user_b.is_staff = True
    user_b.is_superuser = True  # even a superuser works inside one tenant at a time
    user_b.save()
    client.force_login(user_b)
    response = client.get("/admin/deals/deal/")
    assert response.status_code == 200
    assert b"A-SECRET-1" not in response.content
    assert client.get(f"/admin/deals/deal/{deal_of_a.pk}/change/").status_code == 302


def test_the_request_runs_with_the_rls_setting_of_its_tenant(client: Client, user_a, tenant_a, deal_of_a):
    client.force_login(user_a)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    # After the request the setting is gone again: nothing leaks into the next one.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM deals_deal")
        assert cursor.fetchone()[0] == 0
