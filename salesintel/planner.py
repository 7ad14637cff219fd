"""A planner setting for the statements of one block, inside the caller's transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def planner_setting(cursor: Any, name: str, value: str) -> Iterator[None]:
    """``name`` (e.g. ``enable_nestloop``) set to ``value`` for the block, then back to what it was.

    ``set_config(…, true)`` lasts until the transaction ends at the latest, so a setting is never
    left behind for the connection's next transaction. When the block raises, the transaction is
    failing and takes the setting with it: nothing is restored then (a statement in a failed
    transaction would hide the error).
    """
    cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
    previous = cursor.fetchone()[0]
    yield
    cursor.execute("SELECT set_config(%s, %s, true)", [name, previous])
