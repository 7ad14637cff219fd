"""seed_demo and the demo_seed service: tenants, users, deals through the import, histories."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from deals.demo import generate_deals, generate_stage_history
from deals.demo_seed import (
    DEMO_ADMIN_EMAIL,
    DEMO_MANAGER_EMAIL,
    DEMO_PASSWORD,
    DEMO_VIEWER_EMAIL,
    NORTHWIND_ADMIN_EMAIL,
    DemoSeedError,
    demo_anchor_previous,
    demo_seed,
)
from deals.models import Deal, DealStageChange, ImportRun, Rep
from salesintel.testing.data import DEMO_ANCHOR
from tenants.context import tenant_context
from tenants.models import Membership, Role, Tenant

pytestmark = pytest.mark.django_db

ANCHOR = "2026-11-15"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Every seed hashes four passwords; the production hasher would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _counts(slug: str) -> dict[str, int]:
    with tenant_context(Tenant.objects.get(slug=slug)):
        return {
            "deals": Deal.objects.count(),
            "open": Deal.objects.filter(status="open").count(),
            "won": Deal.objects.filter(status="won").count(),
            "reps": Rep.objects.count(),
            "moves": DealStageChange.objects.count(),
        }


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--anchor", ANCHOR, *args, stdout=out)
    return out.getvalue()


def test_seed_demo_loads_both_tenants_and_prints_the_url_and_login(settings) -> None:
    settings.SITE_URL = "http://demo.example:8000"
    output = _seed()
    assert "http://demo.example:8000/" in output
    assert DEMO_ADMIN_EMAIL in output
    assert DEMO_PASSWORD in output
    demo, northwind = _counts("demo"), _counts("northwind")
    assert (demo["deals"], demo["open"], demo["reps"]) == (5600, 600, 25)
    assert (northwind["deals"], northwind["open"], northwind["reps"]) == (1700, 200, 12)
    generated = generate_deals(anchor=DEMO_ANCHOR)
    assert demo["moves"] == len(generate_stage_history(generated))


def test_running_it_again_changes_nothing_and_adds_no_history() -> None:
    _seed()
    first = {slug: _counts(slug) for slug in ("demo", "northwind")}
    _seed()
    assert {slug: _counts(slug) for slug in ("demo", "northwind")} == first
    with tenant_context(Tenant.objects.get(slug="demo")):
        last_run = ImportRun.objects.first()
    assert (last_run.created, last_run.updated, last_run.unchanged) == (0, 0, 5600)


def test_running_it_again_resets_the_demo_password() -> None:
    _seed()
    admin = get_user_model().objects.get(username=DEMO_ADMIN_EMAIL)
    admin.set_password("changed-by-someone")
    admin.save()
    _seed()
    admin.refresh_from_db()
    assert admin.check_password(DEMO_PASSWORD)


def test_the_password_option_sets_every_demo_users_password() -> None:
    _seed("--password", "another-pass-456")
    for email in (DEMO_ADMIN_EMAIL, NORTHWIND_ADMIN_EMAIL):
        assert get_user_model().objects.get(username=email).check_password("another-pass-456")


def test_the_demo_users_have_their_documented_roles() -> None:
    _seed()
    roles = set()
    for slug in ("demo", "northwind"):
        with tenant_context(Tenant.objects.get(slug=slug)):
            roles |= {
                (slug, email, role)
                for email, role in Membership.objects.values_list("user__username", "role")
            }
    assert roles == {
        ("demo", DEMO_ADMIN_EMAIL, Role.ADMIN),
        ("demo", DEMO_MANAGER_EMAIL, Role.MANAGER),
        ("demo", DEMO_VIEWER_EMAIL, Role.VIEWER),
        ("northwind", NORTHWIND_ADMIN_EMAIL, Role.ADMIN),
        ("northwind", DEMO_ADMIN_EMAIL, Role.VIEWER),
    }


def test_without_an_anchor_the_previous_one_is_kept() -> None:
    _seed()
    call_command("seed_demo", stdout=StringIO())
    assert demo_anchor_previous(tenant=Tenant.objects.get(slug="demo")) == dt.date(2026, 11, 15)
    assert _counts("demo")["deals"] == 5600


def test_the_oracle_columns_are_not_imported(demo_tenant: Tenant) -> None:
    with tenant_context(demo_tenant):
        extras = set(Deal.objects.exclude(extra={}).values_list("crm_id", flat=True))
    assert extras == set()


def test_demo_tenant_holds_the_generated_deals_with_their_stages_and_dates(
    demo_tenant: Tenant, demo_deals
) -> None:
    row = demo_deals.iloc[1234]
    with tenant_context(demo_tenant):
        deal = Deal.objects.select_related("rep").get(crm_id=row["deal_id"])
        moves = list(deal.stage_changes.values_list("to_stage", "changed_on"))
    assert deal.stage == row["deal_stage"]
    assert deal.created_date == row["created_date"].date()
    assert deal.rep.crm_id == row["sales_rep_id"]
    assert deal.rep.name == row["rep_name"]
    assert int(deal.amount) == row["deal_amount"]
    assert moves[0] == ("Qualified", deal.created_date)
    assert moves[-1] == (deal.stage, deal.stage_entered_date)


def test_another_anchor_replaces_the_demo_deals(demo_tenant: Tenant) -> None:
    result = demo_seed(tenant=demo_tenant, anchor=DEMO_ANCHOR + dt.timedelta(days=30))
    assert result.replaced
    assert result.import_run.created == 5600
    assert _counts("demo")["moves"] == result.stage_changes_created


def test_a_tenant_with_other_deals_is_not_overwritten(in_tenant_a: Tenant) -> None:
    Deal.objects.create(crm_id="X1", created_date=dt.date(2026, 1, 1), stage="Qualified", amount=1)
    with pytest.raises(DemoSeedError, match="did not create"):
        demo_seed(tenant=in_tenant_a, anchor=DEMO_ANCHOR)
