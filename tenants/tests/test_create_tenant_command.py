import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tenants.models import Tenant
from tenants.resolvers import memberships_of


def test_create_tenant_makes_the_tenant_and_its_admin(db, capsys):
    call_command(
        "create_tenant",
        "initech",
        "--name",
        "Initech",
        "--admin-email",
        "bill@initech.test",
        "--password",
        "tps-report-42",
    )
    tenant = Tenant.objects.get(slug="initech")
    user = get_user_model().objects.get(username="bill@initech.test")
    assert tenant.name == "Initech"
    assert user.check_password("tps-report-42")
    assert [(m.tenant_id, m.role) for m in memberships_of(user.pk)] == [(tenant.pk, "admin")]
    assert "initech" in capsys.readouterr().out


def test_running_create_tenant_twice_updates_instead_of_duplicating(db):
    call_command("create_tenant", "initech", "--name", "Initech")
    call_command("create_tenant", "initech", "--name", "Initech Inc")
    assert list(Tenant.objects.values_list("name", flat=True)) == ["Initech Inc"]


def test_an_unknown_timezone_is_refused_with_a_clear_error(db):
    with pytest.raises(CommandError, match="time zone"):
        call_command("create_tenant", "initech", "--name", "Initech", "--timezone", "Mars/Olympus")
    assert not Tenant.objects.filter(slug="initech").exists()
