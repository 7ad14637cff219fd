"""Writes for alerts: rule settings, the checks that raise and resolve alerts, and user actions.

Everything here runs inside the active tenant's context (``tenants.context.tenant_context``);
nothing filters by tenant by hand. The checks are set-based: each rule's thresholds come
from a few aggregate queries (insights, scoring), then one candidate query per rule feeds
``alerts.engine``, which writes the whole set at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from alerts import engine, rules
from alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertRule,
    AlertState,
    DigestFrequency,
    DigestPreference,
    RuleKind,
    Severity,
    WebhookEndpoint,
    new_webhook_secret,
)
from alerts.webhook_targets import WebhookTargetRefused, webhook_url_check
from tenants.context import require_tenant_id

logger = logging.getLogger(__name__)

# Won deals closed in this many days before the as-of date set the stall and cycle thresholds.
DEFAULT_THRESHOLD_LOOKBACK_DAYS = 730
# The deal fields that define "the same segment" for stall and cycle thresholds.
DEFAULT_SEGMENT_DIMENSIONS: tuple[str, ...] = ("product_type",)


def threshold_lookback_days() -> int:
    return int(getattr(settings, "ALERTS_THRESHOLD_LOOKBACK_DAYS", DEFAULT_THRESHOLD_LOOKBACK_DAYS))


def segment_dimensions() -> tuple[str, ...]:
    return tuple(getattr(settings, "ALERTS_SEGMENT_DIMENSIONS", DEFAULT_SEGMENT_DIMENSIONS))


# --- rules -----------------------------------------------------------------------------------


def alert_rules_ensure() -> dict[str, AlertRule]:
    """The tenant's rules by kind, creating any missing one with its defaults (idempotent)."""
    existing = {rule.kind: rule for rule in AlertRule.objects.all()}
    missing = [
        AlertRule(
            tenant_id=require_tenant_id(),
            kind=kind,
            thresholds=spec.defaults(),
            cooldown_days=spec.default_cooldown_days,
        )
        for kind, spec in rules.RULE_SPECS.items()
        if kind not in existing
    ]
    if missing:
        AlertRule.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {rule.kind: rule for rule in AlertRule.objects.all()}
    return existing


def alert_rule_settings(*, rule: AlertRule) -> dict[str, float | int]:
    """The rule's thresholds: stored values over the defaults (new knobs get their default)."""
    spec = rules.RULE_SPECS[rule.kind]
    known = {threshold.name for threshold in spec.thresholds}
    try:
        return spec.clean({name: value for name, value in rule.thresholds.items() if name in known})
    except rules.ThresholdError:
        logger.warning("alert rule %s has invalid thresholds; using defaults", rule.pk)
        return spec.defaults()


@transaction.atomic
def alert_rule_update(
    *,
    rule: AlertRule,
    user: AbstractBaseUser | None,
    enabled: bool | None = None,
    thresholds: dict[str, Any] | None = None,
    cooldown_days: int | None = None,
) -> AlertRule:
    """Change a rule's switch, thresholds (validated against the rule's spec) or cooldown.

    Raises django.core.exceptions.ValidationError naming the bad field.
    """
    spec = rules.RULE_SPECS[rule.kind]
    if thresholds is not None:
        try:
            rule.thresholds = spec.clean({**alert_rule_settings(rule=rule), **thresholds})
        except rules.ThresholdError as error:
            raise ValidationError({"thresholds": str(error)}) from error
    if cooldown_days is not None:
        if not 0 <= int(cooldown_days) <= 365:
            raise ValidationError({"cooldown_days": "Cooldown must be between 0 and 365 days."})
        rule.cooldown_days = int(cooldown_days)
    if enabled is not None:
        rule.enabled = enabled
    rule.updated_by = user  # type: ignore[assignment]
    rule.save()
    return rule


# --- checks ----------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """What one run of checks did, for the run_checks command, the schedule's ledger and logs."""

    tenant_id: int
    as_of: dt.date
    open_deals: int = 0
    deals_alerted: int = 0
    rules: list[engine.RuleOutcome] = field(default_factory=list)

    @property
    def share_alerted(self) -> float:
        return self.deals_alerted / self.open_deals if self.open_deals else 0.0

    @property
    def created(self) -> int:
        return sum(outcome.created for outcome in self.rules)

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant_id": self.tenant_id,
            "as_of": self.as_of.isoformat(),
            "open_deals_checked": self.open_deals,
            "deals_alerted": self.deals_alerted,
            "share_alerted": round(self.share_alerted, 4),
            "created": self.created,
            "rules": {outcome.kind: outcome.as_dict() for outcome in self.rules},
        }


CandidateBuilder = Callable[[AlertRule, dict[str, Any], dt.date], rules.CandidateQuery | str]


def _segment_thresholds_from_rows(
    rows: Iterable[tuple[tuple[object, ...], tuple[float, int]]],
    *,
    with_stage: bool,
    min_sample: int,
    statistic: str,
) -> rules.SegmentThresholds:
    """Split insights' per-segment statistics into segment rows and the tenant-wide fallback.

    ``rows`` yields (key, (days, n_won)); the key is (stage, values) with a stage, else values.
    Cells below ``min_sample`` won deals are dropped (the deal then uses the fallback).
    """
    segment_rows: list[tuple[Any, ...]] = []
    fallback: dict[str, tuple[float, int]] = {}
    for key, (days, n_won) in rows:
        stage, values = (key[0], key[1]) if with_stage else ("", key)
        if n_won < min_sample or days != days:  # NaN check without numpy
            continue
        if not values:
            fallback[str(stage)] = (days, n_won)
        elif with_stage:
            segment_rows.append((*values, stage, days, n_won))
        else:
            segment_rows.append((*values, days, n_won))
    return rules.SegmentThresholds(
        dimensions=segment_dimensions(), rows=segment_rows, fallback=fallback, statistic=statistic
    )


def _stall_candidates(rule: AlertRule, knobs: dict[str, Any], as_of: dt.date) -> rules.CandidateQuery | str:
    from insights.selectors import stage_time_p75_days

    quantile = float(knobs["percentile"])
    stats = stage_time_p75_days(
        closed_from=as_of - dt.timedelta(days=threshold_lookback_days()),
        closed_before=as_of,
        dimensions=segment_dimensions(),
        quantile=quantile,
    )
    thresholds = _segment_thresholds_from_rows(
        ((key, (stat.quantile_days, stat.n_won)) for key, stat in stats.items()),
        with_stage=True,
        min_sample=int(knobs["min_sample"]),
        statistic=f"p{round(quantile * 100)}",
    )
    if not thresholds.fallback and not thresholds.rows:
        return "No stage had enough won deals with stage history to set a threshold."
    return rules.stall_candidates_sql(
        tenant_id=require_tenant_id(), as_of=as_of, thresholds=thresholds, settings=knobs
    )


def _cycle_breach_candidates(
    rule: AlertRule, knobs: dict[str, Any], as_of: dt.date
) -> rules.CandidateQuery | str:
    from insights.selectors import winning_cycle_days

    closed_from = as_of - dt.timedelta(days=threshold_lookback_days())
    stats = winning_cycle_days(closed_from=closed_from, closed_before=as_of, dimensions=segment_dimensions())
    if not stats:  # insights: empty when no deal was won in the window
        return "No won deals yet to know the typical winning cycle."
    thresholds = _segment_thresholds_from_rows(
        ((key, (stat.median_days, stat.n_won)) for key, stat in stats.items()),
        with_stage=False,
        min_sample=int(knobs["min_sample"]),
        statistic="median",
    )
    if not thresholds.fallback and not thresholds.rows:
        return "Not enough won deals to know the typical winning cycle."
    return rules.cycle_breach_candidates_sql(
        tenant_id=require_tenant_id(), as_of=as_of, thresholds=thresholds, settings=knobs
    )


def _slip_candidates(rule: AlertRule, knobs: dict[str, Any], as_of: dt.date) -> rules.CandidateQuery | str:
    return rules.slip_candidates_sql(tenant_id=require_tenant_id(), as_of=as_of, settings=knobs)


def _months_label(first: dt.date, last: dt.date) -> str:
    return f"{first:%b %Y}" if first == last else f"{first:%b}–{last:%b %Y}"


def _segment_metric_months_ensure(*, months: Sequence[dt.date]) -> None:
    """Store any month's SegmentMetric rows that are missing (e.g. the first monthly run)."""
    from insights.models import SegmentMetric
    from insights.services import segment_metrics_refresh

    stored = set(
        SegmentMetric.objects.filter(month__in=months, dimension_key="all").values_list("month", flat=True)
    )
    for month in months:
        if month not in stored:
            segment_metrics_refresh(month=month)


# Family-wise error rate of the monthly segment tests (Holm-adjusted p-values below it alert).
SEGMENT_FAMILY_ERROR_RATE = 0.05


def segment_drops(*, as_of: dt.date, knobs: dict[str, Any]) -> list[rules.SegmentDrop]:
    """Segments whose win rate over the last ``window_months`` closed months fell against the
    ``window_months`` before, with the change's 95% interval below zero, at least ``min_sample``
    closed deals on each side, a drop of at least ``min_drop_pts``, and significant after a
    Holm correction over every segment tested this month.

    Every segment with ``min_sample`` deals on both sides is tested (two-sided pooled
    two-proportion z-test); the family is all of them, across the four dimensions, so in a
    month where nothing changed the chance of any segment alert is at most
    ``SEGMENT_FAMILY_ERROR_RATE`` (docs/alerts.md says why Holm rather than BH).

    Reads stored monthly SegmentMetric rows (one aggregate query); intervals are insights'
    Wilson and Newcombe intervals, p-values and the adjustment insights' too.
    """
    from insights import stats
    from insights.periods import add_months
    from insights.selectors import DIMENSIONS

    window = int(knobs["window_months"])
    last = add_months(as_of, -1)
    after_start = add_months(last, -(window - 1))
    before_start = add_months(after_start, -window)
    months = [add_months(before_start, offset) for offset in range(2 * window)]
    _segment_metric_months_ensure(months=months)
    sql = """
        SELECT dimension_key, values ->> 0,
               coalesce(sum(n) FILTER (WHERE month < %(after_start)s), 0),
               coalesce(sum(won) FILTER (WHERE month < %(after_start)s), 0),
               coalesce(sum(n) FILTER (WHERE month >= %(after_start)s), 0),
               coalesce(sum(won) FILTER (WHERE month >= %(after_start)s), 0)
        FROM insights_segmentmetric
        WHERE tenant_id = %(tenant_id)s AND dimension_key = ANY(%(dimensions)s)
          AND month >= %(before_start)s AND month <= %(last)s
        GROUP BY 1, 2
        ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "tenant_id": require_tenant_id(),
                "dimensions": list(rules.SEGMENT_DIMENSIONS),
                "before_start": before_start,
                "after_start": after_start,
                "last": last,
            },
        )
        rows = cursor.fetchall()
    min_sample = int(knobs["min_sample"])
    rows = [row for row in rows if row[2] >= min_sample and row[4] >= min_sample]
    if not rows:
        return []
    won_before = [row[3] for row in rows]
    n_before = [row[2] for row in rows]
    won_after = [row[5] for row in rows]
    n_after = [row[4] for row in rows]
    rate_before, rate_after = stats.rate(won_before, n_before), stats.rate(won_after, n_after)
    low_before, high_before = stats.wilson_interval(won_before, n_before)
    low_after, high_after = stats.wilson_interval(won_after, n_after)
    change_low, change_high = stats.newcombe_difference_interval(
        rate_before=rate_before,
        low_before=low_before,
        high_before=high_before,
        rate_after=rate_after,
        low_after=low_after,
        high_after=high_after,
    )
    p_values = stats.two_proportion_p_value(won_after, n_after, won_before, n_before)
    adjusted = stats.holm_adjust(p_values)
    min_drop = float(knobs["min_drop_pts"]) / 100
    drops = []
    for index, row in enumerate(rows):
        change = float(rate_after[index] - rate_before[index])
        if not (
            change_high[index] < 0 and -change >= min_drop and adjusted[index] < SEGMENT_FAMILY_ERROR_RATE
        ):
            continue
        drops.append(
            rules.SegmentDrop(
                dimension=row[0],
                dimension_label=DIMENSIONS[row[0]].label if row[0] in DIMENSIONS else row[0],
                value=row[1] or "(unknown)",
                n_before=int(row[2]),
                won_before=int(row[3]),
                n_after=int(row[4]),
                won_after=int(row[5]),
                rate_before=float(rate_before[index]),
                rate_after=float(rate_after[index]),
                change_ci_low=float(change_low[index]),
                change_ci_high=float(change_high[index]),
                p_value=float(p_values[index]),
                p_value_adjusted=float(adjusted[index]),
                segments_tested=len(rows),
                before_label=_months_label(before_start, add_months(after_start, -1)),
                after_label=_months_label(after_start, last),
                # Critical when even the interval's optimistic end is a drop of min_drop_pts.
                severity="critical" if -float(change_high[index]) >= min_drop else "warning",
            )
        )
    return drops


def _segment_deterioration_candidates(
    rule: AlertRule, knobs: dict[str, Any], as_of: dt.date
) -> rules.CandidateQuery | str:
    return rules.segment_deterioration_candidates_sql(drops=segment_drops(as_of=as_of, knobs=knobs))


def _score_drop_candidates(
    rule: AlertRule, knobs: dict[str, Any], as_of: dt.date
) -> rules.CandidateQuery | str:
    return rules.score_drop_candidates_sql(tenant_id=require_tenant_id(), as_of=as_of, settings=knobs)


CANDIDATE_BUILDERS: dict[str, CandidateBuilder] = {
    RuleKind.STALL: _stall_candidates,
    RuleKind.SCORE_DROP: _score_drop_candidates,
    RuleKind.CYCLE_BREACH: _cycle_breach_candidates,
    RuleKind.SLIP: _slip_candidates,
    RuleKind.SEGMENT_DETERIORATION: _segment_deterioration_candidates,
}


def _open_deal_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM deals_deal WHERE tenant_id = %s AND status = 'open'", [require_tenant_id()]
        )
        return int(cursor.fetchone()[0])


@transaction.atomic
def alert_checks_run(
    *, as_of: dt.date, kinds: Sequence[str] = rules.DAILY_RULES, now: dt.datetime | None = None
) -> CheckReport:
    """Evaluate ``kinds`` for the active tenant as of ``as_of`` and apply the results.

    Idempotent: a second run with the same data creates nothing and resolves nothing. A rule
    that is switched off is skipped (its alerts stay as they are); a rule with too little data
    to set a threshold resolves its open alerts, since their condition can no longer be shown.
    Returns the per-rule counts.
    """
    now = now or timezone.now()
    tenant_id = require_tenant_id()
    report = CheckReport(tenant_id=tenant_id, as_of=as_of, open_deals=_open_deal_count())
    rules_by_kind = alert_rules_ensure()
    engine.run_deals_start()
    for kind in kinds:
        rule = rules_by_kind[kind]
        if not rule.enabled:
            report.rules.append(engine.RuleOutcome(kind=kind, evaluated=False, note="Switched off."))
            continue
        builder = CANDIDATE_BUILDERS.get(kind)
        if builder is None:
            report.rules.append(engine.RuleOutcome(kind=kind, evaluated=False, note="Not available."))
            continue
        started = time.perf_counter()
        knobs = alert_rule_settings(rule=rule)
        query = builder(rule, knobs, as_of)
        note = ""
        if isinstance(query, str):
            note, query = query, rules.CandidateQuery(sql=_NO_CANDIDATES_SQL, params={})
        outcome = engine.candidates_apply(
            tenant_id=tenant_id,
            rule_id=rule.pk,
            kind=kind,
            cooldown_days=rule.cooldown_days,
            query=query,
            as_of=as_of,
            now=now,
        )
        outcome.note = note
        outcome.seconds = round(time.perf_counter() - started, 3)
        report.rules.append(outcome)
    report.deals_alerted = engine.run_deals_count()
    return report


_NO_CANDIDATES_SQL = (
    "SELECT ''::text, NULL::bigint, ''::text, ''::text, ''::text, ''::text, ''::text, NULL::jsonb WHERE false"
)


# --- what people do with alerts --------------------------------------------------------------


def _act(
    *, alert: Alert, user: AbstractBaseUser | None, action: AlertAction, note: str = "", **changes: Any
) -> Alert:
    now = timezone.now()
    for name, value in changes.items():
        setattr(alert, name, value)
    alert.acted_by = user  # type: ignore[assignment]
    alert.acted_at = now
    alert.save()
    AlertEvent.objects.create(alert=alert, action=action, user=user, at=now, note=note[:500])
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: Alert, user: AbstractBaseUser) -> Alert:
    """Mark an open or snoozed alert as seen by ``user``; it stays until the condition clears."""
    if alert.state == AlertState.RESOLVED:
        raise ValidationError("A resolved alert cannot be acknowledged.")
    return _act(
        alert=alert,
        user=user,
        action=AlertAction.ACKNOWLEDGED,
        state=AlertState.ACKNOWLEDGED,
        snoozed_until=None,
    )


@transaction.atomic
def alert_snooze(*, alert: Alert, user: AbstractBaseUser, until: dt.datetime) -> Alert:
    """Hide the alert until ``until`` (aware datetime in the future); it returns if still true then."""
    if alert.state == AlertState.RESOLVED:
        raise ValidationError("A resolved alert cannot be snoozed.")
    if until <= timezone.now():
        raise ValidationError("Snooze until a time in the future.")
    return _act(
        alert=alert,
        user=user,
        action=AlertAction.SNOOZED,
        note=f"until {until.isoformat()}",
        state=AlertState.SNOOZED,
        snoozed_until=until,
    )


@transaction.atomic
def alert_resolve(*, alert: Alert, user: AbstractBaseUser, note: str = "") -> Alert:
    """Close the alert by hand. The rule's cooldown then keeps it from being raised again at once."""
    if alert.state == AlertState.RESOLVED:
        return alert
    return _act(
        alert=alert,
        user=user,
        action=AlertAction.RESOLVED,
        note=note,
        state=AlertState.RESOLVED,
        resolved_at=timezone.now(),
        resolved_automatically=False,
        snoozed_until=None,
    )


BULK_ACTIONS = ("acknowledge", "snooze", "resolve")


@transaction.atomic
def alert_bulk_act(
    *,
    alert_ids: Sequence[int],
    action: str,
    user: AbstractBaseUser,
    until: dt.datetime | None = None,
) -> int:
    """Apply ``action`` ("acknowledge", "snooze" with ``until``, "resolve") to several alerts.

    Alerts that cannot take the action (already resolved) are skipped. Returns how many changed.
    """
    if action not in BULK_ACTIONS:
        raise ValidationError(f"Unknown action {action!r}.")
    if action == "snooze" and until is None:
        raise ValidationError("Snooze needs a time.")
    changed = 0
    for alert in Alert.objects.filter(pk__in=list(alert_ids)).exclude(state=AlertState.RESOLVED):
        if action == "acknowledge":
            alert_acknowledge(alert=alert, user=user)
        elif action == "snooze":
            alert_snooze(alert=alert, user=user, until=until)  # type: ignore[arg-type]
        else:
            alert_resolve(alert=alert, user=user)
        changed += 1
    return changed


# --- digest preferences ----------------------------------------------------------------------


def digest_preference_set(*, user: AbstractBaseUser, frequency: str) -> DigestPreference:
    """Set ``user``'s digest frequency in the active tenant (daily, weekly or off)."""
    if frequency not in DigestFrequency.values:
        raise ValidationError({"frequency": f"Choose one of {', '.join(DigestFrequency.values)}."})
    preference, _ = DigestPreference.objects.update_or_create(user=user, defaults={"frequency": frequency})
    return preference


# --- the tenant's webhook --------------------------------------------------------------------


@transaction.atomic
def webhook_set(*, url: str, enabled: bool = True, min_severity: str = Severity.WARNING) -> WebhookEndpoint:
    """Create or change the tenant's webhook (one per tenant); a new one gets a fresh secret.

    Raises ValidationError for a URL that is not http(s), that points (or resolves) to an
    address the webhook may not reach (private, loopback, link-local, ...; see
    alerts.webhook_targets), or an unknown severity.
    """
    endpoint = WebhookEndpoint.objects.first() or WebhookEndpoint(secret=new_webhook_secret())
    endpoint.url = url
    endpoint.enabled = enabled
    endpoint.min_severity = min_severity
    endpoint.full_clean(exclude=["tenant"])
    try:
        webhook_url_check(url)
    except WebhookTargetRefused as error:
        raise ValidationError({"url": str(error)}) from error
    endpoint.save()
    return endpoint


@transaction.atomic
def webhook_secret_rotate() -> WebhookEndpoint:
    """Give the tenant's webhook a new signing secret (the old one stops verifying at once)."""
    endpoint = WebhookEndpoint.objects.get()
    endpoint.secret = new_webhook_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


def webhook_delete() -> None:
    WebhookEndpoint.objects.all().delete()
