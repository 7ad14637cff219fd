"""python manage.py create_api_key --tenant SLUG --name NAME --scope read|write"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from api.models import ApiKeyScope
from api.services import api_key_create
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (once: only its hash is stored)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="What the key is for.")
        parser.add_argument("--scope", choices=list(ApiKeyScope.values), default=ApiKeyScope.READ)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with tenant_context(tenant):
            created = api_key_create(name=options["name"], scope=options["scope"])
        self.stderr.write(
            f"API key {created.api_key.name!r} ({created.api_key.scope}) for {tenant.slug}. "
            "It is shown only now; store it safely:"
        )
        self.stdout.write(created.plaintext)
