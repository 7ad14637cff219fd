"""/api/v1/insights: the win-rate diagnosis, segment metrics and rep win rates (read-only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.views.base import BodyLimitMixin, query_params_validate
from insights import selectors as insight_selectors
from insights.periods import Compare, PeriodKind, periods_compared
from insights.services import diagnose

# Dates outside this window are refused (400) rather than fed to period arithmetic.
EARLIEST_AS_OF = dt.date(1970, 1, 1)
LATEST_AS_OF = dt.date(2199, 12, 31)


@extend_schema_field(
    {"type": "string", "format": "date", "pattern": r"^(19[7-9][0-9]|2[01][0-9][0-9])-[0-9]{2}-[0-9]{2}$"}
)
class AnalysisDateField(serializers.DateField):
    """A YYYY-MM-DD date from 1970 to 2199 (the schema says so, for generated clients)."""

    def to_internal_value(self, value: Any) -> dt.date:
        day = super().to_internal_value(value)
        if not EARLIEST_AS_OF <= day <= LATEST_AS_OF:
            raise serializers.ValidationError(f"Must be between {EARLIEST_AS_OF} and {LATEST_AS_OF}.")
        return day


class PeriodQuerySerializer(serializers.Serializer):
    as_of = AnalysisDateField(
        required=False,
        help_text="Exclusive end of the analysis, YYYY-MM-DD; default today in the tenant's time zone. "
        "Only deals closed before it count.",
    )
    period = serializers.ChoiceField(
        choices=[kind.value for kind in PeriodKind],
        default=PeriodKind.QUARTER.value,
        help_text="Length of the current period: the last complete one before `as_of`.",
    )
    to_date = serializers.BooleanField(
        default=False,
        help_text="Use the period containing `as_of` up to `as_of` instead of the last complete one.",
    )


class DiagnosisQuerySerializer(PeriodQuerySerializer):
    compare = serializers.ChoiceField(
        choices=[choice.value for choice in Compare],
        default=Compare.PREVIOUS.value,
        help_text="Baseline: the previous period or the same period a year earlier.",
    )
    min_sample = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text="Closed deals a segment needs to be ranked or flagged (default: the tenant setting).",
    )


# One dimension, or a pair joined by "+" (either order is accepted; the schema lists one).
DIMENSION_SET_CHOICES = [
    *insight_selectors.SINGLE_DIMENSIONS,
    *("+".join(pair) for pair in insight_selectors.DIMENSION_PAIRS),
]


class SegmentQuerySerializer(PeriodQuerySerializer):
    dimensions = serializers.ListField(
        child=serializers.ChoiceField(choices=DIMENSION_SET_CHOICES),
        required=False,
        help_text="Dimension sets to break down by, repeatable: one dimension (`region`) or a pair "
        "joined by `+` (`industry+region`). Dimensions: "
        + ", ".join(insight_selectors.SINGLE_DIMENSIONS)
        + ". Default: each single dimension.",
    )

    def validate_dimensions(self, value: list[str]) -> list[tuple[str, ...]]:
        return list(dict.fromkeys(tuple(item.split("+")) for item in value))


class DiagnosisSerializer(serializers.Serializer):
    """Documents the diagnosis; the full key reference is docs/insights.md."""

    tenant = serializers.CharField(help_text="The tenant's slug.")
    as_of = serializers.DateField(help_text="Exclusive end of the analysis.")
    period = serializers.DictField(help_text="kind, compare, to_date and the current/baseline/… periods.")
    min_sample = serializers.IntegerField(help_text="Closed deals a segment needs to be ranked or flagged.")
    size_bands = serializers.ListField(
        child=serializers.DictField(), help_text="Deal-size bands: value (label), low, high."
    )
    win_rate = serializers.DictField(
        help_text="Headline win rate: current, previous, year_ago, baseline, change with its "
        "confidence interval and p-value, vs_previous, vs_year_ago."
    )
    weighted_win_rate = serializers.DictField(help_text="The same, weighted by amount.")
    decomposition = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per dimension: how much of the change is mix (segment shares) vs rate (conversion).",
    )
    top_contributors = serializers.ListField(
        child=serializers.DictField(), help_text="Segments ranked by their contribution to the change."
    )
    segments = serializers.ListField(
        child=serializers.DictField(), help_text="Per dimension, each segment's rates and flags."
    )
    reps = serializers.ListField(
        child=serializers.DictField(), help_text="Each rep's raw and shrunk win rate, rank and flag."
    )
    rep_summary = serializers.DictField(help_text="Team rate, prior, top-to-bottom gap, flagged reps.")
    funnel = serializers.DictField(help_text="Losses by last stage reached and stage conversion.")
    sales_cycle = serializers.DictField(help_text="Cycle length of won and lost deals.")
    pipeline = serializers.DictField(help_text="Open pipeline value, raw and weighted by win probability.")
    summary = serializers.ListField(child=serializers.CharField(), help_text="The findings in sentences.")


class SegmentRowSerializer(serializers.Serializer):
    dimension_key = serializers.CharField(help_text="`all`, one dimension, or a pair (`industry+region`).")
    dimensions = serializers.ListField(child=serializers.CharField(), help_text="The dimensions.")
    values = serializers.ListField(child=serializers.CharField(), help_text="The segment's values.")
    value = serializers.CharField(help_text="The values as one label.")
    value_key = serializers.CharField(help_text="Stable JSON key of the values.")
    n = serializers.IntegerField(help_text="Closed deals.")
    won = serializers.IntegerField(help_text="Won deals.")
    win_rate = serializers.FloatField(allow_null=True, help_text="won / n.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95% Wilson interval, low.")
    ci_high = serializers.FloatField(allow_null=True, help_text="95% Wilson interval, high.")
    weighted_win_rate = serializers.FloatField(allow_null=True, help_text="Won amount / closed amount.")
    weighted_ci_low = serializers.FloatField(allow_null=True, help_text="Its 95% interval, low.")
    weighted_ci_high = serializers.FloatField(allow_null=True, help_text="Its 95% interval, high.")
    amount_sum = serializers.FloatField(allow_null=True, help_text="Closed amount.")
    won_amount_sum = serializers.FloatField(allow_null=True, help_text="Won amount.")
    amount_sq_sum = serializers.FloatField(allow_null=True, help_text="Sum of squared amounts.")
    won_amount_sq_sum = serializers.FloatField(allow_null=True, help_text="Same, won deals.")
    avg_amount = serializers.FloatField(allow_null=True, help_text="Mean closed amount.")
    median_amount = serializers.FloatField(allow_null=True, help_text="Median closed amount.")
    median_cycle_won_days = serializers.FloatField(allow_null=True, help_text="Median cycle of won deals.")
    p75_cycle_won_days = serializers.FloatField(allow_null=True, help_text="75th percentile, won deals.")
    median_cycle_lost_days = serializers.FloatField(allow_null=True, help_text="Median cycle of lost deals.")
    below_min_sample = serializers.BooleanField(help_text="Too few deals to rank or flag.")
    p_value = serializers.FloatField(allow_null=True, help_text="Test against the rest of the tenant.")
    p_value_adjusted = serializers.FloatField(allow_null=True, help_text="Holm-adjusted p-value.")
    flag = serializers.CharField(allow_null=True, help_text="`above`, `below`, or null.")


class SegmentListSerializer(serializers.Serializer):
    period = serializers.DictField(help_text="The period whose closed deals are measured.")
    min_sample = serializers.IntegerField(help_text="Closed deals a segment needs to be flagged.")
    segments = SegmentRowSerializer(many=True, help_text="The tenant's row (`all`) first, then the cells.")


class RepListSerializer(serializers.Serializer):
    as_of = serializers.DateField(help_text="Exclusive end of the analysis.")
    period = serializers.DictField(help_text="As in the diagnosis.")
    min_sample = serializers.IntegerField(help_text="Closed deals a rep needs to be ranked or flagged.")
    reps = serializers.ListField(
        child=serializers.DictField(),
        help_text="Per rep: n, won, raw/weighted/shrunk win rates with intervals, rank, flag.",
    )
    rep_summary = serializers.DictField(help_text="Team rate, prior, top-to-bottom gap, flagged reps.")


def _diagnosis(request: Request, params: dict[str, Any]) -> dict[str, Any]:
    return diagnose(
        tenant=request._request.tenant,  # type: ignore[attr-defined]
        as_of=params.get("as_of"),
        period=params["period"],
        compare=params.get("compare", Compare.PREVIOUS.value),
        to_date=params["to_date"],
        min_sample=params.get("min_sample"),
    )


class DiagnosisView(BodyLimitMixin, APIView):
    @extend_schema(
        operation_id="insights_diagnosis",
        summary="Win-rate diagnosis",
        description="The same document as `manage.py diagnose --json`: did the win rate move, is it "
        "more than noise, is it mix or conversion, and where. Keys: docs/insights.md.",
        parameters=[DiagnosisQuerySerializer],
        responses={200: DiagnosisSerializer},
        tags=["insights"],
        examples=[
            OpenApiExample(
                "Quarter vs a year ago",
                value={"as_of": "2024-07-01", "compare": "year_ago"},
                request_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(DiagnosisQuerySerializer, request)
        return Response(_diagnosis(request, params))


class SegmentListView(BodyLimitMixin, APIView):
    @extend_schema(
        operation_id="insights_segments",
        summary="Segment metrics",
        description="Win rates with intervals, amounts and cycle times for each segment of the deals "
        "closed in the current period, each tested against the rest of the tenant (Holm-corrected).",
        parameters=[SegmentQuerySerializer],
        responses={200: SegmentListSerializer},
        tags=["insights"],
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(SegmentQuerySerializer, request)
        tenant = request._request.tenant  # type: ignore[attr-defined]
        as_of = params.get("as_of") or tenant.today()
        current = periods_compared(
            as_of=as_of,
            kind=params["period"],
            fiscal_year_start_month=tenant.fiscal_year_start_month,
            to_date=params["to_date"],
        ).current
        dimension_sets = params.get("dimensions") or [(key,) for key in insight_selectors.SINGLE_DIMENSIONS]
        rows = insight_selectors.segment_metric_list(
            closed_from=current.start, closed_before=current.end, dimension_sets=[(), *dimension_sets]
        )
        return Response(
            {
                "period": current.as_dict(),
                "min_sample": settings.INSIGHTS_MIN_SEGMENT_SAMPLE,
                "segments": rows,
            }
        )


class RepListView(BodyLimitMixin, APIView):
    @extend_schema(
        operation_id="insights_reps",
        summary="Rep win rates",
        description="Each rep's win rate in the current period, raw and shrunk toward the team "
        "(empirical Bayes), ranked, with reps below the team beyond noise flagged. The `reps` part "
        "of the diagnosis.",
        parameters=[DiagnosisQuerySerializer],
        responses={200: RepListSerializer},
        tags=["insights"],
    )
    def get(self, request: Request) -> Response:
        params = query_params_validate(DiagnosisQuerySerializer, request)
        document = _diagnosis(request, params)
        keys = ("as_of", "period", "min_sample", "reps", "rep_summary")
        return Response({key: document[key] for key in keys})
