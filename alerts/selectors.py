"""Reads for alerts: the inbox, a deal's alerts, counts, rules, digest preferences.

All run in the active tenant's context. ``alert_list`` is what the inbox renders; it returns a
queryset with the deal and the acting user joined, so a page of alerts costs one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, F, IntegerField, Max, Q, QuerySet, Value, When, Window
from django.db.models.functions import Coalesce

from alerts.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertState,
    DigestFrequency,
    DigestPreference,
    Severity,
    WebhookEndpoint,
)

ACTIVE_STATES = (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.SNOOZED)
SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def alert_list(
    *,
    states: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    deal_id: int | None = None,
    raised_since: dt.date | None = None,
    search: str = "",
    by_deal: bool = False,
) -> QuerySet[Alert]:
    """Alerts of the active tenant, newest first, filtered by state, rule kind, severity, deal.

    ``states=None`` means the inbox default: open and acknowledged (snoozed alerts are hidden
    until their snooze ends; resolved ones are history). ``search`` matches the title or the
    deal's CRM id. ``by_deal`` keeps each deal's alerts together (the deal with the newest
    alert first, then its alerts newest first); alerts without a deal stand alone. The deal and
    the acting user are fetched in the same query.
    """
    alerts = Alert.objects.select_related("deal", "acted_by")
    alerts = alerts.filter(state__in=list(states) if states else [AlertState.OPEN, AlertState.ACKNOWLEDGED])
    if kinds:
        alerts = alerts.filter(kind__in=list(kinds))
    if severities:
        alerts = alerts.filter(severity__in=list(severities))
    if deal_id is not None:
        alerts = alerts.filter(deal_id=deal_id)
    if raised_since is not None:
        alerts = alerts.filter(raised_on__gte=raised_since)
    if search:
        alerts = alerts.filter(Q(title__icontains=search) | Q(deal__crm_id__iexact=search))
    if by_deal:
        group = Coalesce(F("deal_id"), -F("id"))
        alerts = alerts.annotate(
            group_key=group, group_newest=Window(Max("created_at"), partition_by=[group])
        )
        return alerts.order_by("-group_newest", "group_key", "-created_at", "-id")
    return alerts.order_by("-created_at", "-id")


def alert_get(*, alert_id: int) -> Alert:
    """One alert of the active tenant; raises Alert.DoesNotExist for another tenant's id."""
    return Alert.objects.select_related("deal", "acted_by", "rule").get(pk=alert_id)


def alert_events(*, alert: Alert) -> QuerySet[AlertEvent]:
    return AlertEvent.objects.filter(alert=alert).select_related("user").order_by("at", "id")


def alert_counts() -> dict[str, int]:
    """Active alerts by state and by severity, for badges: {"open": 3, "critical": 1, …};
    ``open_deals``: how many deals the open alerts are about."""
    aggregates = Alert.objects.filter(state__in=ACTIVE_STATES).aggregate(
        open=Count("id", filter=Q(state=AlertState.OPEN)),
        open_deals=Count("deal_id", filter=Q(state=AlertState.OPEN), distinct=True),
        acknowledged=Count("id", filter=Q(state=AlertState.ACKNOWLEDGED)),
        snoozed=Count("id", filter=Q(state=AlertState.SNOOZED)),
        critical=Count("id", filter=Q(severity=Severity.CRITICAL) & ~Q(state=AlertState.SNOOZED)),
        warning=Count("id", filter=Q(severity=Severity.WARNING) & ~Q(state=AlertState.SNOOZED)),
    )
    return {name: int(value or 0) for name, value in aggregates.items()}


def alert_new_since(*, since: dt.datetime, limit: int = 20) -> list[Alert]:
    """Alerts raised since ``since`` that are still active, most severe first, then newest."""
    severity_rank = Case(
        *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_ORDER.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    return list(
        Alert.objects.select_related("deal")
        .filter(created_at__gte=since, state__in=ACTIVE_STATES)
        .annotate(severity_rank=severity_rank)
        .order_by("severity_rank", "-created_at", "-id")[:limit]
    )


def alert_count_since(*, since: dt.datetime) -> int:
    """How many alerts raised since ``since`` are still active."""
    return Alert.objects.filter(created_at__gte=since, state__in=ACTIVE_STATES).count()


def alert_rule_list() -> list[AlertRule]:
    """The tenant's rules in a stable order (missing ones are created with their defaults)."""
    from alerts.services import alert_rules_ensure

    return sorted(alert_rules_ensure().values(), key=lambda rule: rule.kind)


def digest_frequency_for(*, user: AbstractBaseUser) -> str:
    """The user's digest frequency in the active tenant (weekly when never chosen)."""
    preference = DigestPreference.objects.filter(user=user).first()
    return preference.frequency if preference else DigestFrequency.WEEKLY


def webhook_get() -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.first()
