"""Bearer keys and sessions: who gets in, who gets 401 or 403, and that keys never cross tenants."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiKey
from api.services import api_key_revoke
from api.tests.conftest import bearer
from tenants.context import tenant_context

DEALS = "/api/v1/deals"


def test_a_call_without_credentials_is_401_with_the_bearer_challenge(db):
    response = APIClient().get(DEALS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["type"] == "not_authenticated"


def test_a_valid_key_reaches_its_tenants_deals(client_a, deal_a):
    response = client_a.get(DEALS)
    assert response.status_code == 200
    assert [deal["crm_id"] for deal in response.json()["results"]] == ["ACME-SECRET-1"]


@pytest.mark.parametrize(
    "token",
    ["nonsense", "si_abcdefghij_" + "x" * 43, "", "si_ABCDEFGHIJ_" + "y" * 43],
)
def test_a_malformed_or_unknown_key_is_401(db, token):
    response = bearer(token).get(DEALS)
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_failed"


def test_a_key_with_a_tampered_secret_is_401(read_key_a, deal_a):
    tampered = read_key_a[:-1] + ("A" if read_key_a[-1] != "A" else "B")
    assert bearer(tampered).get(DEALS).status_code == 401


def test_a_revoked_key_is_401(tenant_a, read_key_a, deal_a):
    with tenant_context(tenant_a):
        api_key_revoke(api_key=ApiKey.objects.get())
    response = bearer(read_key_a).get(DEALS)
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or revoked API key."


def test_a_bad_key_is_401_even_with_a_signed_in_session(user_a, deal_a):
    client = APIClient()
    client.force_login(user_a)
    client.credentials(HTTP_AUTHORIZATION="Bearer si_abcdefghij_" + "z" * 43)
    assert client.get(DEALS).status_code == 401


def test_a_signed_in_member_reaches_the_api_with_the_session(user_a, deal_a):
    client = APIClient()
    client.force_login(user_a)
    response = client.get(DEALS)
    assert response.status_code == 200
    assert response.json()["results"][0]["crm_id"] == "ACME-SECRET-1"


def test_a_signed_in_user_without_a_tenant_is_403(db, django_user_model):
    client = APIClient()
    client.force_login(django_user_model.objects.create_user("nobody@example.test", password="x-123-y"))
    assert client.get(DEALS).status_code == 403


def test_a_key_of_tenant_b_sees_none_of_tenant_as_deals(writer_b, deal_a, deal_b):
    response = writer_b.get(DEALS)
    assert [deal["crm_id"] for deal in response.json()["results"]] == ["GLOBEX-1"]
    assert "ACME" not in response.content.decode()


def test_a_key_is_not_accepted_on_web_pages(read_key_a, deal_a):
    response = bearer(read_key_a).get("/")
    # The web app ignores bearer keys: no session, so the login redirect.
    assert response.status_code == 302


def test_the_key_records_when_it_was_last_used(tenant_a, client_a, deal_a):
    before = timezone.now()
    client_a.get(DEALS)
    with tenant_context(tenant_a):
        assert ApiKey.objects.get().last_used_at >= before


def test_only_the_hash_and_prefix_of_a_key_are_stored(tenant_a, read_key_a):
    with tenant_context(tenant_a):
        stored = ApiKey.objects.get()
    assert read_key_a.startswith(f"si_{stored.key_prefix}_")
    assert read_key_a not in {stored.key_sha256, stored.key_prefix, stored.name}


def test_a_session_write_without_the_csrf_token_is_403(user_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_a)
    response = client.post(DEALS, {"crm_id": "X"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_viewer_signed_in_reads_but_cannot_write(tenant_a):
    from tenants.models import Role
    from tenants.services import membership_grant, user_ensure

    viewer = user_ensure(email="val@acme.test", password="pw-val-12345")
    membership_grant(tenant=tenant_a, user=viewer, role=Role.VIEWER)
    client = APIClient()
    client.force_login(viewer)
    assert client.get(DEALS).status_code == 200
    assert client.post(DEALS, {"crm_id": "X"}, format="json").status_code == 403
