"""``python manage.py score_deals --tenant SLUG [--output FILE.csv]``: score every open deal now.

The CSV is for pushing scores back into a CRM: ``deal_id`` is the CRM's id. Cells that a
spreadsheet would evaluate (``=``, ``+``, ``-``, ``@`` …) are neutralised (deals.csv_safety).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from deals.csv_safety import csv_response_rows
from scoring.services import ScoringBatch, deal_scores_refresh_chunked
from tenants.context import tenant_context
from tenants.models import Tenant

CSV_COLUMNS = (
    "deal_id",
    "win_probability",
    "band",
    "model_version",
    "model",
    "top_positive_drivers",
    "top_negative_drivers",
)


def scores_csv_rows(batch: ScoringBatch) -> list[list[Any]]:
    """One row per scored deal in CSV_COLUMNS order (not yet neutralised)."""
    if batch.version is None or batch.drivers is None:
        return []
    positive, negative = batch.drivers.text_halves()
    frame = batch.frame
    return [
        [crm_id, f"{probability:.4f}", band, batch.version.number, batch.version.serving, up, down]
        for crm_id, probability, band, up, down in zip(
            frame["crm_id"], frame["probability"], frame["band"], positive, negative, strict=True
        )
    ]


class Command(BaseCommand):
    help = "Score every open deal of a tenant with its serving model; optionally write the scores as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--output", help="CSV file to write ('-' for standard output).")
        parser.add_argument("--as-of", help="Count ages and times in stage to this date (YYYY-MM-DD).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        as_of = dt.date.fromisoformat(options["as_of"]) if options["as_of"] else None
        with tenant_context(tenant):
            batch = deal_scores_refresh_chunked(trigger="command", as_of=as_of)
        if batch.version is None or batch.drivers is None:
            reason = batch.version.reason if batch.version else "no model version yet: run train_models first"
            raise CommandError(f"{tenant.slug}: no scores ({reason}).")
        output = options["output"]
        if output:
            rows = csv_response_rows([list(CSV_COLUMNS), *scores_csv_rows(batch)])
            if output == "-":
                csv.writer(sys.stdout).writerows(rows)
                return
            with Path(output).open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(rows)
        self.stderr.write(
            f"{tenant.slug}: scored {batch.scored} open deals with version {batch.version.number} "
            f"({batch.version.serving_label})" + (f"; wrote {output}" if output and output != "-" else ".")
        )
