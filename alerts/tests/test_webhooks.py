"""The tenant webhook against a real HTTP server on localhost."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from alerts.models import Alert, WebhookEndpoint
from alerts.services import alert_checks_run
from alerts.tasks import deliver_alerts
from alerts.tests.conftest import AS_OF
from alerts.tests.factories import deal_create
from alerts.webhooks import (
    WebhookTransientError,
    alerts_deliver,
    signature_for,
    signature_is_valid,
    webhook_post,
)


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that answers with the queued statuses (then 200) and
    records requests. Loopback targets are refused by default, so this enables them."""
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/elsewhere")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


@pytest.fixture
def two_stalled_deals(won_history) -> None:
    for _ in range(2):
        deal_create(
            created=AS_OF - dt.timedelta(days=20),
            stage="Proposal",
            stage_entered=AS_OF - dt.timedelta(days=16),
        )


def endpoint_for(receiver: Receiver, **fields) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, **fields)
    # Alerts raised after the webhook existed are delivered; make the test's alerts count.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        created_at=endpoint.created_at - dt.timedelta(hours=1)
    )
    endpoint.refresh_from_db()
    return endpoint


def test_new_alerts_are_posted_as_slack_compatible_json_signed_with_the_tenant_secret(
    two_stalled_deals, receiver
):
    endpoint = endpoint_for(receiver)
    alert_checks_run(as_of=AS_OF)

    delivery = alerts_deliver(tenant_name="Acme Corp")

    assert delivery.delivered == 2
    [(headers, body)] = receiver.requests
    payload = json.loads(body)
    assert payload["text"] == "2 new alerts in Acme Corp"
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "section"]
    assert "16 days in Proposal" in payload["blocks"][1]["text"]["text"]
    timestamp = int(headers["X-Salesintel-Timestamp"])
    assert headers["X-Salesintel-Signature"] == signature_for(
        secret=endpoint.secret, timestamp=timestamp, body=body
    )
    assert signature_is_valid(
        secret=endpoint.secret, timestamp=timestamp, body=body, signature=headers["X-Salesintel-Signature"]
    )


def test_a_signature_made_with_another_secret_does_not_verify():
    body = b'{"text": "hi"}'
    forged = signature_for(secret="not-the-tenants", timestamp=1_700_000_000, body=body)

    assert not signature_is_valid(
        secret="the-tenants", timestamp=1_700_000_000, body=body, signature=forged, max_age_seconds=10**10
    )


def test_delivered_alerts_are_not_posted_again(two_stalled_deals, receiver):
    endpoint_for(receiver)
    alert_checks_run(as_of=AS_OF)
    alerts_deliver(tenant_name="Acme Corp")

    delivery = alerts_deliver(tenant_name="Acme Corp")

    assert delivery.delivered == 0
    assert len(receiver.requests) == 1


def test_a_server_error_is_transient_so_the_task_retries_until_it_is_accepted(
    two_stalled_deals, receiver, in_tenant_a
):
    endpoint_for(receiver)
    alert_checks_run(as_of=AS_OF)
    receiver.statuses = [503, 500]

    result = deliver_alerts.apply(args=(in_tenant_a.pk,), retries=0).get()

    assert result["delivered"] == 2
    assert len(receiver.requests) == 3


def test_a_client_error_is_recorded_on_the_endpoint_and_the_alerts_stay_pending(two_stalled_deals, receiver):
    endpoint = endpoint_for(receiver)
    alert_checks_run(as_of=AS_OF)
    receiver.statuses = [404]

    delivery = alerts_deliver(tenant_name="Acme Corp")

    endpoint.refresh_from_db()
    assert delivery.delivered == 0
    assert endpoint.last_error == "HTTP 404 from the webhook"
    assert Alert.objects.filter(notified_at__isnull=True).count() == 2


def test_an_unreachable_webhook_raises_a_transient_error(in_tenant_a, settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/unreachable", secret="s")

    with pytest.raises(WebhookTransientError):
        webhook_post(endpoint=endpoint, payload={"text": "hi"})


def test_alerts_below_the_endpoints_minimum_severity_are_not_posted(two_stalled_deals, receiver):
    endpoint_for(receiver, min_severity="critical")
    alert_checks_run(as_of=AS_OF)

    delivery = alerts_deliver(tenant_name="Acme Corp")

    assert delivery == type(delivery)(0, "nothing new")
    assert receiver.requests == []


def test_an_admin_sets_the_webhook_and_it_gets_a_secret(in_tenant_a):
    from alerts.services import webhook_set

    endpoint = webhook_set(url="https://hooks.example.com/T1/B2", min_severity="critical")

    assert len(endpoint.secret) >= 40
    assert (endpoint.url, endpoint.min_severity) == ("https://hooks.example.com/T1/B2", "critical")
    assert WebhookEndpoint.objects.count() == 1


def test_changing_the_webhook_keeps_its_secret_and_rotating_replaces_it(in_tenant_a):
    from alerts.services import webhook_secret_rotate, webhook_set

    secret = webhook_set(url="https://hooks.example.com/a").secret

    changed = webhook_set(url="https://hooks.example.com/b")
    rotated = webhook_secret_rotate()

    assert changed.secret == secret
    assert rotated.secret != secret


def test_a_webhook_url_that_is_not_http_is_refused(in_tenant_a):
    from django.core.exceptions import ValidationError

    from alerts.services import webhook_set

    with pytest.raises(ValidationError):
        webhook_set(url="ftp://example.com/hook")
