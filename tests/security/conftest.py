"""Fixtures of the security tests: tenants A and B filled with marked rows of every model."""

from __future__ import annotations

import pytest

from tests.security.tenant_world import TenantWorld, tenant_world_build

A_MARKER = "zqxa"
B_MARKER = "zqxb"


@pytest.fixture
def world_a(tenant_a, user_a) -> TenantWorld:
    return tenant_world_build(tenant=tenant_a, user=user_a, marker=A_MARKER)


@pytest.fixture
def world_b(tenant_b, user_b) -> TenantWorld:
    return tenant_world_build(tenant=tenant_b, user=user_b, marker=B_MARKER)
