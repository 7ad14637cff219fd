"""/api/v1/deals: list, retrieve, create, partial update and bulk upsert by CRM id."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView

from api.filters import DealFilter, QueryFilterBackend, TiebreakOrderingFilter
from api.pagination import ApiCursorPagination
from api.serializers import DealSerializer
from api.views.base import BodyLimitMixin
from deals.models import Deal

DEAL_ID = OpenApiParameter(
    "id", int, OpenApiParameter.PATH, description="The deal's `id` (ours, not the CRM's)."
)
DEAL_ORDERING_FIELDS = ["crm_id", "updated_at", "created_date", "expected_close_date", "amount", "id"]


def deal_queryset(view: Any) -> QuerySet[Deal]:
    if getattr(view, "swagger_fake_view", False):
        # Schema generation runs outside any tenant; it only needs the model.
        return Deal.unscoped.none()
    return Deal.objects.select_related("rep")


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
    )
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


@extend_schema_view(
    get=extend_schema(
        operation_id="deals_retrieve",
        summary="Retrieve a deal",
        description="One deal by our `id` (find it by CRM id with `GET /deals?crm_id=…`).",
        parameters=[DEAL_ID],
        tags=["deals"],
    )
)
class DealDetailView(BodyLimitMixin, RetrieveAPIView):
    serializer_class = DealSerializer

    def get_queryset(self) -> Any:
        return deal_queryset(self)
