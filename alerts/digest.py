"""Email digests: what the week (or day) brought, per user, as HTML and plain text.

A digest opens with the CRO briefing's header (insights.briefing.briefing_digest_header, the
numbers of the app's briefing page for the same day): the win-rate headline with its interval
(insights.diagnose, the same document the home page shows), the quarter forecast with its 80%
interval against the tenant's quota, the top contributors to the change, the focus list and the
alerts summary. Then the open deals most at risk with their drivers (scoring), the alerts
raised since the last digest, and links into the app (settings.SITE_URL). Content is built once
per tenant and frequency as a JSON-ready dict (:func:`digest_content_build`), then rendered per
user with a signed unsubscribe link.

Sending is idempotent per user and period: a DigestDelivery row (unique on tenant, user and
period key) is claimed before sending, so a re-run or a retried task sends nothing twice.
Users choose daily, weekly (the default) or off (alerts.models.DigestPreference).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts import schedule
from alerts.models import DeliveryStatus, DigestDelivery, DigestFrequency, DigestPreference
from alerts.selectors import alert_count_since, alert_new_since
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Membership, Tenant

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "alerts.digest.unsubscribe"
TOP_RISK_DEALS = 5
MAX_NEW_ALERTS = 10


# --- links -----------------------------------------------------------------------------------


def app_url(name: str, fallback: str, **kwargs: Any) -> str:
    """Absolute URL of the app page ``name`` (``fallback`` path when the page does not exist)."""
    try:
        path = reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        path = fallback
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_token(*, tenant_id: int, user_id: int) -> str:
    """A signed, URL-safe token naming the tenant and user (it never expires: old emails work)."""
    return signing.dumps({"t": tenant_id, "u": user_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, int]:
    """(tenant_id, user_id) from a token; raises django.core.signing.BadSignature if forged."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return int(data["t"]), int(data["u"])


def unsubscribe_url(*, tenant_id: int, user_id: int) -> str:
    token = unsubscribe_token(tenant_id=tenant_id, user_id=user_id)
    return app_url("alerts:unsubscribe", f"/alerts/unsubscribe/{token}/", token=token)


# --- content ---------------------------------------------------------------------------------


def _headline(document: dict[str, Any]) -> dict[str, Any]:
    rate = document["win_rate"]
    weighted = document["weighted_win_rate"]
    return {
        "current": rate["current"],
        "baseline": rate["baseline"],
        "change": rate["change"],
        "change_ci_low": rate["change_ci_low"],
        "change_ci_high": rate["change_ci_high"],
        "p_value": rate["p_value"],
        "verdict": rate["verdict"],
        "weighted_current": weighted["current"],
        "weighted_change": weighted["change"],
        "weighted_verdict": weighted["verdict"],
    }


def _risk_deals() -> list[dict[str, Any]]:
    """The open deals most at risk (highest amount among high/critical bands), with drivers."""
    from alerts.integrations import top_risk_deals

    deals = top_risk_deals(limit=TOP_RISK_DEALS)
    for deal in deals:
        deal["url"] = app_url("deal_detail", f"/deals/{deal['id']}/", pk=deal["id"])
    return deals


def digest_content_build(*, tenant: Tenant, on: dt.date, since: dt.datetime) -> dict[str, Any]:
    """Everything a digest shows, as a JSON-ready dict; the same for every user of the tenant.

    ``on`` is the tenant's local date of the digest (diagnose's as-of: deals closed before it);
    ``since`` bounds "new alerts". ``briefing`` is the briefing page's header as of ``on``
    (forecast against the tenant's quota, contributors, focus list, alerts summary). Runs in the
    active tenant's context.
    """
    from insights.briefing import briefing_digest_header
    from insights.services import diagnose

    document = diagnose(tenant=tenant, as_of=on)
    # The briefing reuses this diagnosis, so the headline is the one document's.
    header = briefing_digest_header(tenant=tenant, as_of=on, diagnosis=document)
    new_alerts = [
        {
            "title": alert.title,
            "summary": alert.summary,
            "severity": alert.severity,
            "kind": alert.get_kind_display(),
            "url": app_url("deal_detail", f"/deals/{alert.deal_id}/", pk=alert.deal_id)
            if alert.deal_id
            else app_url("alerts", "/alerts/"),
        }
        for alert in alert_new_since(since=since, limit=MAX_NEW_ALERTS)
    ]
    return {
        "tenant_name": tenant.name,
        "currency": tenant.currency,
        "on": on.isoformat(),
        "since": since.isoformat(),
        "period": document["period"]["current"],
        "headline": _headline(document),
        "briefing": header,
        "risk_deals": _risk_deals(),
        "new_alerts": new_alerts,
        "new_alert_count": alert_count_since(since=since),
        "links": {
            "home": app_url("home", "/"),
            "risk_board": app_url("risk_board", "/deals/"),
            "alerts": app_url("alerts", "/alerts/"),
            "segments": app_url("segments", "/segments/"),
            "briefing": app_url("briefing", "/briefing/"),
        },
    }


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def digest_render(*, content: dict[str, Any], user: AbstractBaseUser, frequency: str) -> RenderedDigest:
    """Subject, plain text and HTML of one user's digest (templates/alerts/email/digest.*)."""
    unsubscribe = unsubscribe_url(tenant_id=require_tenant_id(), user_id=int(user.pk))
    focus_list = content["briefing"]["focus_list"]
    context = {
        **content,
        # (title, up to three segments with their intervals, how many carry the label)
        "focus_rows": [
            (title, focus_list[key], focus_list["counts"][key])
            for title, key in (("Focus", "focus"), ("Keep", "keep"), ("Deprioritise", "deprioritise"))
        ],
        "user": user,
        "frequency": frequency,
        "frequency_label": "daily" if frequency == DigestFrequency.DAILY else "weekly",
        "unsubscribe_url": unsubscribe,
    }
    subject = render_to_string("alerts/email/digest_subject.txt", context).strip()
    return RenderedDigest(
        subject=" ".join(subject.split()),
        text=render_to_string("alerts/email/digest.txt", context),
        html=render_to_string("alerts/email/digest.html", context),
        unsubscribe_url=unsubscribe,
    )


def digest_message(*, rendered: RenderedDigest, to: str) -> EmailMultiAlternatives:
    """The email: plain text with an HTML alternative and one-click unsubscribe headers (RFC 8058)."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "List-Unsubscribe": f"<{rendered.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


# --- who gets one, and sending ---------------------------------------------------------------


def _period_key(frequency: str, on: dt.date) -> str:
    return on.isoformat() if frequency == DigestFrequency.DAILY else schedule.weekly_period_key(on)


def _since(frequency: str, on: dt.date) -> dt.datetime:
    days = 1 if frequency == DigestFrequency.DAILY else 7
    start = dt.datetime.combine(on - dt.timedelta(days=days), dt.time.min)
    return timezone.make_aware(start, dt.UTC)


def digest_recipients_due(*, on: dt.date, weekday: int) -> list[tuple[AbstractBaseUser, str]]:
    """Members with an email whose digest is due on ``on``: (user, frequency).

    Daily digests are due every day, weekly ones when ``on`` is ``weekday`` (0 = Monday);
    members who chose "off" never get one. Users who already got this period's digest are left
    out (the delivery ledger). Runs in the active tenant's context.
    """
    preferences = dict(DigestPreference.objects.values_list("user_id", "frequency"))
    user_ids = list(Membership.objects.values_list("user_id", flat=True))
    users = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="").order_by("pk")
    due: list[tuple[AbstractBaseUser, str]] = []
    for user in users:
        frequency = preferences.get(user.pk, DigestFrequency.WEEKLY)
        if frequency == DigestFrequency.OFF:
            continue
        if frequency == DigestFrequency.WEEKLY and on.weekday() != weekday:
            continue
        due.append((user, frequency))
    sent = set(
        DigestDelivery.objects.filter(
            status=DeliveryStatus.SENT,
            period_key__in={_period_key(frequency, on) for _, frequency in due},
        ).values_list("user_id", "period_key")
    )
    return [(user, frequency) for user, frequency in due if (user.pk, _period_key(frequency, on)) not in sent]


def digest_send(
    *,
    user: AbstractBaseUser,
    frequency: str,
    on: dt.date,
    content: dict[str, Any],
    connection: BaseEmailBackend | None = None,
) -> DigestDelivery | None:
    """Send one user's digest for ``on``'s period unless it was already sent; returns the ledger row.

    The ledger row is claimed first (unique per user and period); a claim that already says
    "sent" means a previous run sent it, and nothing is sent. SMTP errors propagate (the task
    retries); the claim then rolls back with the task's transaction.
    """
    period_key = _period_key(frequency, on)
    try:
        with transaction.atomic():
            delivery, _ = DigestDelivery.objects.get_or_create(user=user, period_key=period_key)
    except IntegrityError:
        return None
    if delivery.status == DeliveryStatus.SENT:
        return None
    rendered = digest_render(content=content, user=user, frequency=frequency)
    message = digest_message(rendered=rendered, to=user.email)  # type: ignore[attr-defined]
    message.connection = connection
    message.send(fail_silently=False)
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = timezone.now()
    delivery.save(update_fields=["status", "sent_at"])
    return delivery


@dataclass
class DigestSummary:
    on: dt.date
    sent: int = 0
    skipped: int = 0
    recipients: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["on"] = self.on.isoformat()
        return data


@dataclass(frozen=True)
class DigestPlan:
    """Who gets a digest on a date and what it says (content per frequency, built once)."""

    on: dt.date
    recipients: list[tuple[AbstractBaseUser, str]]
    contents: dict[str, dict[str, Any]]


def digest_plan(*, on: dt.date, weekday: int | None = None) -> DigestPlan:
    """The active tenant's due recipients on ``on`` and the content for each frequency among them.

    ``weekday`` (default settings.ALERTS_DIGEST_WEEKDAY) is the weekly digests' day; pass
    ``on.weekday()`` to send weekly digests today.
    """
    tenant = Tenant.objects.get(pk=require_tenant_id())
    weekday = settings.ALERTS_DIGEST_WEEKDAY if weekday is None else weekday
    recipients = digest_recipients_due(on=on, weekday=weekday)
    contents = {
        frequency: digest_content_build(tenant=tenant, on=on, since=_since(frequency, on))
        for frequency in sorted({frequency for _, frequency in recipients})
    }
    return DigestPlan(on=on, recipients=recipients, contents=contents)


def digests_send_due(
    *, tenant: Tenant, on: dt.date, dry_run: bool = False, weekday: int | None = None
) -> DigestSummary:
    """Send ``tenant``'s digests due on ``on``, each in its own transaction (the command's path).

    Call outside a transaction: each user's ledger row commits with its email, so an
    interrupted run resends nothing already sent. ``dry_run`` renders every digest (template
    errors surface) but sends and records nothing.
    """
    summary = DigestSummary(on=on, dry_run=dry_run)
    with tenant_context(tenant):
        plan = digest_plan(on=on, weekday=weekday)
    connection = None if dry_run else get_connection()
    for user, frequency in plan.recipients:
        with tenant_context(tenant):
            if dry_run:
                digest_render(content=plan.contents[frequency], user=user, frequency=frequency)
                summary.recipients.append(user.email)
                continue
            delivery = digest_send(
                user=user, frequency=frequency, on=on, content=plan.contents[frequency], connection=connection
            )
        if delivery is None:
            summary.skipped += 1
        else:
            summary.sent += 1
            summary.recipients.append(user.email)
    return summary
