"""Alerts inbox: filter by rule, state and severity; acknowledge, snooze and resolve inline or
in bulk (managers and admins); everyone may read."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts import services as alert_services
from alerts.models import Alert, RuleKind, Severity
from alerts.selectors import alert_counts, alert_get, alert_list
from web.decorators import tenant_manager_required, tenant_required
from web.forms import SNOOZE_DAYS, AlertActionForm, AlertFilterForm
from web.navigation import role_at_least
from web.rendering import render_page, wants_fragment

PAGE_SIZE = 50


def _can_act(request: HttpRequest) -> bool:
    return role_at_least(getattr(request.membership, "role", None), "manager")  # type: ignore[attr-defined]


def _inbox_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    """The inbox for the filters in ``params`` (the query string, or a bulk form's echo of it)."""
    filters = AlertFilterForm(params).values()
    alerts = alert_list(
        states=[filters["state"]] if filters["state"] else None,
        kinds=[filters["kind"]] if filters["kind"] in RuleKind.values else None,
        severities=[filters["severity"]] if filters["severity"] in Severity.values else None,
        search=filters["q"],
        by_deal=True,
    )
    page = max(filters["page"], 1)
    offset = (page - 1) * PAGE_SIZE
    # One row more than a page tells whether a next page exists without counting every alert.
    rows = list(alerts[offset : offset + PAGE_SIZE + 1])
    kept = {key: value for key, value in filters.items() if value and key != "page"}
    return {
        "filters": filters,
        "filter_query": urlencode(kept),
        "alerts": rows[:PAGE_SIZE],
        "page": page,
        "has_next": len(rows) > PAGE_SIZE,
        "counts": alert_counts(),
        "kinds": RuleKind.choices,
        "severities": Severity.choices,
        "states": AlertFilterForm.base_fields["state"].choices,  # type: ignore[attr-defined]
        "snooze_days": SNOOZE_DAYS,
        "can_act": _can_act(request),
    }


@tenant_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/alerts.html", _inbox_context(request, request.GET), fragment="inbox")


def _apply(alert: Alert, *, action: str, days: int | None, request: HttpRequest) -> None:
    user = request.user
    if action == "acknowledge":
        alert_services.alert_acknowledge(alert=alert, user=user)  # type: ignore[arg-type]
    elif action == "snooze":
        until = timezone.now() + dt.timedelta(days=days or 1)
        alert_services.alert_snooze(alert=alert, user=user, until=until)  # type: ignore[arg-type]
    else:
        alert_services.alert_resolve(alert=alert, user=user)  # type: ignore[arg-type]


@tenant_manager_required
@require_POST
def alert_act(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert's action; an HTMX request gets the updated row back, a form post a redirect."""
    try:
        alert = alert_get(alert_id=pk)
    except Alert.DoesNotExist as missing:
        raise Http404("No such alert.") from missing
    form = AlertActionForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            _apply(alert, action=form.cleaned_data["action"], days=form.cleaned_data["days"], request=request)
        except ValidationError as problem:
            error = " ".join(problem.messages)
        alert = alert_get(alert_id=pk)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if wants_fragment(request):
        context = {"alert": alert, "can_act": True, "snooze_days": SNOOZE_DAYS, "row_error": error}
        return render_page(
            request, "web/alerts.html", context, fragment="alert-row", status=400 if error else 200
        )
    if error:
        messages.error(request, error)
    return redirect("alerts")


@tenant_manager_required
@require_POST
def alerts_bulk(request: HttpRequest) -> HttpResponse:
    """The same action on every ticked alert; answers with the refreshed inbox."""
    ids = [int(value) for value in request.POST.getlist("alert") if value.isdigit()]
    form = AlertActionForm(request.POST, alert_ids=ids)
    if not ids:
        messages.warning(request, "Tick at least one alert first.")
    elif form.is_valid():
        days = form.cleaned_data["days"]
        try:
            changed = alert_services.alert_bulk_act(
                alert_ids=form.cleaned_data["alert"],
                action=form.cleaned_data["action"],
                user=request.user,  # type: ignore[arg-type]
                until=timezone.now() + dt.timedelta(days=days) if days else None,
            )
        except ValidationError as problem:
            messages.error(request, " ".join(problem.messages))
        else:
            messages.success(request, f"{changed} alert{'s' if changed != 1 else ''} updated.")
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    if wants_fragment(request):
        return render_page(
            request, "web/alerts.html", _inbox_context(request, request.POST), fragment="inbox"
        )
    query = _inbox_context(request, request.POST)["filter_query"]
    return redirect(reverse("alerts") + (f"?{query}" if query else ""))
