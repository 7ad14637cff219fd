"""Webhook URLs may only reach public http(s) addresses: checked on save and at every delivery."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError

from alerts.models import Alert, WebhookEndpoint
from alerts.services import alert_checks_run, webhook_set
from alerts.tests.conftest import AS_OF
from alerts.tests.test_webhooks import (  # noqa: F401 (fixtures)
    endpoint_for,
    receiver,
    two_stalled_deals,
)
from alerts.webhook_targets import WebhookTargetRefused, webhook_target_resolve
from alerts.webhooks import alerts_deliver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/hook", "a private address"),
        ("http://172.16.5.4/hook", "a private address"),
        ("https://192.168.1.10/hook", "a private address"),
        ("http://[fd00::1]/hook", "a private address"),
        ("http://127.0.0.1:8000/hook", "a loopback address"),
        ("http://[::1]/hook", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/hook", "a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[fe80::1]/hook", "a link-local address"),
        ("http://224.0.0.1/hook", "a multicast address"),
        ("http://[ff02::1]/hook", "a multicast address"),
        ("http://240.0.0.1/hook", "a reserved address"),
        ("http://0.0.0.0/hook", "an unspecified address"),
        ("http://[::]/hook", "an unspecified address"),
        ("http://100.64.0.1/hook", "an address that is not publicly routable"),
    ],
)
def test_an_admin_cannot_save_a_webhook_pointing_into_a_non_public_range(in_tenant_a, url, reason):
    with pytest.raises(ValidationError) as refused:
        webhook_set(url=url)

    [message] = refused.value.message_dict["url"]
    assert message.startswith(f"The webhook may not point to {reason}")
    assert not WebhookEndpoint.objects.exists()


def test_a_host_name_that_resolves_to_loopback_is_refused_on_save(in_tenant_a):
    with pytest.raises(ValidationError) as refused:
        webhook_set(url="http://localhost:8000/hook")

    assert refused.value.message_dict["url"] == [
        "The webhook may not point to a loopback address: localhost (127.0.0.1)."
    ]


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://example.com/"])
def test_only_http_and_https_urls_are_accepted(in_tenant_a, url):
    with pytest.raises(ValidationError):
        webhook_set(url=url)


def test_a_name_is_refused_when_any_of_its_addresses_is_not_public():
    def resolver(host, port, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    with pytest.raises(WebhookTargetRefused, match=r"a private address: hooks.example.com \(10.0.0.7\)"):
        webhook_target_resolve("https://hooks.example.com/T1", resolver=resolver, allow_private=False)


def test_a_public_address_is_accepted_and_kept_for_the_connection():
    target = webhook_target_resolve("https://93.184.216.34:8443/T1?x=1", allow_private=False)

    assert (target.scheme, target.host, target.port, target.path, target.addresses) == (
        "https",
        "93.184.216.34",
        8443,
        "/T1?x=1",
        ("93.184.216.34",),
    )


def test_an_admin_saves_a_public_webhook_and_a_name_that_does_not_resolve_yet(in_tenant_a):
    assert webhook_set(url="https://93.184.216.34/hook").url == "https://93.184.216.34/hook"
    # .test never resolves; delivery checks the name again each time.
    assert webhook_set(url="https://hooks.example.test/T1").url == "https://hooks.example.test/T1"


def test_allowing_private_addresses_still_refuses_the_metadata_range(in_tenant_a, settings):
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = True

    assert webhook_set(url="http://127.0.0.1:8000/hook").url == "http://127.0.0.1:8000/hook"
    with pytest.raises(ValidationError, match="link-local"):
        webhook_set(url="http://169.254.169.254/latest/meta-data/")


def test_delivery_refuses_a_stored_url_that_is_not_public_and_sends_nothing(
    two_stalled_deals,  # noqa: F811
    receiver,  # noqa: F811
    settings,
):
    endpoint = endpoint_for(receiver)  # stored directly, as if saved before the check existed
    alert_checks_run(as_of=AS_OF)
    settings.ALERT_WEBHOOK_ALLOW_PRIVATE = False

    delivery = alerts_deliver(tenant_name="Acme Corp")

    endpoint.refresh_from_db()
    assert delivery.delivered == 0
    assert receiver.requests == []
    assert endpoint.last_error.startswith("The webhook may not point to a loopback address: 127.0.0.1")
    assert Alert.objects.filter(notified_at__isnull=True).count() == 2


def test_delivery_connects_to_the_address_it_checked_even_if_dns_answers_differently_later(
    two_stalled_deals,  # noqa: F811
    receiver,  # noqa: F811
    monkeypatch,
):
    # DNS rebinding: the first answer passes the check, a later one would point elsewhere.
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    answers = ["127.0.0.1", "203.0.113.9"]
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_getaddrinfo(host, *args, **kwargs):
        if host != "rebind.example.test":
            return real_getaddrinfo(host, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers.pop(0), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    endpoint = endpoint_for(receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=f"http://rebind.example.test:{port}/hook")
    alert_checks_run(as_of=AS_OF)

    delivery = alerts_deliver(tenant_name="Acme Corp")

    assert delivery.delivered == 2
    assert asked == ["rebind.example.test"]
    [(headers, _)] = receiver.requests
    assert headers["Host"] == f"rebind.example.test:{port}"


def test_a_redirect_is_not_followed(two_stalled_deals, receiver):  # noqa: F811 (fixtures)
    endpoint = endpoint_for(receiver)
    alert_checks_run(as_of=AS_OF)
    receiver.statuses = [302]

    delivery = alerts_deliver(tenant_name="Acme Corp")

    endpoint.refresh_from_db()
    assert delivery.delivered == 0
    assert len(receiver.requests) == 1
    assert endpoint.last_error == "HTTP 302 from the webhook (redirects are not followed)"
