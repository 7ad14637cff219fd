"""python manage.py briefing --tenant SLUG [--as-of DATE] [--quota AMOUNT] [--backtest] [--json]"""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from insights.briefing import briefing, forecast_backtest
from tenants.models import Tenant


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date like 2024-07-01, not {value!r}.") from error


def _amount(value: str) -> float:
    try:
        amount = float(value)
    except ValueError as error:
        raise CommandError(f"--quota must be an amount like 1500000, not {value!r}.") from error
    if amount <= 0:
        raise CommandError("--quota must be positive.")
    return amount


class Command(BaseCommand):
    help = (
        "The CRO briefing: win-rate headline, quarter forecast with an 80% interval, risk deals, "
        "focus list, velocity, concentration, seasonality and alerts."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--as-of", type=_date, help="First day not yet known (default: today).")
        parser.add_argument(
            "--quota",
            type=_amount,
            help="This quarter's bookings quota (currency units); default: the tenant's quota from Settings.",
        )
        parser.add_argument(
            "--min-sample", type=int, help="Minimum closed deals per segment (default: setting)."
        )
        parser.add_argument(
            "--backtest",
            action="store_true",
            help="Also replay the forecast at past dates and report its coverage (slower).",
        )
        parser.add_argument("--json", action="store_true", help="Print the whole document as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        document = briefing(
            tenant=tenant, as_of=options["as_of"], quota=options["quota"], min_sample=options["min_sample"]
        )
        if options["backtest"]:
            document["forecast_backtest"] = forecast_backtest(tenant=tenant, as_of=options["as_of"])
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{tenant.name}: CRO briefing as of {document['as_of']}")
        for line in document["summary"]:
            self.stdout.write(f"  • {line}")
        if options["backtest"]:
            self.stdout.write(f"  • Forecast backtest: {document['forecast_backtest']['summary']}")
