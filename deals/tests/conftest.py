"""Helpers for the import tests: CSV text in, ImportRun out, as the active tenant."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deals.models import ImportRun
from deals.services import deals_import_file

DATA = Path(__file__).resolve().parent / "data"
STANDARD_HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome"
)

ImportText = Callable[..., ImportRun]


@pytest.fixture
def import_text(in_tenant_a: Any) -> ImportText:
    """Import CSV text (or bytes) into tenant A: ``import_text(text, mapping=…, encoding=…)``."""

    def run(content: str | bytes, **options: Any) -> ImportRun:
        data = content.encode("utf-8") if isinstance(content, str) else content
        options.setdefault("file_name", "test.csv")
        return deals_import_file(file=io.BytesIO(data), **options)

    return run


def standard_csv(*rows: str, header: str = STANDARD_HEADER) -> str:
    """A standard-preset CSV with ``rows`` (each a comma-joined line)."""
    return "\n".join([header, *rows]) + "\n"


def won_row(deal_id: str = "D1", **changes: str) -> str:
    """A valid closed-won row in the standard schema, with some cells replaced."""
    cells = {
        "deal_id": deal_id,
        "created_date": "2024-01-10",
        "closed_date": "2024-02-20",
        "sales_rep_id": "rep_1",
        "industry": "SaaS",
        "region": "Europe",
        "product_type": "Core",
        "lead_source": "Inbound",
        "deal_stage": "Negotiation",
        "deal_amount": "12000",
        "sales_cycle_days": "41",
        "outcome": "Won",
    }
    cells.update(changes)
    return ",".join(cells[name] for name in STANDARD_HEADER.split(","))
