"""API test fixtures: clients, keys of each scope for tenants A and B, and a deal in each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiKeyScope
from api.services import api_key_create
from deals.models import Deal, Rep
from tenants.context import tenant_context
from tenants.models import Tenant


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # Throttle counts live in the cache; each test starts with a clean slate.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_key() -> Callable[..., str]:
    def make(tenant: Tenant, scope: str = ApiKeyScope.READ, name: str = "test key") -> str:
        with tenant_context(tenant):
            return api_key_create(name=name, scope=scope).plaintext

    return make


@pytest.fixture
def read_key_a(tenant_a: Tenant, make_key: Callable[..., str]) -> str:
    return make_key(tenant_a, ApiKeyScope.READ)


@pytest.fixture
def write_key_a(tenant_a: Tenant, make_key: Callable[..., str]) -> str:
    return make_key(tenant_a, ApiKeyScope.WRITE)


@pytest.fixture
def write_key_b(tenant_b: Tenant, make_key: Callable[..., str]) -> str:
    return make_key(tenant_b, ApiKeyScope.WRITE)


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def client_a(read_key_a: str) -> APIClient:
    """Tenant A, read-only key."""
    return bearer(read_key_a)


@pytest.fixture
def writer_a(write_key_a: str) -> APIClient:
    """Tenant A, write key."""
    return bearer(write_key_a)


@pytest.fixture
def writer_b(write_key_b: str) -> APIClient:
    """Tenant B, write key."""
    return bearer(write_key_b)


def session_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    """A browser session of ``user``."""
    client = APIClient()
    client.force_login(user)
    return client


def deal_make(crm_id: str, **fields: object) -> Deal:
    """A deal in the active tenant (call inside tenant_context)."""
    values: dict[str, object] = {
        "crm_id": crm_id,
        "name": f"Deal {crm_id}",
        "created_date": dt.date(2024, 1, 10),
        "stage": "Qualified",
        "amount": Decimal("1000.00"),
        "industry": "SaaS",
        "region": "Europe",
        "product_type": "Core",
        "lead_source": "Referral",
    }
    values.update(fields)
    if isinstance(values.get("rep"), str):
        values["rep"], _ = Rep.objects.get_or_create(crm_id=values["rep"], defaults={"name": values["rep"]})
    return Deal.objects.create(**values)


@pytest.fixture
def deal_a(tenant_a: Tenant) -> Deal:
    with tenant_context(tenant_a):
        return deal_make("ACME-SECRET-1", name="Acme secret merger", amount=Decimal("987654.32"), rep="rep_a")


@pytest.fixture
def deal_b(tenant_b: Tenant) -> Deal:
    with tenant_context(tenant_b):
        return deal_make("GLOBEX-1", name="Globex renewal", rep="rep_b")
