"""The sidebar: which pages exist, in what order, and which URL names light each entry up."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    icon: str
    # URL names (exact) or prefixes ending in "_" that mark this entry as the current page.
    active_for: tuple[str, ...]
    min_role: str = Role.VIEWER
    group: str = ""


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Diagnosis", "home", "pulse", ("home",), group="Insights"),
    NavItem("Briefing", "briefing", "briefcase", ("briefing",), group="Insights"),
    NavItem("Segments", "segments", "grid", ("segments",), group="Insights"),
    NavItem("Reps", "reps", "users", ("reps", "rep_detail"), group="Insights"),
    NavItem("Risk board", "risk_board", "target", ("risk_board", "deal_"), group="Pipeline"),
    NavItem("Alerts", "alerts", "bell", ("alerts", "alert_"), group="Pipeline"),
    NavItem("Model", "model", "cpu", ("model",), group="Pipeline"),
    NavItem("Admin", "settings_home", "settings", ("settings_",), min_role=Role.ADMIN, group="Manage"),
)

ROLE_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def role_at_least(role: str | None, minimum: str) -> bool:
    """Whether ``role`` (a Role value, or None for no membership) is ``minimum`` or above."""
    if role is None:
        return False
    return ROLE_RANK.get(Role(role), -1) >= ROLE_RANK[Role(minimum)]


def is_active(item: NavItem, url_name: str | None) -> bool:
    if not url_name:
        return False
    return any(
        url_name.startswith(marker) if marker.endswith("_") else url_name == marker
        for marker in item.active_for
    )
