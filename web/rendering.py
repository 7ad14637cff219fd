"""Rendering a page or, for an HTMX request, only the fragment it swaps in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request: HttpRequest) -> bool:
    """True for an HTMX swap; False for a normal load and for htmx's history-restore request.

    On a history cache miss htmx asks for the URL again and replaces the whole body, so it must
    get the full page.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    fragment: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``template_name``; for an HTMX swap render only its ``fragment`` partial.

    The response varies on ``HX-Request`` so a browser or proxy never serves the fragment as
    the page (or the reverse) from its cache.
    """
    name = f"{template_name}#{fragment}" if fragment and wants_fragment(request) else template_name
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response
