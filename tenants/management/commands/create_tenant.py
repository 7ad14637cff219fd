"""python manage.py create_tenant SLUG --name NAME [--admin-email E --password P]"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Role
from tenants.services import membership_grant, tenant_create, user_ensure


class Command(BaseCommand):
    help = "Create a tenant (or update its name and settings), optionally with an admin user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--fiscal-year-start-month", type=int, default=1)
        parser.add_argument("--admin-email")
        parser.add_argument("--password")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password"] and not options["admin_email"]:
            raise CommandError("--password needs --admin-email.")
        try:
            tenant = tenant_create(
                slug=options["slug"],
                name=options["name"],
                timezone=options["timezone"],
                currency=options["currency"],
                fiscal_year_start_month=options["fiscal_year_start_month"],
            )
        except Exception as error:  # validation errors carry the field and reason
            raise CommandError(str(error)) from error
        self.stdout.write(f"Tenant {tenant.slug} ({tenant.name}) ready, id {tenant.pk}.")
        if options["admin_email"]:
            user = user_ensure(email=options["admin_email"], password=options["password"], is_staff=True)
            membership_grant(tenant=tenant, user=user, role=Role.ADMIN)
            self.stdout.write(f"Admin {user.email} can sign in to {tenant.slug}.")
