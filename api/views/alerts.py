"""/api/v1/alerts: list and filter alerts, one alert with its history, acknowledge / snooze / resolve.

Reads go through alerts.selectors and actions through alerts.services, as the inbox does.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.models import Alert, AlertAction, AlertEvent, AlertState, RuleKind, Severity
from alerts.selectors import alert_events, alert_get, alert_list
from alerts.services import alert_acknowledge, alert_resolve, alert_snooze
from api.exceptions import Conflict
from api.pagination import NewestFirstCursorPagination
from api.serializers import StrictCharField, StrictSerializer
from api.views.base import BodyLimitMixin, query_params_validate

ALERT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The alert's id.")


class AlertSerializer(serializers.ModelSerializer):
    deal_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The deal's id, for deal alerts (GET /deals/{id})."
    )
    deal_crm_id = serializers.CharField(
        source="deal.crm_id", read_only=True, allow_null=True, default=None, help_text="The deal's CRM id."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "severity",
            "state",
            "title",
            "summary",
            "evidence",
            "deal_id",
            "deal_crm_id",
            "segment_dimension",
            "segment_value",
            "raised_on",
            "created_at",
            "snoozed_until",
            "acted_at",
            "resolved_at",
            "resolved_automatically",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "id": {"help_text": "The alert's id."},
            "kind": {"help_text": "The rule that raised it."},
            "severity": {"help_text": "info, warning or critical."},
            "state": {"help_text": "open, acknowledged, snoozed or resolved."},
            "title": {"help_text": "One line."},
            "summary": {"help_text": "The evidence in words."},
            "evidence": {"help_text": "The numbers that triggered it."},
            "segment_dimension": {"help_text": "For segment alerts: the dimension (e.g. region)."},
            "segment_value": {"help_text": "For segment alerts: the segment (e.g. Europe)."},
            "raised_on": {"help_text": "As-of date of the check that raised it."},
            "created_at": {"help_text": "When it was raised."},
            "snoozed_until": {"help_text": "While snoozed: when it comes back."},
            "acted_at": {"help_text": "Last acknowledge / snooze / resolve."},
            "resolved_at": {"help_text": "When it was resolved."},
            "resolved_automatically": {"help_text": "Resolved by a check because the condition cleared."},
        }


class AlertEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertEvent
        fields = ["action", "at", "note"]
        read_only_fields = fields
        extra_kwargs = {
            "action": {"help_text": "acknowledged, snoozed, resolved or reopened."},
            "at": {"help_text": "When."},
            "note": {"help_text": "Free text (e.g. the snooze end)."},
        }


class AlertDetailSerializer(AlertSerializer):
    events = AlertEventSerializer(many=True, read_only=True, help_text="What people did, oldest first.")

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "events"]
        read_only_fields = fields


class AlertQuerySerializer(serializers.Serializer):
    state = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertState.choices),
        required=False,
        help_text="Repeatable. Default: open and acknowledged (the inbox).",
    )
    kind = serializers.ListField(
        child=serializers.ChoiceField(choices=RuleKind.choices), required=False, help_text="Repeatable."
    )
    severity = serializers.ListField(
        child=serializers.ChoiceField(choices=Severity.choices), required=False, help_text="Repeatable."
    )
    deal = serializers.IntegerField(
        required=False, min_value=1, help_text="Only this deal's alerts (deal id)."
    )
    raised_since = serializers.DateField(required=False, help_text="Raised on or after this date.")


class SnoozeSerializer(StrictSerializer):
    until = serializers.DateTimeField(help_text="When the alert comes back, in the future (ISO 8601).")


class ResolveSerializer(StrictSerializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=500, help_text="Why (optional).")


def _user(request: Request) -> Any:
    """The person acting, or None for an API key (the alert records no actor then)."""
    return request.user if getattr(request.user, "pk", None) else None


class AlertListView(BodyLimitMixin, GenericAPIView):
    serializer_class = AlertSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="alerts_list",
        summary="List alerts",
        description="Newest first, a page at a time (follow `next`). Without `state`: open and "
        "acknowledged alerts, like the inbox.",
        parameters=[AlertQuerySerializer],
        responses={200: AlertSerializer(many=True)},
        tags=["alerts"],
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(AlertQuerySerializer, request)
        alerts = alert_list(
            states=params.get("state"),
            kinds=params.get("kind"),
            severities=params.get("severity"),
            deal_id=params.get("deal"),
            raised_since=params.get("raised_since"),
        )
        page = self.paginate_queryset(alerts)
        return self.get_paginated_response(AlertSerializer(page, many=True).data)


class AlertDetailView(BodyLimitMixin, GenericAPIView):
    serializer_class = AlertDetailSerializer

    @extend_schema(
        operation_id="alerts_retrieve",
        summary="Retrieve an alert",
        description="One alert with its history.",
        parameters=[ALERT_ID],
        tags=["alerts"],
    )
    def get(self, request: Request, pk: int) -> Response:
        alert = _alert(pk)
        data = dict(AlertSerializer(alert).data)
        data["events"] = AlertEventSerializer(alert_events(alert=alert), many=True).data
        return Response(data)


def _alert(pk: int) -> Alert:
    try:
        return alert_get(alert_id=pk)
    except Alert.DoesNotExist as error:
        raise Http404 from error


def _refuse_if_resolved(alert: Alert, action: str) -> None:
    if alert.state == AlertState.RESOLVED:
        raise Conflict(f"The alert is resolved; it cannot be {action}.")


class AlertAcknowledgeView(BodyLimitMixin, GenericAPIView):
    serializer_class = AlertSerializer

    @extend_schema(
        operation_id="alerts_acknowledge",
        summary="Acknowledge an alert",
        description="Seen: it stays in the inbox until the condition clears. A resolved alert is a 409.",
        parameters=[ALERT_ID],
        request=None,
        responses={200: AlertSerializer},
        tags=["alerts"],
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = _alert(pk)
        _refuse_if_resolved(alert, AlertAction.ACKNOWLEDGED.value)
        return Response(AlertSerializer(alert_acknowledge(alert=alert, user=_user(request))).data)


class AlertSnoozeView(BodyLimitMixin, GenericAPIView):
    serializer_class = AlertSerializer

    @extend_schema(
        operation_id="alerts_snooze",
        summary="Snooze an alert",
        description="Hidden until `until`; it returns then if the condition still holds. "
        "A resolved alert is a 409; a time not in the future is a 422.",
        parameters=[ALERT_ID],
        request=SnoozeSerializer,
        responses={200: AlertSerializer},
        examples=[OpenApiExample("A week", value={"until": "2024-07-08T09:00:00Z"}, request_only=True)],
        tags=["alerts"],
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = _alert(pk)
        payload = SnoozeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        _refuse_if_resolved(alert, AlertAction.SNOOZED.value)
        if payload.validated_data["until"] <= timezone.now():
            raise serializers.ValidationError({"until": ["Snooze until a time in the future."]})
        snoozed = alert_snooze(alert=alert, user=_user(request), until=payload.validated_data["until"])
        return Response(AlertSerializer(snoozed).data)


class AlertResolveView(BodyLimitMixin, GenericAPIView):
    serializer_class = AlertSerializer

    @extend_schema(
        operation_id="alerts_resolve",
        summary="Resolve an alert",
        description="Closed by hand; the rule's cooldown keeps it from returning at once. Idempotent.",
        parameters=[ALERT_ID],
        request=ResolveSerializer,
        responses={200: AlertSerializer},
        tags=["alerts"],
    )
    def post(self, request: Request, pk: int) -> Response:
        alert = _alert(pk)
        payload = ResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        resolved = alert_resolve(
            alert=alert, user=_user(request), note=payload.validated_data.get("note", "")
        )
        return Response(AlertSerializer(resolved).data)
