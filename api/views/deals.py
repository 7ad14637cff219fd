"""/api/v1/deals: list, retrieve, create, partial update and bulk upsert by CRM id.

Writes go through deals.services, the same validation and upsert engine as the CSV import.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.exceptions import Conflict, PayloadTooLarge, Unprocessable
from api.filters import DealFilter, QueryFilterBackend, TiebreakOrderingFilter
from api.pagination import ApiCursorPagination
from api.selectors import current_scores_by_deal
from api.serializers import (
    BulkUpsertResultSerializer,
    BulkUpsertSerializer,
    DealCreateSerializer,
    DealSerializer,
    DealUpdateSerializer,
)
from api.services import rep_for_crm_id
from api.views.base import BodyLimitMixin
from deals.models import Deal
from deals.services import deal_create, deal_update, deals_upsert_records

DEAL_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description="The deal's `id` (ours, not the CRM's)."
)
DEAL_ORDERING_FIELDS = ["crm_id", "updated_at", "created_date", "expected_close_date", "amount", "id"]
# The largest body a bulk upsert of the maximum size plausibly needs; bigger is a 413.
BULK_MAX_BODY_BYTES = 64 * 1024 * 1024

CREATE_EXAMPLE = {
    "crm_id": "D00042",
    "name": "Globex expansion",
    "created_date": "2024-03-01",
    "stage": "Demo",
    "amount": "48000.00",
    "rep_crm_id": "rep_7",
    "industry": "SaaS",
    "region": "Europe",
    "product_type": "Enterprise",
    "lead_source": "Referral",
}


def deal_queryset(view: Any) -> QuerySet[Deal]:
    if getattr(view, "swagger_fake_view", False):
        # Schema generation runs outside any tenant; it only needs the model.
        return Deal.unscoped.none()
    return Deal.objects.select_related("rep")


def _deal_fields(validated: dict[str, Any]) -> dict[str, Any]:
    """Serializer data → deal service keyword arguments (the rep named by CRM id becomes a Rep)."""
    fields = dict(validated)
    if "rep_crm_id" in fields:
        fields["rep"] = rep_for_crm_id(crm_id=fields.pop("rep_crm_id"), name=fields.pop("rep_name", ""))
    fields.pop("rep_name", None)
    return fields


@extend_schema_view(
    get=extend_schema(
        operation_id="deals_list",
        summary="List deals",
        description=(
            "The tenant's deals, a page at a time (cursor pagination: follow `next`). Filters combine "
            "with AND. `ordering` takes one of "
            + ", ".join(f"`{f}`" for f in DEAL_ORDERING_FIELDS)
            + " (prefix `-` for descending; default `crm_id`); `crm_id` and `updated_at` are "
            "index-backed and fastest on large tenants. To sync changes, poll with "
            "`updated_since` and `ordering=updated_at`."
        ),
        tags=["deals"],
    ),
    post=extend_schema(
        operation_id="deals_create",
        summary="Create a deal",
        description="Validated exactly like an imported row. A CRM id already in use is a 409; "
        "to create-or-update use the bulk upsert.",
        request=DealCreateSerializer,
        responses={201: DealSerializer},
        examples=[OpenApiExample("Open deal", value=CREATE_EXAMPLE, request_only=True)],
        tags=["deals"],
    ),
)
class DealListView(BodyLimitMixin, ListAPIView):
    serializer_class = DealSerializer
    pagination_class = ApiCursorPagination
    filter_backends = [QueryFilterBackend, TiebreakOrderingFilter]
    filterset_class = DealFilter
    ordering_fields = DEAL_ORDERING_FIELDS
    ordering = ["crm_id"]

    def get_queryset(self) -> Any:
        return deal_queryset(self)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        # One query for the page's scores instead of one per deal.
        scores = current_scores_by_deal(deal_ids=[deal.pk for deal in page])
        return self.get_paginated_response(DealSerializer(page, many=True, context={"scores": scores}).data)

    def post(self, request: Request) -> Response:
        payload = DealCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = _deal_fields(payload.validated_data)
        with transaction.atomic():
            if Deal.objects.filter(crm_id=fields["crm_id"].strip()).exists():
                raise Conflict(f"A deal with CRM id {fields['crm_id']!r} already exists.")
            deal = deal_create(source="api", **fields)
        return Response(
            DealSerializer(deal_queryset(self).get(pk=deal.pk)).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="deals_retrieve",
        summary="Retrieve a deal",
        description="One deal by our `id` (find it by CRM id with `GET /deals?crm_id=…`).",
        parameters=[DEAL_ID],
        tags=["deals"],
    ),
    patch=extend_schema(
        operation_id="deals_partial_update",
        summary="Update a deal",
        description="Change the fields sent; the rest stay. A stage change is recorded in the "
        "deal's stage history, dated `stage_entered_date` or today. The CRM id cannot change.",
        parameters=[DEAL_ID],
        request=DealUpdateSerializer,
        responses={200: DealSerializer},
        examples=[OpenApiExample("Move stage", value={"stage": "Proposal"}, request_only=True)],
        tags=["deals"],
    ),
)
class DealDetailView(BodyLimitMixin, GenericAPIView):
    serializer_class = DealSerializer

    def get_queryset(self) -> Any:
        return deal_queryset(self)

    def get(self, request: Request, pk: int) -> Response:
        return Response(DealSerializer(self.get_object()).data)

    def patch(self, request: Request, pk: int) -> Response:
        deal = self.get_object()
        payload = DealUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            deal_update(deal=deal, source="api", **_deal_fields(payload.validated_data))
        return Response(DealSerializer(deal_queryset(self).get(pk=deal.pk)).data)


class DealBulkUpsertView(BodyLimitMixin, GenericAPIView):
    max_body_bytes = BULK_MAX_BODY_BYTES
    serializer_class = BulkUpsertSerializer

    @extend_schema(
        operation_id="deals_bulk_upsert",
        summary="Bulk upsert deals by CRM id",
        description=(
            "Create or update up to 10,000 deals in one call, matched by `crm_id`; the same engine as "
            "the CSV import. All or nothing: if any item is invalid nothing is written and the 422 "
            'lists every problem (first 100) as `errors["deals[<index>].<field>"]`. More than '
            "10,000 items is a 413. Fields no item carries are left unchanged on known deals."
        ),
        request=BulkUpsertSerializer,
        responses={200: BulkUpsertResultSerializer},
        examples=[
            OpenApiExample(
                "Two deals",
                value={
                    "deals": [
                        CREATE_EXAMPLE,
                        {"crm_id": "D00007", "status": "won", "closed_date": "2024-04-30", "stage": "Closed"},
                    ]
                },
                request_only=True,
            ),
            OpenApiExample(
                "Result",
                value={"created": 1, "updated": 1, "unchanged": 0, "import_run_id": 311},
                response_only=True,
            ),
        ],
        tags=["deals"],
    )
    def post(self, request: Request) -> Response:
        body = request.data
        items = body.get("deals") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise Unprocessable(errors={"deals": ["Send an object with `deals`: a list of deal objects."]})
        unknown = sorted(set(body) - {"deals"})
        if unknown:
            raise Unprocessable(errors={name: ["Unknown field."] for name in unknown})
        limit = settings.API_BULK_MAX_ITEMS
        if len(items) > limit:
            raise PayloadTooLarge(f"{len(items)} deals sent; at most {limit} per request.")
        user = request.user if getattr(request.user, "pk", None) else None
        result = deals_upsert_records(records=items, source="api", user=user)
        if result.errors:
            errors: dict[str, list[str]] = {}
            for error in result.errors:
                key = "deals" if error["index"] is None else f"deals[{error['index']}]"
                key = f"{key}.{error['field']}" if error["field"] else key
                errors.setdefault(key, []).append(error["reason"])
            raise Unprocessable(
                f"{result.rejected or len(errors)} deal(s) are invalid; nothing was written.", errors=errors
            )
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "import_run_id": result.import_run_id,
            }
        )
