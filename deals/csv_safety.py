"""Formula-injection safety for CSV exports.

Imports keep CRM text exactly as it came (stripped of surrounding space): a deal called
``=HYPERLINK(…)`` is stored as that text and shown as text (templates escape HTML). Only when
text leaves us as CSV, where a spreadsheet would evaluate it, is it neutralised: a cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` (the
OWASP recommendation), which spreadsheets show as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` safe to put in an exported CSV cell.

    Text starting with a formula prefix gets a leading ``'``; anything else (numbers, dates,
    None, other text) is returned unchanged, so numeric columns stay numeric.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_response_rows(rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    """Each row with every cell passed through :func:`neutralise_cell` (for csv.writer)."""
    for row in rows:
        yield [neutralise_cell(cell) for cell in row]
