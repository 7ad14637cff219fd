"""Insights engine: why win rate moved (mix vs rate), segment and rep metrics, pipeline value.

``insights.diagnose`` is the entry point (insights.services.diagnose); docs/insights.md
documents the document it returns and the statistics behind it.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Imported lazily: the app package is loaded before Django's model registry is ready.
    if name == "diagnose":
        from insights.services import diagnose

        return diagnose
    raise AttributeError(name)
