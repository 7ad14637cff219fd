"""DriverEntry: one distinct driver, its contribution stored exactly in hundredths of log-odds."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from scoring.models import DriverEntry
from tenants.context import tenant_context
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_it_shows_the_driver_dict_the_history_has_always_held(in_tenant_a: Tenant) -> None:
    entry = DriverEntry.objects.create(feature="lead_source", label="Partner lead source", value_centi=-42)

    assert entry.value == -0.42
    assert entry.as_driver() == {"feature": "lead_source", "label": "Partner lead source", "value": -0.42}


def test_it_refuses_a_duplicate_entry_within_a_tenant(in_tenant_a: Tenant) -> None:
    DriverEntry.objects.create(feature="stage", label="In Demo stage", value_centi=31)

    with pytest.raises(IntegrityError), transaction.atomic():
        DriverEntry.objects.create(feature="stage", label="In Demo stage", value_centi=31)


def test_two_tenants_may_hold_the_same_entry_and_see_only_their_own(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            DriverEntry.objects.create(feature="stage", label="In Demo stage", value_centi=31)

    with tenant_context(tenant_a):
        assert list(DriverEntry.objects.values_list("tenant_id", flat=True)) == [tenant_a.id]
