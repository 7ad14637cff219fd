"""CSV export of the risk board's filtered view (every page, not just the one on screen)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

from deals.csv_safety import neutralise_cell
from tenants.context import tenant_context
from web.decorators import tenant_required
from web.forms import RiskBoardFilterForm
from web.selectors import RiskBoardFilters, risk_board_export_rows

EXPORT_COLUMNS = [
    "deal_id",
    "name",
    "rep",
    "stage",
    "amount",
    "currency",
    "created_date",
    "age_days",
    "days_in_stage",
    "expected_close_date",
    "industry",
    "region",
    "product_type",
    "lead_source",
    "win_probability",
    "band",
    "model",
]


class _Echo:
    """A write-only file for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _export_lines(tenant_id: int, filters: RiskBoardFilters, today: dt.date) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    # The body streams after the view (and the middleware's tenant context) has returned, so the
    # generator opens its own tenant context for the rows it reads.
    with tenant_context(tenant_id):
        yield from _deal_lines(writer, filters, today)


def _deal_lines(writer: Any, filters: RiskBoardFilters, today: dt.date) -> Iterator[str]:
    for row in risk_board_export_rows(filters=filters, today=today):
        deal = row.deal
        cells = [
            deal.crm_id,
            deal.name,
            str(deal.rep) if deal.rep else "",
            deal.stage,
            f"{deal.amount:.2f}",
            deal.currency,
            deal.created_date.isoformat(),
            row.age_days,
            "" if row.stage_days is None else row.stage_days,
            deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            deal.industry,
            deal.region,
            deal.product_type,
            deal.lead_source,
            "" if row.probability is None else f"{row.probability:.4f}",
            row.band or "",
            row.model_label or "",
        ]
        # CRM text can start with "=", "+", "-" or "@"; spreadsheets would run it as a formula.
        yield writer.writerow([neutralise_cell(cell) if isinstance(cell, str) else cell for cell in cells])


@tenant_required
def risk_board_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered board (every page) as CSV, streamed; formula-injection safe."""
    filters = RiskBoardFilterForm(request.GET).filters()
    today = request.tenant.today()  # type: ignore[attr-defined]
    lines = _export_lines(request.tenant.pk, filters, today)  # type: ignore[attr-defined]
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"risk-board-{request.tenant.slug}-{today.isoformat()}.csv"  # type: ignore[attr-defined]
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
