"""``python manage.py replay_scores --tenant SLUG --days 180 [--every-days 7]``: replay past scores.

Trains a model version on the deals closed before the start day only (never served) and stores
the scores it would have given the deals open on every ``--every-days``-th day since, so that
the score audit ("were the scores right?") can be shown on a demo tenant. scoring.services.
scores_replay says what is and is not touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.services import REPLAY_DAYS, REPLAY_EVERY_DAYS, scores_replay
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Replay the scores a model trained N days ago would have given since (for a demo's score audit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument(
            "--days", type=int, default=REPLAY_DAYS, help="Train on deals closed before this many days ago."
        )
        parser.add_argument(
            "--every-days",
            type=int,
            default=REPLAY_EVERY_DAYS,
            help="Score the deals then open every N days.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        if options["days"] < 1 or options["every_days"] < 1:
            raise CommandError("--days and --every-days must be at least 1.")
        until = tenant.today()
        start = until - dt.timedelta(days=options["days"])
        with tenant_context(tenant):
            replay = scores_replay(trained_before=start, until=until, every_days=options["every_days"])
        version = replay.version
        self.stdout.write(
            f"{tenant.slug}: {version.label} trained on deals closed before {start} serves "
            f"{version.serving_label} ({version.reason}); {replay.written} scores replayed over "
            f"{len(replay.days)} days from {start} to {until}."
        )
