"""python manage.py import_deals --tenant SLUG FILE.csv [--mapping NAME | --mapping-file FILE.json]
[--encoding latin-1] [--json]

Imports a CRM export into a tenant, all or nothing. Prints a summary (or, with --json, the
ImportRun summary: import_run_id, status, rows_read, created, updated, unchanged, rejected,
errors [{row, column, reason}], duration_ms). Exits non-zero when the file is rejected.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from deals.mapping import DEFAULT_MAPPING, MappingError, MappingSpec, mapping_load_file, mapping_resolve
from deals.models import ImportStatus
from deals.selectors import import_run_summary
from deals.services import ENCODINGS, deals_import_file, import_errors_as_text
from tenants.context import tenant_context
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Import deals from a CRM export (CSV) into a tenant; the whole file or nothing."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="The CSV file to import.")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        mapping = parser.add_mutually_exclusive_group()
        mapping.add_argument(
            "--mapping",
            default=DEFAULT_MAPPING,
            help="A preset (standard, salesforce, hubspot) or the tenant's own mapping name.",
        )
        mapping.add_argument("--mapping-file", help="A mapping file (JSON; see docs/import.md).")
        parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8")
        parser.add_argument("--json", action="store_true", help="Print the import summary as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['tenant']!r}.")
        # The ImportRun must be committed before a rejected file makes the command fail.
        with tenant_context(tenant):
            spec = self._mapping(options)
            run = deals_import_file(file=path, mapping=spec, source="cli", encoding=options["encoding"])
            summary = import_run_summary(import_run=run)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            self._print(summary, tenant)
        if run.status != ImportStatus.SUCCEEDED:
            raise CommandError(
                f"Import rejected: {len(summary['errors'])} error(s) shown; nothing was changed."
            )

    def _mapping(self, options: dict[str, Any]) -> MappingSpec:
        try:
            if options["mapping_file"]:
                return mapping_load_file(options["mapping_file"])
            return mapping_resolve(options["mapping"])
        except MappingError as error:
            raise CommandError(f"Invalid mapping: {error}") from error

    def _print(self, summary: dict[str, Any], tenant: Tenant) -> None:
        if summary["status"] == ImportStatus.SUCCEEDED:
            self.stdout.write(
                f"Imported {summary['file_name']} into {tenant.slug} (mapping {summary['mapping']}): "
                f"{summary['rows_read']:,} rows read, {summary['created']:,} created, "
                f"{summary['updated']:,} updated, {summary['unchanged']:,} unchanged "
                f"in {summary['duration_ms']:,} ms."
            )
            return
        self.stdout.write(
            f"Rejected {summary['file_name']}: {summary['rejected']:,} invalid row(s) of "
            f"{summary['rows_read']:,}; nothing was changed."
        )
        for line in import_errors_as_text(summary["errors"]):
            self.stdout.write(f"  {line}")
