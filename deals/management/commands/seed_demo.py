"""python manage.py seed_demo [--password P] [--anchor YYYY-MM-DD]"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deals.demo_seed import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, DemoSeedError, DemoSeedResult, demo_setup


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise ArgumentTypeError(f"{value!r} is not a date like 2026-11-15") from error


class Command(BaseCommand):
    help = (
        "Create or refresh the demo tenants (demo, northwind), their users and their generated "
        "deals. Idempotent: running it again keeps the data and resets the demo password."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="Password of every demo user.")
        parser.add_argument(
            "--anchor",
            type=_date,
            help=(
                "The demo's 'today': closed deals end there, open deals are aged to it. Defaults to "
                "the anchor of the previous seed, else today. A different anchor replaces the "
                "demo tenants' deals."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            result = demo_setup(password=options["password"], anchor=options["anchor"])
        except DemoSeedError as error:
            raise CommandError(str(error)) from error
        for seeded in (result.demo, result.northwind):
            self.stdout.write(self._summary(seeded))
        seconds = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo ready in {seconds:.1f} s. Open {settings.SITE_URL.rstrip('/')}/ and sign in as\n"
                f"    email:    {DEMO_ADMIN_EMAIL}\n"
                f"    password: {result.password}\n"
            )
        )

    @staticmethod
    def _summary(seeded: DemoSeedResult) -> str:
        run = seeded.import_run
        action = "replaced" if seeded.replaced else "loaded"
        return (
            f"{seeded.tenant.name} ({seeded.tenant.slug}): {len(seeded.deals):,} deals {action} "
            f"as of {seeded.anchor.isoformat()} — created {run.created:,}, updated {run.updated:,}, "
            f"unchanged {run.unchanged:,}; stage moves added {seeded.stage_changes_created:,}."
        )
