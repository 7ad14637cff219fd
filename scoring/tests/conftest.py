"""Fixtures for scoring's database tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scoring.models import ModelVersion
from scoring.services import model_train
from scoring.tests.factories import ANCHOR, deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant

# Small seeded tenants train with a lower minimum than the product default.
SMALL_MINIMUM = 50


@pytest.fixture
def seeded_tenant(in_tenant_a: Tenant) -> Tenant:
    """Tenant A (active) with 400 closed and 40 open seeded deals."""
    deals_seed()
    return in_tenant_a


@pytest.fixture
def trained_tenant(seeded_tenant: Tenant) -> Tenant:
    """The seeded tenant with a trained, active version and every open deal scored on ANCHOR."""
    from scoring.services import deal_scores_refresh

    model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM, rescore=False)
    deal_scores_refresh(trigger="test", as_of=ANCHOR)
    return seeded_tenant


@pytest.fixture
def active_version(trained_tenant: Tenant) -> ModelVersion:
    return ModelVersion.objects.get(is_active=True)


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Run tasks inline where they are sent (signal → task paths without a worker)."""
    from salesintel.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@pytest.fixture
def in_tenant_b(tenant_b: Tenant) -> Iterator[Tenant]:
    with tenant_context(tenant_b):
        yield tenant_b
