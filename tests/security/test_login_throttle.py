"""Repeated failed sign-ins lock the account (and the address) out for a while."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tenants.models import Role
from tenants.services import membership_grant, user_ensure

PASSWORD = "right-Password-42"


@pytest.fixture
def victim(tenant_a):
    user = user_ensure(email="victim@acme.test", password=PASSWORD)
    membership_grant(tenant=tenant_a, user=user, role=Role.VIEWER)
    yield user
    cache.clear()


def sign_in(client: Client, email: str, password: str, address: str = "198.51.100.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, email: str, times: int, address: str = "198.51.100.7") -> None:
    for _ in range(times):
        response = sign_in(client, email, "wrong", address)
        assert response.status_code == 200 and b"Please enter a correct" in response.content


def test_the_right_password_is_refused_after_five_failures(client: Client, victim):
    fail(client, "victim@acme.test", 5)
    response = sign_in(client, "victim@acme.test", PASSWORD)
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_four_failures_still_let_the_right_password_in_and_reset_the_count(client: Client, victim):
    fail(client, "victim@acme.test", 4)
    assert sign_in(client, "victim@acme.test", PASSWORD).status_code == 302
    client.logout()
    fail(client, "victim@acme.test", 4)
    assert sign_in(client, "victim@acme.test", PASSWORD).status_code == 302


def test_the_lock_is_per_account_and_case_insensitive(client: Client, victim, user_a):
    fail(client, "VICTIM@acme.test", 5)
    assert b"Too many failed" in sign_in(client, "victim@acme.test", PASSWORD).content
    assert sign_in(client, "ada@acme.test", "pw-acme-123", address="198.51.100.8").status_code == 302


def test_one_address_trying_many_accounts_is_locked_out(client: Client, victim, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 6
    for number in range(6):
        fail(client, f"guess{number}@acme.test", 1, address="203.0.113.9")
    response = sign_in(client, "victim@acme.test", PASSWORD, address="203.0.113.9")
    assert b"Too many failed" in response.content
    assert sign_in(client, "victim@acme.test", PASSWORD, address="203.0.113.10").status_code == 302


def test_the_lock_ends_when_the_window_has_passed(client: Client, victim):
    fail(client, "victim@acme.test", 5)
    cache.clear()  # what the counters' expiry does after LOGIN_FAILURE_WINDOW_SECONDS
    assert sign_in(client, "victim@acme.test", PASSWORD).status_code == 302


def test_the_django_admin_sign_in_is_throttled_too(client: Client, victim):
    victim.is_staff = True
    victim.save()
    for _ in range(5):
        client.post("/admin/login/", {"username": "victim@acme.test", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "victim@acme.test", "password": PASSWORD})
    assert response.status_code == 200
    assert b"Too many failed" in response.content
