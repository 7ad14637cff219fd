"""CSRF protection on every form and every HTMX or API write made with the browser's session."""

from __future__ import annotations

import re

from django.test import Client

from salesintel.paths import BASE_DIR
from tests.security.test_isolation_matrix import all_routes, api_path, route_path, schema_operations

# The digest's unsubscribe link is POSTed by mail clients (RFC 8058 one-click), so it carries
# no CSRF token: its signed token is the credential (see alerts/views.py).
CSRF_EXEMPT = {"alerts:unsubscribe"}
CSRF_EXEMPT_TEMPLATES = {"alerts/templates/alerts/unsubscribe.html"}


def test_every_web_route_refuses_a_post_without_a_csrf_token(world_a, world_b):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.user)
    accepted = []
    for route in all_routes():
        if route.name in CSRF_EXEMPT or (route.name or "").startswith("api:"):
            continue
        path = route_path(route, world_a, world_b)
        response = client.post(path, {"name": "x"})
        if response.status_code != 403:
            accepted.append(f"POST {path}: {response.status_code}")
    assert accepted == []


def test_every_api_write_with_the_session_and_no_csrf_token_is_refused(world_a, world_b):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.user)
    accepted = []
    for template, method in schema_operations():
        if method == "GET":
            continue
        path = api_path(template, world_a, world_b)
        response = client.generic(method, path, data=b"{}", content_type="application/json")
        if response.status_code != 403 or b"CSRF" not in response.content:
            accepted.append(f"{method} {path}: {response.status_code}")
    assert accepted == []


def test_every_post_form_in_the_templates_carries_a_csrf_token():
    missing = []
    for directory in [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]:
        for path in directory.rglob("*.html"):
            if str(path.relative_to(BASE_DIR)) in CSRF_EXEMPT_TEMPLATES:
                continue
            text = path.read_text()
            for match in re.finditer(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S | re.I):
                if "{% csrf_token %}" not in match.group(1):
                    missing.append(f"{path.relative_to(BASE_DIR)}: {match.group(0)[:80]}")
    assert missing == []


def test_htmx_requests_send_the_csrf_token_from_the_page_body(client: Client, user_a):
    client.force_login(user_a)
    page = client.get("/deals/").content.decode()
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", page)
    assert token is not None and len(token.group(1)) >= 32
