"""Where a tenant's webhook may point: public http(s) addresses only (no SSRF into our network).

A webhook URL is chosen by a tenant admin and called from our workers, so it must not reach
what only our network can reach: private ranges, loopback, link-local (169.254.169.254 is
the cloud metadata service), multicast, reserved or unspecified addresses. The URL is checked
when it is saved (:func:`webhook_url_check`, a form error) and again at every delivery
(:func:`webhook_target_resolve`): the host is resolved once, *every* address it resolves to
must be allowed, and the caller connects to one of those checked addresses, never to the name
again, so a DNS answer that changes between check and connect (DNS rebinding) is not used.
Redirects are not followed (see alerts.webhooks).

``settings.ALERT_WEBHOOK_ALLOW_PRIVATE`` (default False) allows private, loopback and
shared (CGNAT) addresses, for development and tests with a receiver on 127.0.0.1; link-local
(metadata), multicast, reserved and unspecified addresses stay refused even then.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookTargetRefused(ValueError):
    """The URL is not allowed as a webhook target; the message says why, in words for an admin."""


class WebhookTargetUnresolved(OSError):
    """The host name does not resolve (now): may be transient."""


@dataclass(frozen=True)
class WebhookTarget:
    """A checked webhook URL: connect to one of ``addresses`` (all checked), send ``Host: host``."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def private_addresses_allowed() -> bool:
    return bool(getattr(settings, "ALERT_WEBHOOK_ALLOW_PRIVATE", False))


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be a webhook target, or None when it may.

    IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged as the IPv4 address they carry.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # Order matters: 0.0.0.0 is also "private" and 169.254.0.0/16 also "private" in ipaddress.
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address (this range holds cloud metadata services)"
    if address.is_loopback:
        return None if allow_private else "a loopback address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return None if allow_private else "a private address"
    if not address.is_global:
        # 100.64.0.0/10 (carrier-grade NAT) and the like: not private, not public either.
        return None if allow_private else "an address that is not publicly routable"
    return None


def _split(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise WebhookTargetRefused(f"The webhook URL is not valid: {error}.") from error
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise WebhookTargetRefused("Use an http:// or https:// URL.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookTargetRefused("The webhook URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("Put no user name or password in the webhook URL.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or DEFAULT_PORTS[scheme], path


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _check(host: str, addresses: list[IPAddress], *, allow_private: bool) -> None:
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private)
        if reason is not None:
            shown = host if str(address) == host else f"{host} ({address})"
            raise WebhookTargetRefused(f"The webhook may not point to {reason}: {shown}.")


def webhook_target_resolve(
    url: str, *, allow_private: bool | None = None, resolver: Resolver | None = None
) -> WebhookTarget:
    """Check ``url`` and resolve its host once; every resolved address must be allowed.

    Raises WebhookTargetRefused (scheme, malformed URL, or any address refused) or
    WebhookTargetUnresolved (the name does not resolve).
    """
    allow = private_addresses_allowed() if allow_private is None else allow_private
    scheme, host, port, path = _split(url)
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = (resolver or socket.getaddrinfo)(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            raise WebhookTargetUnresolved(f"{host} does not resolve: {error}") from error
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
        if not addresses:
            raise WebhookTargetUnresolved(f"{host} resolves to no address")
    _check(host, addresses, allow_private=allow)
    return WebhookTarget(
        scheme=scheme, host=host, port=port, path=path, addresses=tuple(str(a) for a in addresses)
    )


def webhook_url_check(url: str, *, resolver: Resolver | None = None) -> None:
    """The check when an admin saves a URL: raises WebhookTargetRefused with the reason.

    A name that does not resolve now is accepted (it may be created later, or DNS may be
    down); delivery resolves and checks it again each time and refuses it then.
    """
    with contextlib.suppress(WebhookTargetUnresolved):
        webhook_target_resolve(url, resolver=resolver)
