"""Template helpers: icons, the sidebar, and number formats (percent, points, money, intervals).

Formats follow one rule: a missing value prints "—", never 0, so no one reads "no data" as
"zero".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from alerts.selectors import alert_counts
from web.icons import icon_svg
from web.navigation import NAV_ITEMS, is_active, role_at_least

register = template.Library()

DASH = "—"
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


@register.simple_tag
def icon(name: str, size: int = 18) -> SafeString:
    return mark_safe(icon_svg(name, size=size))  # noqa: S308 - markup comes from our constant table


@register.inclusion_tag("web/_sidebar_nav.html", takes_context=True)
def sidebar_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    membership = context.get("membership")
    role = getattr(membership, "role", None)
    url_name = getattr(getattr(request, "resolver_match", None), "url_name", None)
    groups: list[dict[str, Any]] = []
    for item in NAV_ITEMS:
        if not role_at_least(role, item.min_role):
            continue
        if not groups or groups[-1]["label"] != item.group:
            groups.append({"label": item.group, "items": []})
        groups[-1]["items"].append({"item": item, "active": is_active(item, url_name)})
    # One small aggregate per page for the badge; skipped when there is no tenant to count in.
    counts = alert_counts() if getattr(request, "tenant", None) is not None and role else {}
    return {"groups": groups, "nav_counts": {"alerts": counts.get("open", 0)}}


def _as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@register.filter
def pct(value: Any, digits: int = 1) -> str:
    """0.234 → "23.4%"."""
    number = _as_float(value)
    if number is None:
        return DASH
    return f"{number * 100:.{int(digits)}f}%"


@register.filter
def pts(value: Any, digits: int = 1) -> str:
    """A change in rate units as signed percentage points: 0.031 → "+3.1 pts"."""
    number = _as_float(value)
    if number is None:
        return DASH
    shown = round(number * 100, int(digits))
    sign = "+" if shown > 0 else "−" if shown < 0 else "±"
    return f"{sign}{abs(shown):.{int(digits)}f} pts"


@register.filter
def interval(bounds: Any, digits: int = 1) -> str:
    """(low, high) or an object/dict with ci_low/ci_high → "19.8–27.1%"."""
    low = high = None
    if isinstance(bounds, dict):
        low, high = bounds.get("ci_low"), bounds.get("ci_high")
    elif isinstance(bounds, (tuple, list)) and len(bounds) == 2:
        low, high = bounds
    else:
        low, high = getattr(bounds, "ci_low", None), getattr(bounds, "ci_high", None)
    low_f, high_f = _as_float(low), _as_float(high)
    if low_f is None or high_f is None:
        return DASH
    return f"{low_f * 100:.{int(digits)}f}–{high_f * 100:.{int(digits)}f}%"


def currency_symbol(currency: str | None) -> str:
    """ "$" for USD; the code itself (with a trailing space) where no symbol is known."""
    prefix, suffix = _symbol(currency)
    return prefix or f"{suffix.strip()} "


def _symbol(currency: str | None) -> tuple[str, str]:
    code = (currency or "USD").upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    return (symbol, "") if symbol else ("", f" {code}")


@register.filter
def money(value: Any, currency: str | None = "USD") -> str:
    """Compact money: 1234567 → "$1.23M", 118000 → "$118k", 48200 → "$48.2k", 9500 → "$9,500"."""
    number = _as_float(value)
    if number is None:
        return DASH
    prefix, suffix = _symbol(currency)
    magnitude = abs(number)
    sign = "−" if number < 0 else ""
    if magnitude >= 1e9:
        text = f"{magnitude / 1e9:.2f}B"
    elif magnitude >= 1e6:
        text = f"{magnitude / 1e6:.2f}M"
    elif magnitude >= 1e5:
        text = f"{magnitude / 1e3:.0f}k"
    elif magnitude >= 1e4:
        text = f"{magnitude / 1e3:.1f}k"
    else:
        text = f"{magnitude:,.0f}"
    return f"{sign}{prefix}{text}{suffix}"


@register.filter
def money_full(value: Any, currency: str | None = "USD") -> str:
    """Full money: 1234567.5 → "$1,234,568"."""
    number = _as_float(value)
    if number is None:
        return DASH
    prefix, suffix = _symbol(currency)
    sign = "−" if number < 0 else ""
    return f"{sign}{prefix}{abs(number):,.0f}{suffix}"


@register.filter
def days(value: Any) -> str:
    number = _as_float(value)
    if number is None:
        return DASH
    whole = round(number)
    return f"{whole} day" if whole == 1 else f"{whole} days"


@register.filter
def signed(value: Any, digits: int = 2) -> str:
    """A log-odds contribution: 0.41 → "+0.41", −0.6 → "−0.60"."""
    number = _as_float(value)
    if number is None:
        return DASH
    sign = "+" if number > 0 else "−" if number < 0 else "±"
    return f"{sign}{abs(number):.{int(digits)}f}"


@register.filter
def percent_width(value: Any, maximum: Any = 1) -> str:
    """A CSS width in percent for ``value`` out of ``maximum``, clamped to 0–100."""
    number, top = _as_float(value), _as_float(maximum)
    if number is None or not top:
        return "0%"
    return f"{max(0.0, min(100.0, number / top * 100)):.1f}%"


@register.filter
def abs_value(value: Any) -> Any:
    number = _as_float(value)
    return abs(number) if number is not None else value


@register.filter
def as_decimal(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template (None when missing)."""
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None


@register.filter
def pvalue(value: Any) -> str:
    """A p-value as people read it: "p < 0.001", "p = 0.012", "p = 0.25"."""
    number = _as_float(value)
    if number is None:
        return DASH
    if number < 0.001:
        return "p < 0.001"
    return f"p = {number:.3f}" if number < 0.01 else f"p = {number:.2f}"
