"""salesintel.planner: a planner setting for one block of the caller's transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DataError

from salesintel.planner import planner_setting

pytestmark = pytest.mark.django_db


def _setting(cursor, name: str) -> str:
    cursor.execute("SELECT current_setting(%s)", [name])
    return cursor.fetchone()[0]


def test_the_setting_holds_inside_the_block_and_is_restored_after() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_sort', 'off', true)")  # the caller's own value
        with planner_setting(cursor, "enable_sort", "on"):
            assert _setting(cursor, "enable_sort") == "on"
        assert _setting(cursor, "enable_sort") == "off"


def test_an_error_inside_the_block_is_raised_as_it_is() -> None:
    with (
        pytest.raises(DataError),
        transaction.atomic(),
        connection.cursor() as cursor,
        planner_setting(cursor, "enable_nestloop", "off"),
    ):
        cursor.execute("SELECT 1 / 0")
