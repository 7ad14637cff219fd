"""Fixtures shared by every app's tests: two tenants, their users, and scoping helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import AbstractUser

from tenants.context import tenant_context
from tenants.models import Role, Tenant
from tenants.services import membership_grant, tenant_create, user_ensure

# Fixture modules owned by the areas that need them (Celery worker, browser, data sets).
pytest_plugins = [
    "salesintel.testing.celery",
    "salesintel.testing.browser",
    "salesintel.testing.data",
]


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return tenant_create(slug="acme", name="Acme Corp")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return tenant_create(slug="globex", name="Globex")


@pytest.fixture
def user_a(tenant_a: Tenant) -> AbstractUser:
    user = user_ensure(email="ada@acme.test", password="pw-acme-123")
    membership_grant(tenant=tenant_a, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def user_b(tenant_b: Tenant) -> AbstractUser:
    user = user_ensure(email="bob@globex.test", password="pw-globex-123")
    membership_grant(tenant=tenant_b, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def in_tenant_a(tenant_a: Tenant) -> Iterator[Tenant]:
    """Run the test body as tenant A."""
    with tenant_context(tenant_a):
        yield tenant_a


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings) -> None:
    """Production uses a hashed manifest built by collectstatic; tests serve from the app dirs."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
