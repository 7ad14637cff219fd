"""Formula neutralising for CSV exports (imports keep the raw text)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from deals.csv_safety import csv_response_rows, neutralise_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", '=HYPERLINK("x")'])
def test_text_starting_like_a_formula_gets_a_leading_quote(text):
    assert neutralise_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["Acme", "", "1+1", " =1", "<script>"])
def test_other_text_is_unchanged(text):
    assert neutralise_cell(text) == text


@pytest.mark.parametrize("value", [-5, Decimal("-1.50"), 3.5, None, dt.date(2024, 1, 1)])
def test_numbers_dates_and_none_are_unchanged(value):
    assert neutralise_cell(value) == value


def test_csv_response_rows_neutralise_every_cell():
    rows = [["=cmd", -1, "ok"], ["@x", None, "+y"]]
    assert list(csv_response_rows(rows)) == [["'=cmd", -1, "ok"], ["'@x", None, "'+y"]]
