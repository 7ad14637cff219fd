"""Fixtures for alerts tests: a tenant with a history of won deals that sets the thresholds."""

from __future__ import annotations

import datetime as dt

import pytest

from alerts.tests.factories import won_deal_with_history
from tenants.models import Tenant

# As of this date, won Core deals spent 10–14 days in Proposal (p75 = 13) and took 25–29 days
# from creation to close (median 27).
AS_OF = dt.date(2024, 6, 1)


@pytest.fixture
def won_history(in_tenant_a: Tenant) -> Tenant:
    start = dt.date(2024, 1, 1)
    for index in range(30):
        won_deal_with_history(
            created=start + dt.timedelta(days=index),
            days_per_stage={"Qualified": 10, "Proposal": 10 + index % 5, "Negotiation": 5},
        )
    return in_tenant_a
