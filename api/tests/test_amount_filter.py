"""amount_min / amount_max compare as double precision only where that is exact (api.filters)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from api.filters import EXACT_AS_FLOAT_BELOW
from api.tests.conftest import deal_make
from tenants.context import tenant_context

DEALS = "/api/v1/deals"
BELOW = EXACT_AS_FLOAT_BELOW - Decimal("0.01")  # the largest amount compared as float8
AMOUNTS = {
    "C-029": Decimal("0.29"),
    "C-030": Decimal("0.30"),
    "C-031": Decimal("0.31"),
    "C-BELOW": BELOW,
    "C-LIMIT": EXACT_AS_FLOAT_BELOW,
    "C-ABOVE": EXACT_AS_FLOAT_BELOW + Decimal("0.01"),
    "C-MAX": Decimal("99999999999999.99"),
    "C-MAX-1": Decimal("99999999999999.98"),
}


@pytest.fixture
def cent_apart_a(tenant_a):
    with tenant_context(tenant_a):
        for crm_id, amount in AMOUNTS.items():
            deal_make(crm_id, amount=amount)


def matching(client, query) -> set[str]:  # type: ignore[no-untyped-def]
    response = client.get(DEALS, {**query, "limit": 100})
    assert response.status_code == 200, response.content
    return {deal["crm_id"] for deal in response.json()["results"]}


def expected(low: Decimal | None, high: Decimal | None) -> set[str]:
    return {
        crm_id
        for crm_id, amount in AMOUNTS.items()
        if (low is None or amount >= low) and (high is None or amount <= high)
    }


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (Decimal("0.30"), None),
        (None, Decimal("0.30")),
        (Decimal("0.30"), Decimal("0.30")),
        (BELOW, None),
        (None, BELOW),
        (EXACT_AS_FLOAT_BELOW, None),
        (None, EXACT_AS_FLOAT_BELOW),
        (Decimal("99999999999999.99"), None),
        (None, Decimal("99999999999999.98")),
        (Decimal("0.31"), EXACT_AS_FLOAT_BELOW),
    ],
)
def test_amount_bounds_are_exact_to_the_cent_on_both_sides_of_the_float_limit(
    client_a, cent_apart_a, low, high
):
    query = {
        name: str(value) for name, value in (("amount_min", low), ("amount_max", high)) if value is not None
    }
    assert matching(client_a, query) == expected(low, high)
