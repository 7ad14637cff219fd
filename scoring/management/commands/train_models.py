"""``python manage.py train_models --tenant SLUG [--json]``: train, backtest, promote or not, rescore."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scoring.services import model_train, training_summary
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Train the tenant's win model, backtest it against the base rate and segment priors on "
        "later deals, promote it only if it beats the base rate, and rescore every open deal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--no-rescore",
            action="store_true",
            help="Store the version but leave the current scores as they are.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        with tenant_context(tenant):
            version = model_train(rescore=not options["no_rescore"])
            summary = training_summary(version=version)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(f"{tenant.slug}: version {version.number} serves {version.serving_label}.")
        self.stdout.write(f"  {version.reason}")
        rows = [("model", summary["backtest"]), *summary["baselines"].items()]
        for name, metrics in rows:
            if metrics:
                self.stdout.write(
                    f"  {name:<14} AUC {_number(metrics['roc_auc'])}  Brier {_number(metrics['brier'])}  "
                    f"log loss {_number(metrics['log_loss'])}  n {metrics['n']}"
                )


def _number(value: float | None) -> str:
    return "  n/a " if value is None else f"{value:.4f}"
