"""/api/v1/api-keys: tenant admins list, create (shown once) and revoke keys; keys cannot."""

from __future__ import annotations

from rest_framework.test import APIClient

from api.models import ApiKey
from api.tests.conftest import bearer
from tenants.context import tenant_context
from tenants.models import Role
from tenants.services import membership_grant, user_ensure

KEYS = "/api/v1/api-keys"


def admin_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_login(user)
    return client


def test_an_admin_creates_a_key_and_sees_it_once(user_a):
    client = admin_client(user_a)
    created = client.post(KEYS, {"name": "Salesforce sync", "scope": "write"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(f"si_{body['prefix']}_")
    listed = client.get(KEYS).json()
    assert [item["name"] for item in listed] == ["Salesforce sync"]
    assert "key" not in listed[0]


def test_a_created_key_works_at_once(user_a):
    key = admin_client(user_a).post(KEYS, {"name": "BI", "scope": "read"}, format="json").json()["key"]
    assert bearer(key).get("/api/v1/deals").status_code == 200


def test_an_admin_revokes_a_key_and_it_stops_working(user_a, tenant_a, read_key_a):
    with tenant_context(tenant_a):
        prefix = ApiKey.objects.get().key_prefix
    response = admin_client(user_a).delete(f"{KEYS}/{prefix}")
    assert response.status_code == 200
    assert response.json()["revoked"] is True
    assert bearer(read_key_a).get("/api/v1/deals").status_code == 401


def test_an_invalid_scope_is_422_naming_the_field(user_a):
    response = admin_client(user_a).post(KEYS, {"name": "x", "scope": "admin"}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["scope"]


def test_a_viewer_cannot_manage_keys(tenant_a):
    viewer = user_ensure(email="vic@acme.test", password="pw-vic-12345")
    membership_grant(tenant=tenant_a, user=viewer, role=Role.VIEWER)
    assert admin_client(viewer).get(KEYS).status_code == 403


def test_a_key_even_a_write_key_cannot_manage_keys(writer_a):
    assert writer_a.get(KEYS).status_code == 403
    assert writer_a.post(KEYS, {"name": "escalate", "scope": "write"}, format="json").status_code == 403


def test_tenant_bs_admin_cannot_revoke_tenant_as_key(user_b, tenant_a, read_key_a):
    with tenant_context(tenant_a):
        prefix = ApiKey.objects.get().key_prefix
    assert admin_client(user_b).delete(f"{KEYS}/{prefix}").status_code == 404
    assert bearer(read_key_a).get("/api/v1/deals").status_code == 200


def test_anonymous_callers_are_401(db):
    assert APIClient().get(KEYS).status_code == 401
