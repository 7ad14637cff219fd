"""Fixtures for alerts tests: a tenant with a history of won deals that sets the thresholds."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from alerts.tests.factories import won_deal_with_history
from tenants.models import Tenant

# As of this date, won Core deals spent 10–14 days in Proposal (p75 = 13) and took 25–29 days
# from creation to close (median 27).
AS_OF = dt.date(2024, 6, 1)


@pytest.fixture
def won_history(in_tenant_a: Tenant) -> Tenant:
    start = dt.date(2024, 1, 1)
    for index in range(30):
        won_deal_with_history(
            created=start + dt.timedelta(days=index),
            days_per_stage={"Qualified": 10, "Proposal": 10 + index % 5, "Negotiation": 5},
        )
    return in_tenant_a


@dataclass
class SmtpServer:
    """A real SMTP server on localhost (aiosmtpd) and the messages it received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """Start aiosmtpd on a free port and point Django's SMTP backend at it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SmtpServer(host="127.0.0.1", port=port)

    class Handler:
        async def handle_DATA(self, smtp_server, session, envelope):
            server.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    controller.stop()
