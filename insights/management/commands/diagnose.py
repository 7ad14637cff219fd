"""python manage.py diagnose --tenant SLUG [--as-of DATE] [--period quarter] [--compare previous] [--json]"""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from insights.periods import Compare, PeriodKind
from insights.services import diagnose
from tenants.models import Tenant


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date like 2024-07-01, not {value!r}.") from error


class Command(BaseCommand):
    help = "Diagnose a tenant's win rate: the change, whether it is noise, mix vs rate, and where."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--as-of", type=_date, help="First day not yet known (default: today).")
        parser.add_argument("--period", choices=[kind.value for kind in PeriodKind], default="quarter")
        parser.add_argument("--compare", choices=[item.value for item in Compare], default="previous")
        parser.add_argument(
            "--to-date", action="store_true", help="Compare the period to date, not the last complete one."
        )
        parser.add_argument(
            "--min-sample", type=int, help="Minimum closed deals per segment (default: setting)."
        )
        parser.add_argument("--json", action="store_true", help="Print the whole document as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        document = diagnose(
            tenant=tenant,
            as_of=options["as_of"],
            period=options["period"],
            compare=options["compare"],
            to_date=options["to_date"],
            min_sample=options["min_sample"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        period = document["period"]
        self.stdout.write(
            f"{tenant.name}: {period['current']['label']} vs {period['baseline']['label']} "
            f"(as of {document['as_of']}, segments need {document['min_sample']} closed deals)"
        )
        for line in document["summary"]:
            self.stdout.write(f"  • {line}")
