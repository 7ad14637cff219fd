"""manage.py create_api_key prints a working key once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiKey
from api.tests.conftest import bearer
from tenants.context import tenant_context


def test_the_command_prints_a_key_with_the_requested_scope(tenant_a):
    out = io.StringIO()
    call_command(
        "create_api_key", tenant="acme", name="BI export", scope="write", stdout=out, stderr=io.StringIO()
    )
    key = out.getvalue().strip()
    with tenant_context(tenant_a):
        stored = ApiKey.objects.get()
    assert (stored.name, stored.scope) == ("BI export", "write")
    assert bearer(key).get("/api/v1/deals").status_code == 200


def test_an_unknown_tenant_is_an_error(db):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_api_key", tenant="nope", name="x", scope="read")
