"""The tenant's optional webhook: Slack-compatible JSON, HMAC-signed, retried on transient errors.

Payload: Slack's incoming-webhook shape (``text`` plus ``blocks``), so a Slack URL works as is.
Signature (same scheme as Slack's request signing): headers ``X-Salesintel-Timestamp`` (Unix
seconds) and ``X-Salesintel-Signature: v1=<hex>`` where ``<hex>`` is HMAC-SHA256 with the
tenant's secret over ``v1:<timestamp>:<raw body>``. Receivers recompute it with
:func:`signature_for` and reject stale timestamps. docs/alerts.md shows a verifier.

Delivery goes only to public addresses (alerts.webhook_targets): the host is resolved and
checked at each delivery, the connection is made to the checked address (TLS still verifies
the certificate against the host name), and redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from alerts.models import Alert, AlertState, Severity, WebhookEndpoint
from alerts.webhook_targets import (
    WebhookTarget,
    WebhookTargetRefused,
    WebhookTargetUnresolved,
    webhook_target_resolve,
)

SIGNATURE_VERSION = "v1"
TIMEOUT_SECONDS = 10
# One POST carries at most this many alerts; the rest are counted in its text.
MAX_ALERTS_PER_POST = 20
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
_SEVERITY_ICON = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🔴"}


class WebhookTransientError(Exception):
    """The receiver may accept later (timeout, connection refused, 429, 5xx): retry."""


class WebhookPermanentError(Exception):
    """The receiver refused the request (other 4xx): retrying will not help."""


def signature_for(*, secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, "v1:<timestamp>:" + body)>``."""
    message = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signature_is_valid(
    *, secret: str, timestamp: int, body: bytes, signature: str, max_age_seconds: int = 300
) -> bool:
    """What a receiver does: constant-time compare, and refuse timestamps older than 5 minutes."""
    if abs(time.time() - timestamp) > max_age_seconds:
        return False
    return hmac.compare_digest(signature_for(secret=secret, timestamp=timestamp, body=body), signature)


def app_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


def alert_link(alert: Alert) -> str:
    """Where the alert is seen in the app: the deal's page, or the inbox for segment alerts."""
    if alert.deal_id is not None:
        return app_url(f"deals/{alert.deal_id}/")
    return app_url(f"alerts/?kind={alert.kind}")


def payload_for(*, alerts: Sequence[Alert], tenant_name: str, more: int = 0) -> dict[str, object]:
    """The Slack-compatible message for a batch of alerts."""
    count = len(alerts) + more
    text = f"{count} new alert{'s' if count != 1 else ''} in {tenant_name}"
    blocks: list[dict[str, object]] = [{"type": "header", "text": {"type": "plain_text", "text": text}}]
    for alert in alerts:
        icon = _SEVERITY_ICON.get(alert.severity, "")
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"{icon} *<{alert_link(alert)}|{alert.title}>*\n{alert.summary}",
                },
            }
        )
    if more:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"…and {more} more in <{app_url('alerts/')}|the inbox>."}
                ],
            }
        )
    return {"text": text, "blocks": blocks}


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked address; the Host header still names the URL's host."""

    def __init__(self, target: WebhookTarget, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI and certificate verification use the URL's host."""

    def __init__(self, target: WebhookTarget, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post_to_target(*, target: WebhookTarget, body: bytes, headers: dict[str, str]) -> int:
    """POST to the first checked address that accepts a connection; returns the HTTP status."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError | None = None
    for address in target.addresses:
        connection = connection_class(target, address, TIMEOUT_SECONDS)
        try:
            connection.connect()
        except OSError as error:  # refused, unreachable, timed out, TLS failure: try the next
            last_error = error
            connection.close()
            continue
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            return int(response.status)
        finally:
            connection.close()
    raise ConnectionError(f"no address of {target.host} accepted a connection: {last_error}")


def webhook_post(*, endpoint: WebhookEndpoint, payload: dict[str, object]) -> int:
    """POST the signed payload; returns the HTTP status or raises WebhookTransient/PermanentError.

    The URL is checked again here (alerts.webhook_targets): a target that is no longer allowed,
    e.g. a name now resolving to a private address, is a permanent error and nothing is sent.
    A redirect (3xx) is not followed and counts as a refusal.
    """
    try:
        target = webhook_target_resolve(endpoint.url)
    except WebhookTargetRefused as error:
        raise WebhookPermanentError(str(error)) from error
    except WebhookTargetUnresolved as error:
        raise WebhookTransientError(f"webhook unreachable: {error}") from error
    body = json.dumps(payload, ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "salesintel-webhook/1",
        "X-Salesintel-Timestamp": str(timestamp),
        "X-Salesintel-Signature": signature_for(secret=endpoint.secret, timestamp=timestamp, body=body),
    }
    try:
        status = _post_to_target(target=target, body=body, headers=headers)
    except (OSError, http.client.HTTPException) as error:
        raise WebhookTransientError(f"webhook unreachable: {error}") from error
    if status == 429 or status >= 500:
        raise WebhookTransientError(f"HTTP {status} from the webhook")
    if 300 <= status < 400:
        raise WebhookPermanentError(f"HTTP {status} from the webhook (redirects are not followed)")
    if status >= 400:
        raise WebhookPermanentError(f"HTTP {status} from the webhook")
    return status


def pending_alerts(*, endpoint: WebhookEndpoint) -> list[Alert]:
    """Open alerts not yet delivered, at or above the endpoint's severity, raised after it existed."""
    wanted = [
        severity for severity, rank in _SEVERITY_RANK.items() if rank >= _SEVERITY_RANK[endpoint.min_severity]
    ]
    rank = Case(
        *(When(severity=severity, then=Value(value)) for severity, value in _SEVERITY_RANK.items()),
        output_field=IntegerField(),
    )
    return list(
        Alert.objects.filter(
            notified_at__isnull=True,
            state=AlertState.OPEN,
            severity__in=wanted,
            created_at__gte=endpoint.created_at,
        )
        .annotate(severity_rank=rank)
        .order_by("-severity_rank", "-created_at", "-id")
    )


@dataclass(frozen=True)
class Delivery:
    delivered: int
    skipped_reason: str = ""


def alerts_deliver(*, tenant_name: str) -> Delivery:
    """Send the active tenant's undelivered alerts to its webhook in one POST (most severe first).

    Marks them delivered on success, so a retry after a failure sends them again and a re-run
    after success sends nothing. Raises WebhookTransientError (the task retries with backoff);
    a refusal (other 4xx) is recorded on the endpoint and the alerts stay pending.
    """
    endpoint = WebhookEndpoint.objects.filter(enabled=True).first()
    if endpoint is None:
        return Delivery(0, "no webhook")
    alerts = pending_alerts(endpoint=endpoint)
    if not alerts:
        return Delivery(0, "nothing new")
    batch, rest = alerts[:MAX_ALERTS_PER_POST], alerts[MAX_ALERTS_PER_POST:]
    try:
        webhook_post(
            endpoint=endpoint, payload=payload_for(alerts=batch, tenant_name=tenant_name, more=len(rest))
        )
    except WebhookPermanentError as error:
        # Retrying cannot help; record why on the endpoint (admins see it) and keep the alerts pending.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            last_failure_at=timezone.now(), last_error=str(error)[:500]
        )
        return Delivery(0, f"refused: {error}")
    now = timezone.now()
    # The overflow was announced as a count; mark it delivered too so it is not re-announced.
    Alert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(notified_at=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, last_error="")
    return Delivery(len(alerts))
