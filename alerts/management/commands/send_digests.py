"""Render and send email digests now: ``manage.py send_digests [--tenant SLUG] [--dry-run]``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts import schedule
from alerts.digest import digests_send_due
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Send every member their digest for today's period (daily and weekly subscribers; a "
        "weekly digest already sent this week is not sent again). --dry-run renders without sending."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's slug (default: every tenant).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Render every digest; send and record nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        for tenant in tenants:
            today = schedule.local_now(now_utc=dt.datetime.now(dt.UTC), timezone_name=tenant.timezone).date()
            # Run by hand, today counts as the weekly digest day.
            summary = digests_send_due(
                tenant=tenant, on=today, dry_run=options["dry_run"], weekday=today.weekday()
            )
            verb = "would send" if summary.dry_run else "sent"
            count = len(summary.recipients) if summary.dry_run else summary.sent
            self.stdout.write(
                f"{tenant.slug}: {verb} {count} digest(s)"
                + (f", {summary.skipped} already sent this period" if summary.skipped else "")
                + (f" to {', '.join(summary.recipients)}" if summary.recipients else "")
            )
