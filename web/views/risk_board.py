"""The risk board: open deals with their scores, filtered, sorted, paged and exported."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

from web.decorators import tenant_required
from web.forms import RiskBoardFilterForm
from web.rendering import render_page
from web.selectors import (
    BANDS,
    open_deal_filter_options,
    risk_board_page,
)


@dataclass(frozen=True)
class SortHeader:
    """A sortable column header: the sort its link applies and its current aria-sort state."""

    label: str
    link_sort: str
    aria_sort: str | None
    numeric: bool = False


# Column → (ascending key, descending key, the direction a first click sorts).
SORTABLE = {
    "risk": ("risk", "-risk", "risk"),
    "name": ("name", "-name", "name"),
    "amount": ("amount", "-amount", "-amount"),
    "stage": ("stage", "-stage", "stage"),
    "age": ("-age", "age", "age"),
    "stage_time": ("-stage_time", "stage_time", "stage_time"),
    "close": ("close", "-close", "close"),
}


def sort_header(label: str, column: str, current: str, *, numeric: bool = False) -> SortHeader:
    ascending, descending, first = SORTABLE[column]
    if current == ascending:
        return SortHeader(label, descending, "ascending", numeric)
    if current == descending:
        return SortHeader(label, ascending, "descending", numeric)
    return SortHeader(label, first, None, numeric)


@tenant_required
def risk_board(request: HttpRequest) -> HttpResponse:
    filters = RiskBoardFilterForm(request.GET).filters()
    board = risk_board_page(filters=filters, today=request.tenant.today())  # type: ignore[attr-defined]
    current = board.filters.sort
    headers = {
        "risk": sort_header("Win prob.", "risk", current, numeric=True),
        "name": sort_header("Deal", "name", current),
        "amount": sort_header("Amount", "amount", current, numeric=True),
        "stage": sort_header("Stage", "stage", current),
        "age": sort_header("Age", "age", current, numeric=True),
        "stage_time": sort_header("In stage", "stage_time", current, numeric=True),
    }
    context = {
        "board": board,
        "filters": board.filters,
        "options": open_deal_filter_options(),
        "bands": BANDS,
        "headers": headers,
        # Only a sort the user chose goes back into the URL; the default depends on the data.
        "explicit_sort": filters.sort,
    }
    return render_page(request, "web/risk_board.html", context, fragment="board-response")
