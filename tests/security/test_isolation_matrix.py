"""Tenant isolation matrix: every URL and API operation, requested by every kind of outsider.

Routes are enumerated from the URL resolver (every web page, the Django admin, the API) and API
operations from the OpenAPI schema, so a new route is covered the day it is added — and a route
with a path parameter this file cannot fill makes the test fail until PK_TARGETS (or another
factory below) says which of tenant A's objects fills it.

Each route is requested with tenant A's object ids by (a) an anonymous visitor, (b) a signed-in
admin of tenant B (staff, as ``create_tenant`` makes tenant admins), (b') a Django-admin operator
of tenant B holding every permission on tenant-owned models, and (c) tenant B's write API key.
No response may contain a value of tenant A (every text of A carries the marker ``zqxa``; A's
name and users contain ``acme``); a route naming an object of A must answer 3xx/4xx; no
request may fail with 5xx; and tenant A's rows are byte-for-byte the same afterwards.

Also here: CSV exports (a route), digests and webhooks rendered for B, and Celery task results.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.generators import SchemaGenerator

from alerts.digest import digest_content_build, digest_render, unsubscribe_token
from alerts.models import Alert, Severity, WebhookEndpoint
from alerts.webhooks import alerts_deliver
from tenants.context import tenant_context
from tenants.rls import tenant_owned_models
from tests.security.conftest import A_MARKER
from tests.security.tenant_world import TenantWorld

# Case-insensitive strings of tenant A that must never reach anyone else.
A_VALUES = (A_MARKER, "acme")
# Statuses a route naming one of A's objects may answer to an outsider.
REFUSALS = {301, 302, 400, 401, 403, 404, 405}

# Path parameter ``pk`` of each route that has one: the model whose tenant-A row fills it.
PK_TARGETS: dict[str, str] = {
    "rep_detail": "deals.rep",
    "deal_detail": "deals.deal",
    "alert_act": "alerts.alert",
    "settings_mapping_delete": "deals.fieldmapping",
    "settings_api_key_revoke": "api.apikey",
    "settings_alert_rule_save": "alerts.alertrule",
    "settings_member_role": "tenants.membership",
    "settings_member_remove": "tenants.membership",
    "api:deal-detail": "deals.deal",
    "api:deal-score": "deals.deal",
    "api:deal-scores": "deals.deal",
    "api:import-detail": "api.importjob",
    "api:alert-detail": "alerts.alert",
    "api:alert-acknowledge": "alerts.alert",
    "api:alert-snooze": "alerts.alert",
    "api:alert-resolve": "alerts.alert",
}
# Routes written as regular expressions, with a concrete path to request for each.
REGEX_ROUTES: dict[str, str] = {
    "admin:app_list": "/admin/deals/",
    "admin/(?P<url>.*)$": "/admin/nothing-here/",
    "api:not-found": "/api/v1/nothing-here",
}
# Routes that answer 200 to anyone whatever the parameters, showing nothing of the object: an
# invalid password-reset link shows the same "invalid link" page for every user.
SAME_PAGE_FOR_EVERY_PARAMETER = {"password_reset_confirm"}
_ADMIN_OBJECT = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/<(?:path:)?(?:object_id|id)>/")


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str | None
    params: tuple[str, ...]
    regex: bool


def all_routes() -> list[Route]:
    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                pattern = prefix + str(entry.pattern)
                regex = not hasattr(entry.pattern, "converters") or "(?P" in pattern or "^" in pattern
                yield Route(pattern, name, tuple(sorted(entry.pattern.regex.groupindex)), regex)

    return list(walk(get_resolver().url_patterns, "", None))


class MissingFactory(LookupError):
    pass


def route_path(route: Route, world_a: TenantWorld, world_b: TenantWorld) -> str:
    """The route's path with every parameter filled from tenant A's objects (MissingFactory if it can't)."""
    if route.regex:
        key = route.name or route.pattern
        if key not in REGEX_ROUTES:
            raise MissingFactory(f"regex route {key!r}: add a concrete path to REGEX_ROUTES")
        return REGEX_ROUTES[key]
    values = {param: param_value(route, param, world_a, world_b) for param in route.params}
    path = "/" + route.pattern
    for param, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{param}>", str(value), path)
    return path


def param_value(route: Route, param: str, world_a: TenantWorld, world_b: TenantWorld) -> Any:
    if param == "pk" and route.name in PK_TARGETS:
        return world_a.first(PK_TARGETS[route.name]).pk
    if param == "prefix" and route.name == "api:api-key-detail":
        return world_a.first("api.apikey").key_prefix
    if param == "upload_id":
        return A_UPLOAD_ID
    if param == "feature" and route.name in {"settings_next_action_save", "settings_next_action_reset"}:
        # A driver's name, not an object: the route acts on the caller's own tenant's rule for it.
        return world_a.first("scoring.nextactionrule").feature
    if param == "token" and route.name == "alerts:unsubscribe":
        # Signed for tenant A but naming B's user: B must not reach A through it. (A genuine link
        # of A's user is a capability by design: it only switches that user's digest.)
        return unsubscribe_token(tenant_id=world_a.tenant.pk, user_id=world_b.user.pk)
    if route.name == "password_reset_confirm":
        if param == "uidb64":
            return urlsafe_base64_encode(force_bytes(world_a.user.pk))
        return "zz-" + default_token_generator.make_token(world_b.user)  # a token for someone else
    if route.name == "admin:view_on_site":
        deal = world_a.first("deals.deal")
        return ContentType.objects.get_for_model(deal).pk if param == "content_type_id" else deal.pk
    admin_object = _ADMIN_OBJECT.match(route.pattern)
    if admin_object and param in {"object_id", "id"}:
        label = f"{admin_object['app']}.{admin_object['model']}"
        if label == "auth.user":
            return world_a.user.pk
        if label == "tenants.tenant":
            return world_a.tenant.pk
        if label == "auth.group":
            return GROUP_ID
        if label in world_a.rows:
            return world_a.first(label).pk
    raise MissingFactory(f"route {route.name or route.pattern!r}: no factory for parameter {param!r}")


A_UPLOAD_ID = "0f" * 16  # an upload id only tenant A's admin could hold in their session
GROUP_ID = 999_999  # groups are global and empty here; any id must still be refused


def leaks(response: Any) -> list[str]:
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    text = (body.decode("utf-8", errors="replace") + " " + response.get("Location", "")).lower()
    return [value for value in A_VALUES if value in text]


def snapshot(world: TenantWorld) -> dict[str, list[tuple[Any, ...]]]:
    """Every tenant-owned row of ``world``'s tenant, as comparable tuples."""
    with tenant_context(world.tenant):
        return {
            model._meta.label_lower: sorted(
                (repr(row) for row in model.objects.values_list()),
            )
            for model in tenant_owned_models()
        }


def schema_operations() -> list[tuple[str, str]]:
    """(path template, METHOD) of every operation in the OpenAPI schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method.upper())
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def api_path(template: str, world_a: TenantWorld, world_b: TenantWorld) -> str:
    """Fill an OpenAPI path template with A's objects, using the route it resolves to.

    The schema may name a parameter differently from the route (``{id}`` for ``<int:pk>``);
    they correspond by position.
    """
    match = resolve(re.sub(r"\{\w+\}", "1", template))
    route_params = re.findall(r"<(?:\w+:)?(\w+)>", match.route)
    route = Route(match.route, match.view_name, tuple(route_params), regex=False)
    values = iter(param_value(route, param, world_a, world_b) for param in route_params)
    return re.sub(r"\{\w+\}", lambda _: str(next(values)), template)


@pytest.fixture
def worlds(world_a: TenantWorld, world_b: TenantWorld) -> tuple[TenantWorld, TenantWorld]:
    return world_a, world_b


@pytest.fixture
def callers(worlds: tuple[TenantWorld, TenantWorld]) -> dict[str, Client]:
    _world_a, world_b = worlds
    b_user = world_b.user
    b_user.is_staff = True  # as create_tenant makes every tenant admin
    b_user.save()
    member = Client()
    member.force_login(b_user)
    operator = _operator_of(world_b)
    return {
        "anonymous": Client(),
        "tenant B admin": member,
        "tenant B admin-site operator": operator,
        "tenant B API key": Client(HTTP_AUTHORIZATION=f"Bearer {world_b.api_key_plaintext}"),
    }


def _operator_of(world_b: TenantWorld) -> Client:
    from tenants.services import membership_grant, user_ensure

    operator = user_ensure(email="operator@globex.test", password=None, is_staff=True)
    membership_grant(tenant=world_b.tenant, user=operator, role="admin")
    content_types = [ContentType.objects.get_for_model(model) for model in tenant_owned_models()]
    operator.user_permissions.set(Permission.objects.filter(content_type__in=content_types))
    client = Client()
    client.force_login(operator)
    return client


def _request(client: Client, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, data=b"{}", content_type="application/json")


def _same_page(route: Route) -> bool:
    return route.name in SAME_PAGE_FOR_EVERY_PARAMETER


def test_every_route_with_a_path_parameter_has_a_factory(worlds):
    world_a, world_b = worlds
    missing = []
    for route in all_routes():
        try:
            route_path(route, world_a, world_b)
        except MissingFactory as problem:
            missing.append(str(problem))
    assert missing == []


def test_every_api_operation_in_the_schema_is_a_route(worlds):
    world_a, world_b = worlds
    operations = schema_operations()
    assert len(operations) >= 15
    for template, _ in operations:
        assert resolve(api_path(template, world_a, world_b)).view_name.startswith("api:")


def test_no_outsider_sees_or_changes_tenant_as_data_through_any_route(worlds, callers):
    world_a, world_b = worlds
    before = snapshot(world_a)
    requests = [
        (route_path(route, world_a, world_b), method, bool(route.params) and not _same_page(route))
        for route in all_routes()
        for method in ("GET", "POST")
    ]
    requests += [
        (api_path(template, world_a, world_b), method, "{" in template)
        for template, method in schema_operations()
    ]
    findings = []
    for caller, client in callers.items():
        for path, method, names_a_object in requests:
            response = _request(client, method, path)
            if found := leaks(response):
                findings.append(f"{caller} {method} {path}: {response.status_code}, body shows {found}")
            if response.status_code >= 500:
                findings.append(f"{caller} {method} {path}: server error {response.status_code}")
            if names_a_object and response.status_code not in REFUSALS:
                findings.append(f"{caller} {method} {path}: {response.status_code} for an object of A")
    assert findings == [], "\n".join(findings)
    assert snapshot(world_a) == before


def test_tenant_bs_pages_and_api_lists_show_b_data_but_never_as(worlds, callers):
    # The positive control: the same requests do show B's own rows, so "no marker" means "scoped".
    _world_a, world_b = worlds
    member, key = callers["tenant B admin"], callers["tenant B API key"]
    for client, path in [
        (member, "/deals/"),
        (member, "/alerts/"),
        (member, "/settings/api-keys/"),
        (member, "/settings/mappings/"),
        (member, "/settings/next-actions/"),
        (member, "/deals/export.csv"),
        (key, "/api/v1/deals"),
        (key, "/api/v1/alerts"),
    ]:
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, path
        assert world_b.marker.encode() in body.lower(), path
        assert leaks(response) == [], path


def test_a_celery_result_of_tenant_a_is_not_shown_to_b_even_with_its_task_id(worlds, callers):
    from salesintel.celery import app as celery_app

    world_a, world_b = worlds
    task_id = "zqxa-task-0001"
    summary = {"tenant_id": world_a.tenant.pk, "status": "succeeded", "errors": [], "file_name": "zqxa.csv"}
    celery_app.backend.store_result(task_id, summary, "SUCCESS")
    member = callers["tenant B admin"]
    session = member.session
    session["web_imports"] = {
        "b-upload": {
            "tenant_id": world_b.tenant.pk,
            "path": "/nonexistent",
            "file_name": "b.csv",
            "size": 1,
            "encoding": "utf-8",
            "base": "standard",
            "spec": {},
            "mapping_name": "",
            "jobs": {"import": task_id},
        }
    }
    session.save()
    response = member.get("/settings/imports/b-upload/")
    assert response.status_code == 404
    assert leaks(response) == []


def test_the_digest_rendered_for_bs_user_contains_nothing_of_a(worlds):
    _world_a, world_b = worlds
    today = timezone.localdate()
    with tenant_context(world_b.tenant):
        content = digest_content_build(
            tenant=world_b.tenant, on=today, since=timezone.now() - timezone.timedelta(days=30)
        )
        rendered = digest_render(content=content, user=world_b.user, frequency="weekly")
    text = " ".join(
        [rendered.subject, rendered.text, rendered.html, json.dumps(content, default=str)]
    ).lower()
    assert world_b.marker in text  # B's own alert is in it
    assert [value for value in A_VALUES if value in text] == []


class _Capture(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        _Capture.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver(settings: Any) -> Iterator[Callable[[], list[bytes]]]:
    # Webhooks refuse loopback targets unless this is set (alerts.webhook_targets).
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    server = http.server.HTTPServer(("127.0.0.1", 0), _Capture)
    _Capture.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_sent_for_b_carries_only_bs_alerts(worlds, webhook_receiver):
    world_a, world_b = worlds
    host, port = webhook_receiver.server_address
    with tenant_context(world_a.tenant):
        _fresh_alert(world_a, "zqxa-late")
    with tenant_context(world_b.tenant):
        WebhookEndpoint.objects.update(url=f"http://{host}:{port}/hook", created_at=timezone.now())
        _fresh_alert(world_b, "zqxb-late")
        delivery = alerts_deliver(tenant_name=world_b.tenant.name)
    assert _Capture.bodies, delivery
    payload = b" ".join(_Capture.bodies).decode().lower()
    assert "zqxb-late" in payload
    assert [value for value in A_VALUES if value in payload] == []


def _fresh_alert(world: TenantWorld, title: str) -> Alert:
    rule = world.first("alerts.alertrule")
    return Alert.objects.create(
        rule=rule,
        kind=rule.kind,
        deal=world.first("deals.deal"),
        dedup_key=title,
        severity=Severity.CRITICAL,
        title=title,
        summary=f"{title} summary",
        raised_on=timezone.localdate(),
    )
