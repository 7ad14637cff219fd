"""Rate limits count per key and answer 429 with Retry-After."""

from __future__ import annotations

import pytest

from api.tests.conftest import bearer

DEALS = "/api/v1/deals"


@pytest.fixture
def three_per_minute(settings):
    settings.API_THROTTLE_RATES = {"api_key": "3/min", "user": "3/min", "anon": "3/min"}


def test_the_call_over_the_limit_is_429_with_retry_after(three_per_minute, client_a):
    statuses = [client_a.get(DEALS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client_a.get(DEALS)
    assert response.json()["type"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_each_key_has_its_own_budget(three_per_minute, client_a, tenant_a, make_key):
    for _ in range(3):
        client_a.get(DEALS)
    assert client_a.get(DEALS).status_code == 429
    assert bearer(make_key(tenant_a)).get(DEALS).status_code == 200
