"""Run a tenant's daily alert checks now: ``manage.py run_checks --tenant SLUG [--as-of DATE] [--json]``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts import rules, schedule
from alerts.services import alert_checks_run
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Run the daily alert checks (stall, cycle breach, score drop, slip) for one tenant now, "
        "or the monthly segment check with --monthly. Prints open deals checked and alerts "
        "created / suppressed / resolved per rule."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            help="Check as of this date (default: today in the tenant's zone).",
        )
        parser.add_argument(
            "--monthly", action="store_true", help="Run the monthly segment-deterioration check."
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        as_of = (
            options["as_of"]
            or schedule.local_now(now_utc=dt.datetime.now(dt.UTC), timezone_name=tenant.timezone).date()
        )
        kinds = rules.MONTHLY_RULES if options["monthly"] else rules.DAILY_RULES
        with tenant_context(tenant):
            report = alert_checks_run(as_of=as_of, kinds=kinds)
        data = report.as_dict()
        data["tenant"] = tenant.slug
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(
            f"{tenant.slug} as of {as_of}: {report.open_deals} open deals checked, "
            f"{report.deals_alerted} flagged ({report.share_alerted:.1%})."
        )
        for outcome in report.rules:
            if not outcome.evaluated:
                self.stdout.write(f"  {outcome.kind:<22} skipped: {outcome.note}")
                continue
            line = (
                f"  {outcome.kind:<22} created {outcome.created}, suppressed {outcome.suppressed}, "
                f"still open {outcome.still_open}, resolved {outcome.resolved}"
            )
            self.stdout.write(line + (f" ({outcome.note})" if outcome.note else ""))
