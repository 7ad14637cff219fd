"""Win probabilities out: a deal's current score and its history, and the model versions.

Reads go through scoring.selectors, as the deal page and the risk board do.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.views.base import BodyLimitMixin, query_params_validate
from api.views.deals import DEAL_ID
from deals.models import Deal
from scoring.models import Band, Serving
from scoring.selectors import (
    deal_score_current,
    deal_score_history,
    model_version_describe,
    model_version_list,
    serving_model_describe,
)


class DriverSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The model feature.")
    label = serializers.CharField(help_text="The feature and the deal's value, in words.")
    value = serializers.FloatField(
        help_text="Contribution in log-odds relative to the tenant's average deal."
    )
    text = serializers.CharField(required=False, help_text="The contribution in a sentence.")


class NextActionSerializer(serializers.Serializer):
    feature = serializers.CharField(help_text="The negative driver's feature.")
    label = serializers.CharField(help_text="The driver in words.")
    action = serializers.CharField(help_text="What to do about it (tenant-editable).")


class CurrentScoreSerializer(serializers.Serializer):
    deal_id = serializers.IntegerField(help_text="The deal's id.")
    win_probability = serializers.FloatField(help_text="Probability the deal is won, 0–1.")
    band = serializers.ChoiceField(choices=Band.choices, help_text="Risk band by win probability.")
    scored_at = serializers.DateTimeField(help_text="When it was scored.")
    model_version = serializers.IntegerField(
        help_text="The tenant's number of the model version that scored it (v3 on pages; GET /models)."
    )
    serving = serializers.ChoiceField(choices=Serving.choices, help_text="What produced the score.")
    serving_label = serializers.CharField(help_text="The same, in words.")
    positive_drivers = DriverSerializer(many=True, help_text="Up to three reasons it may win.")
    negative_drivers = DriverSerializer(many=True, help_text="Up to three reasons it may not.")
    next_actions = NextActionSerializer(many=True, help_text="Suggested actions for negative drivers.")
    previous_probability = serializers.FloatField(
        allow_null=True, help_text="The score before this one, if any."
    )


class ScoreHistoryItemSerializer(serializers.Serializer):
    win_probability = serializers.FloatField(help_text="Probability the deal is won, 0–1.")
    band = serializers.ChoiceField(choices=Band.choices, help_text="Risk band.")
    scored_at = serializers.DateTimeField(help_text="When.")
    model_version = serializers.IntegerField(
        help_text="The tenant's number of the model version that scored it."
    )
    trigger = serializers.CharField(help_text="What caused the scoring (batch, import, edit, …).")
    drivers = DriverSerializer(many=True, help_text="Top positive then negative contributions.")


class ScoreHistorySerializer(serializers.Serializer):
    deal_id = serializers.IntegerField(help_text="The deal's id.")
    results = ScoreHistoryItemSerializer(many=True, help_text="Newest first.")


class ScoreHistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, default=100, min_value=1, max_value=1000, help_text="How many scores, newest first."
    )


class ModelVersionSerializer(serializers.Serializer):
    version_number = serializers.IntegerField(
        allow_null=True, help_text="The tenant's number of the version (v3 on pages); null before training."
    )
    serving = serializers.ChoiceField(choices=Serving.choices, help_text="What this version scores with.")
    label = serializers.CharField(help_text="The same, in words.")
    promoted = serializers.BooleanField(help_text="The logistic model beat the base rate in the backtest.")
    reason = serializers.CharField(allow_blank=True, help_text="Why it serves what it serves.")
    trained_at = serializers.DateTimeField(allow_null=True, help_text="When it was trained.")
    n_won = serializers.IntegerField(help_text="Won deals it learned from.")
    n_lost = serializers.IntegerField(help_text="Lost deals it learned from.")
    window = serializers.ListField(
        child=serializers.DateField(), allow_null=True, help_text="First and last close date trained on."
    )
    backtest = serializers.DictField(
        help_text="Time-based backtest: roc_auc, brier, log_loss, n, reliability."
    )
    baselines = serializers.DictField(help_text="The same metrics for the base rate and segment priors.")
    features = serializers.ListField(child=serializers.CharField(), help_text="Features used.")
    coefficients = serializers.DictField(required=False, help_text="Fitted coefficients by feature.")
    details = serializers.DictField(help_text="Training details.")
    is_active = serializers.BooleanField(required=False, help_text="This version scores deals now.")


class ModelListSerializer(serializers.Serializer):
    serving = ModelVersionSerializer(help_text="What scores the tenant's deals now.")
    results = ModelVersionSerializer(many=True, help_text="Training runs, newest first (up to 50).")


def _deal(pk: int) -> Deal:
    deal = Deal.objects.filter(pk=pk).only("pk").first()
    if deal is None:
        raise Http404
    return deal


class DealScoreView(BodyLimitMixin, GenericAPIView):
    serializer_class = CurrentScoreSerializer

    @extend_schema(
        operation_id="deals_score",
        summary="A deal's current score",
        description="Win probability, risk band, the drivers behind it and the model version that "
        "produced it. 404 when the deal is not in your tenant, or has no score (closed deals and "
        "tenants without enough history are not scored).",
        parameters=[DEAL_ID],
        tags=["scores"],
        examples=[
            OpenApiExample(
                "Scored",
                response_only=True,
                value={
                    "deal_id": 42,
                    "win_probability": 0.3125,
                    "band": "medium",
                    "scored_at": "2024-06-01T02:00:00Z",
                    "model_version": 7,
                    "serving": "model",
                    "serving_label": "Logistic model",
                    "positive_drivers": [
                        {"feature": "lead_source", "label": "Lead source: Referral", "value": 0.41}
                    ],
                    "negative_drivers": [
                        {"feature": "days_in_stage", "label": "Days in stage: 64", "value": -0.58}
                    ],
                    "next_actions": [
                        {
                            "feature": "days_in_stage",
                            "label": "Days in stage: 64",
                            "action": "Book a next step.",
                        }
                    ],
                    "previous_probability": 0.36,
                },
            )
        ],
    )
    def get(self, request: Request, pk: int) -> Response:
        score = deal_score_current(deal=_deal(pk))
        if score is None:
            raise Http404("This deal has no score: it is closed, or the tenant has no model yet.")
        return Response(score.as_dict())


class DealScoreHistoryView(BodyLimitMixin, GenericAPIView):
    serializer_class = ScoreHistorySerializer

    @extend_schema(
        operation_id="deals_scores",
        summary="A deal's score history",
        description="Every score the deal held, newest first, with the model version of each.",
        parameters=[DEAL_ID, ScoreHistoryQuerySerializer],
        tags=["scores"],
    )
    def get(self, request: Request, pk: int) -> Response:
        params = query_params_validate(ScoreHistoryQuerySerializer, request)
        deal = _deal(pk)
        history = deal_score_history(deal=deal, limit=params["limit"])
        return Response(
            {
                "deal_id": deal.pk,
                "results": [
                    {
                        "win_probability": round(score.probability, 4),
                        "band": score.band,
                        "scored_at": score.scored_at.isoformat(),
                        "model_version": score.model_version.number,
                        "trigger": score.trigger,
                        "drivers": score.drivers,
                    }
                    for score in history
                ],
            }
        )


class ModelListView(BodyLimitMixin, GenericAPIView):
    serializer_class = ModelListSerializer

    @extend_schema(
        operation_id="models_list",
        summary="Model versions",
        description="Which model scores the tenant's deals now (`serving`), and every training run "
        "with its time-based backtest metrics against the baselines.",
        tags=["scores"],
    )
    def get(self, request: Request) -> Response:
        versions: list[dict[str, Any]] = [model_version_describe(version=v) for v in model_version_list()]
        return Response({"serving": serving_model_describe(), "results": versions})
