"""Query-parameter filters. A bad parameter value is a 400 with the parameter named in ``errors``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import FloatField, QuerySet
from django.db.models.functions import Cast
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request

from api.exceptions import InvalidRequest, flatten_errors
from deals.models import Deal, DealStatus
from scoring.models import Band


class QueryFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            # django-filter ignores an empty value; for a number or a time it is a client error.
            empty = {
                name: ["Must not be empty."]
                for name, declared in filterset_class.base_filters.items()
                if not isinstance(declared, django_filters.CharFilter | django_filters.MultipleChoiceFilter)
                and request.query_params.get(name) == ""
            }
            if empty:
                raise InvalidRequest("A query parameter is not valid.", errors=empty)
        try:
            return super().filter_queryset(request, queryset, view)
        except ValidationError as error:
            errors = flatten_errors(error.detail)
            raise InvalidRequest("A query parameter is not valid.", errors=errors) from error


class TiebreakOrderingFilter(OrderingFilter):
    """Ordering by a non-unique field adds the primary key, so pages never repeat or skip rows."""

    def remove_invalid_fields(
        self, queryset: QuerySet, fields: list[str], view: Any, request: Request
    ) -> list[str]:
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        if len(valid) != len(fields):
            allowed = ", ".join(getattr(view, "ordering_fields", []))
            message = f"Order by one of {allowed}, optionally prefixed with '-'."
            raise InvalidRequest(message, errors={self.ordering_param: [message]})
        return valid

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str]:
        raw = request.query_params.get(self.ordering_param)
        if raw is not None and (raw == "" or "," in raw):
            message = "Give one field to order by, optionally prefixed with '-'."
            raise InvalidRequest(message, errors={self.ordering_param: [message]})
        ordering = list(super().get_ordering(request, queryset, view) or [])
        if not any(field.lstrip("-") in {"id", "pk"} for field in ordering):
            ordering.append("-id" if ordering and ordering[0].startswith("-") else "id")
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", []))
        choices = [prefix + field for field in fields for prefix in ("", "-")]
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort order: a field name, `-` first for descending.",
                "schema": {"type": "string", "enum": choices},
            }
        ]


# The largest amount a deal can hold (16 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("99999999999999.99")


def amount_filter_schema(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT), "description": description}


# Below 2**44 two amounts a cent apart are more than two doubles apart, so comparing amounts as
# double precision gives exactly the numeric comparison's answer (see AmountFilter).
EXACT_AS_FLOAT_BELOW = Decimal(2**44)


class AmountFilter(django_filters.NumberFilter):
    """Amount ≥ / ≤ a value, compared as ``amount::float8`` whenever that is exact.

    Under row-level security PostgreSQL uses column statistics only for leakproof operators,
    and numeric comparisons are not leakproof: ``amount BETWEEN …`` is estimated at a few rows
    whatever the range, and a 20 % range walked the tenant's whole index (1.6 s at 1M deals).
    double precision comparisons are leakproof, and the statistics ``deal_amount_float`` (deals
    migration 0004) describe ``amount::float8``, so the planner sees the range's real share
    and walks the list's order index instead. Rounding to double is monotonic, and below
    ``EXACT_AS_FLOAT_BELOW`` amounts (two decimals) a cent apart stay distinct, so the result
    is the same as the numeric comparison; larger or finer values compare as numeric.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", Decimal(0))
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: Decimal | None) -> QuerySet:
        if value is None or value >= EXACT_AS_FLOAT_BELOW or value != value.quantize(Decimal("0.01")):
            return super().filter(qs, value)
        lookup = f"{self.field_name}_as_float__{self.lookup_expr}"
        as_float = Cast(self.field_name, FloatField())
        return qs.alias(**{f"{self.field_name}_as_float": as_float}).filter(**{lookup: float(value)})


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 time in any offset, compared in UTC.

    PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows, so the value is converted
    first; a time whose UTC equivalent falls outside year 1–9999 is clamped to that range.
    """

    def filter(self, qs: QuerySet, value: dt.datetime | None) -> QuerySet:
        if value is not None:
            try:
                value = value.astimezone(dt.UTC)
            except OverflowError:
                value = dt.datetime.min if value.year == 1 else dt.datetime.max
                value = value.replace(tzinfo=dt.UTC)
        return super().filter(qs, value)


class DealFilter(django_filters.FilterSet):
    crm_id = django_filters.CharFilter(help_text="The CRM's deal id (exact).")
    # distinct=False: each filter matches a deal at most once, and DISTINCT would cost a sort.
    status = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=DealStatus.choices,
        help_text="open, won or lost; repeat the parameter for several.",
    )
    stage = django_filters.CharFilter(help_text="Current stage (exact, case-sensitive).")
    rep = django_filters.CharFilter(field_name="rep__crm_id", help_text="The rep's CRM id.")
    industry = django_filters.CharFilter(help_text="Segment: industry (exact).")
    region = django_filters.CharFilter(help_text="Segment: region (exact).")
    product_type = django_filters.CharFilter(help_text="Segment: product type (exact).")
    lead_source = django_filters.CharFilter(help_text="Segment: lead source (exact).")
    amount_min = extend_schema_field(amount_filter_schema("Amount ≥ this."))(
        AmountFilter(field_name="amount", lookup_expr="gte")
    )
    amount_max = extend_schema_field(amount_filter_schema("Amount ≤ this."))(
        AmountFilter(field_name="amount", lookup_expr="lte")
    )
    band = django_filters.MultipleChoiceFilter(
        distinct=False,
        field_name="current_scores__band",
        choices=Band.choices,
        help_text="Current risk band (low, medium, high, critical); repeatable. Unscored deals never match.",
    )
    updated_since = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="Only deals changed at or after this ISO 8601 time (e.g. 2024-05-01T00:00:00Z).",
    )

    class Meta:
        model = Deal
        fields: list[str] = []
