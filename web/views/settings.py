"""Admin → API keys, alert rules, next actions and the quarterly quota; and every member's own
digest preference."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from alerts import rules as alert_rules
from alerts.models import AlertRule, DigestFrequency, Severity, WebhookEndpoint
from alerts.selectors import alert_rule_list, digest_frequency_for, webhook_get
from alerts.services import (
    alert_rule_settings,
    alert_rule_update,
    digest_preference_set,
    webhook_delete,
    webhook_secret_rotate,
    webhook_set,
)
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from scoring.drivers import FEATURE_NAMES
from scoring.selectors import next_action_rule_rows
from scoring.services import NEXT_ACTION_MAX_LENGTH, next_action_rule_delete, next_action_rule_set
from tenants.quota import tenant_quota_set
from web.decorators import tenant_admin_required, tenant_required
from web.forms import ApiKeyForm
from web.rendering import render_page


def _keys_context(form: ApiKeyForm | None = None, created: Any = None) -> dict[str, Any]:
    return {
        "tab": "keys",
        "keys": ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at"),
        "form": form or ApiKeyForm(),
        "created": created,
    }


@tenant_admin_required
def api_keys(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render_page(request, "web/admin/api_keys.html", _keys_context())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return render_page(request, "web/admin/api_keys.html", _keys_context(form), status=400)
    created = api_key_create(
        name=form.cleaned_data["name"],
        scope=form.cleaned_data["scope"],
        created_by=request.user,  # type: ignore[arg-type]
    )
    # The plaintext exists only in this response: it is rendered, never stored or redirected.
    response = render_page(request, "web/admin/api_keys.html", _keys_context(created=created))
    response["Cache-Control"] = "no-store"
    return response


@tenant_admin_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked the key “{api_key.name}” ({api_key.key_prefix}…).")
    return redirect("settings_api_keys")


def _rule_rows() -> list[dict[str, Any]]:
    rows = []
    for rule in alert_rule_list():
        spec = alert_rules.RULE_SPECS[rule.kind]
        values = alert_rule_settings(rule=rule)
        rows.append(
            {
                "rule": rule,
                "spec": spec,
                "thresholds": [
                    {"threshold": threshold, "value": values.get(threshold.name, threshold.default)}
                    for threshold in spec.thresholds
                ],
            }
        )
    return rows


@tenant_admin_required
def alert_rules_view(request: HttpRequest) -> HttpResponse:
    context = {
        "tab": "rules",
        "rows": _rule_rows(),
        "webhook": webhook_get(),
        "severities": Severity.choices,
    }
    return render_page(request, "web/admin/alert_rules.html", context)


@tenant_admin_required
@require_POST
def webhook_save(request: HttpRequest) -> HttpResponse:
    """Set, rotate the secret of, or remove the tenant's Slack-compatible webhook."""
    action = request.POST.get("action", "save")
    try:
        if action == "delete":
            webhook_delete()
            messages.success(request, "Removed the webhook.")
        elif action == "rotate":
            webhook_secret_rotate()
            messages.success(request, "The webhook has a new signing secret; update the receiver.")
        else:
            webhook_set(
                url=request.POST.get("url", "").strip(),
                enabled=request.POST.get("enabled") == "on",
                min_severity=request.POST.get("min_severity", Severity.WARNING),
            )
            messages.success(request, "Saved the webhook.")
    except (ValidationError, WebhookEndpoint.DoesNotExist) as problem:
        text = " ".join(problem.messages) if isinstance(problem, ValidationError) else "No webhook yet."
        messages.error(request, f"Webhook: {text}")
    return redirect("settings_alert_rules")


@tenant_admin_required
@require_POST
def alert_rule_save(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    spec = alert_rules.RULE_SPECS[rule.kind]
    thresholds = {t.name: request.POST[t.name] for t in spec.thresholds if t.name in request.POST}
    try:
        alert_rule_update(
            rule=rule,
            user=request.user,  # type: ignore[arg-type]
            enabled=request.POST.get("enabled") == "on",
            thresholds=thresholds,
            cooldown_days=int(request.POST.get("cooldown_days", rule.cooldown_days)),
        )
    except (ValidationError, ValueError) as problem:
        text = " ".join(problem.messages) if isinstance(problem, ValidationError) else "Enter whole days."
        messages.error(request, f"{spec.label}: {text}")
    else:
        messages.success(request, f"Saved “{spec.label}”.")
    return redirect("settings_alert_rules")


def _next_actions_page(request: HttpRequest, *, error: tuple[str, str, str] | None = None) -> HttpResponse:
    """``error``: (feature, the words the admin sent, the message) to show in that row."""
    context = {
        "tab": "actions",
        "rows": next_action_rule_rows(),
        "max_length": NEXT_ACTION_MAX_LENGTH,
        "error": error,
    }
    return render_page(request, "web/admin/next_actions.html", context, status=400 if error else 200)


def _driver_feature(feature: str) -> str:
    if feature not in FEATURE_NAMES:
        raise Http404("No such driver.")
    return feature


@tenant_admin_required
def next_actions(request: HttpRequest) -> HttpResponse:
    """The recommended next action shown on a deal for each driver that lowers its score."""
    return _next_actions_page(request)


@tenant_admin_required
@require_POST
def next_action_save(request: HttpRequest, feature: str) -> HttpResponse:
    """Replace a driver's recommended action with the tenant's own, or switch it off."""
    feature = _driver_feature(feature)
    action = request.POST.get("action", "")
    try:
        next_action_rule_set(
            feature=feature,
            action=action,
            enabled=request.POST.get("enabled") == "on",
            user=request.user,
        )
    except ValidationError as problem:
        return _next_actions_page(request, error=(feature, action, " ".join(problem.messages)))
    messages.success(request, f"Saved the next action for {FEATURE_NAMES[feature]}.")
    return redirect("settings_next_actions")


@tenant_admin_required
@require_POST
def next_action_reset(request: HttpRequest, feature: str) -> HttpResponse:
    """Drop the tenant's own action for a driver: the default applies again."""
    feature = _driver_feature(feature)
    next_action_rule_delete(feature=feature)
    messages.success(request, f"The next action for {FEATURE_NAMES[feature]} is the default again.")
    return redirect("settings_next_actions")


@tenant_admin_required
def quota(request: HttpRequest) -> HttpResponse:
    """The tenant's quarterly bookings quota (its currency): the briefing and digest forecast
    against it. Blank clears it; every change is audited."""
    tenant = request.tenant  # type: ignore[attr-defined]
    error = None
    value = request.POST.get("quota", "") if request.method == "POST" else None
    if request.method == "POST":
        try:
            tenant_quota_set(tenant=tenant, quota=value, user=request.user)  # type: ignore[arg-type]
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            saved = tenant.quarterly_quota
            messages.success(
                request,
                f"Saved the quarterly quota: {saved:,.0f} {tenant.currency}."
                if saved is not None
                else "Cleared the quarterly quota.",
            )
            return redirect("settings_quota")
    context = {"tab": "quota", "quota": tenant.quarterly_quota, "value": value, "error": error}
    return render_page(request, "web/admin/quota.html", context, status=400 if error else 200)


@tenant_required
def digest_preference(request: HttpRequest) -> HttpResponse:
    """Every member chooses their own digest frequency (or unsubscribes) for this tenant."""
    if request.method == "POST":
        try:
            digest_preference_set(user=request.user, frequency=request.POST.get("frequency", ""))  # type: ignore[arg-type]
        except ValidationError as problem:
            messages.error(request, " ".join(problem.messages))
        else:
            messages.success(request, "Saved your digest preference.")
        return redirect("account_digest")
    context = {
        "current": digest_frequency_for(user=request.user),  # type: ignore[arg-type]
        "choices": DigestFrequency.choices,
    }
    return render_page(request, "web/account_digest.html", context)
