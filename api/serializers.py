"""Deal representations: what the API returns, and what create, update and bulk upsert accept.

Input field names are the import's canonical names (deals.mapping.CANONICAL_FIELDS), so a
record that works in a bulk upsert works in a create and the other way round.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.selectors import current_scores_by_deal
from deals.models import Deal, DealStatus
from scoring.models import Band

CENT = Decimal("0.01")


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _datetime(value: dt.datetime | None) -> str | None:
    """As DRF writes it: in the current time zone (UTC), with ``Z`` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class DealSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Our id for the deal; use it in deal URLs.")
    rep_crm_id = serializers.CharField(
        source="rep.crm_id", read_only=True, allow_null=True, default=None, help_text="The rep's CRM id."
    )
    rep_name = serializers.CharField(
        source="rep.name", read_only=True, allow_null=True, default=None, help_text="The rep's name."
    )
    win_probability = serializers.SerializerMethodField(
        help_text="Current probability the deal is won (0–1); null when unscored (closed, or no model)."
    )
    band = serializers.SerializerMethodField(
        help_text="Current risk band (low, medium, high, critical); null when unscored."
    )

    class Meta:
        model = Deal
        fields = [
            "id",
            "crm_id",
            "name",
            "status",
            "stage",
            "stage_entered_date",
            "amount",
            "currency",
            "created_date",
            "expected_close_date",
            "closed_date",
            "sales_cycle_days",
            "rep_crm_id",
            "rep_name",
            "win_probability",
            "band",
            "industry",
            "region",
            "product_type",
            "lead_source",
            "extra",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "crm_id": {"help_text": "The CRM's deal id; unique in your tenant."},
            "name": {"help_text": "Deal name."},
            "status": {"help_text": "open, won or lost."},
            "stage": {"help_text": "Current stage; for closed deals the last stage reached."},
            "stage_entered_date": {"help_text": "When the deal entered its stage, if known."},
            "amount": {"help_text": "Deal value as a decimal string, in `currency`."},
            "currency": {"help_text": "ISO 4217 code."},
            "created_date": {"help_text": "When the deal was created in the CRM."},
            "expected_close_date": {"help_text": "Forecast close date, if any."},
            "closed_date": {"help_text": "When the deal was won or lost; null while open."},
            "sales_cycle_days": {"help_text": "closed_date − created_date, for closed deals."},
            "industry": {"help_text": "Segment: industry."},
            "region": {"help_text": "Segment: region."},
            "product_type": {"help_text": "Segment: product type."},
            "lead_source": {"help_text": "Segment: lead source."},
            "extra": {"help_text": "The CRM's unmapped columns, as given."},
            "created_at": {"help_text": "When we first stored the deal."},
            "updated_at": {"help_text": "When we last changed the deal."},
        }

    def to_representation(self, deal: Deal) -> dict[str, Any]:
        """The declared fields, built directly: lists serialize up to 1,000 deals a page, and DRF's
        per-field machinery cost more than the query. Equal to the generic output (tested)."""
        score = self._score(deal)
        rep = deal.rep
        return {
            "id": deal.pk,
            "crm_id": deal.crm_id,
            "name": deal.name,
            "status": deal.status,
            "stage": deal.stage,
            "stage_entered_date": _date(deal.stage_entered_date),
            "amount": format(deal.amount.quantize(CENT), "f"),
            "currency": deal.currency,
            "created_date": _date(deal.created_date),
            "expected_close_date": _date(deal.expected_close_date),
            "closed_date": _date(deal.closed_date),
            "sales_cycle_days": deal.sales_cycle_days,
            "rep_crm_id": rep.crm_id if rep is not None else None,
            "rep_name": rep.name if rep is not None else None,
            "win_probability": round(score[0], 4) if score else None,
            "band": score[1] if score else None,
            "industry": deal.industry,
            "region": deal.region,
            "product_type": deal.product_type,
            "lead_source": deal.lead_source,
            "extra": deal.extra,
            "created_at": _datetime(deal.created_at),
            "updated_at": _datetime(deal.updated_at),
        }

    def _score(self, deal: Deal) -> tuple[float, str] | None:
        """From ``context["scores"]`` (a list fetches its page's scores at once), else one query."""
        if "scores" in self.context:
            return self.context["scores"].get(deal.pk)
        fetched = self.context.setdefault("_scores_fetched", {})
        if deal.pk not in fetched:
            fetched[deal.pk] = current_scores_by_deal(deal_ids=[deal.pk]).get(deal.pk)
        return fetched[deal.pk]

    @extend_schema_field({"type": "number", "format": "double", "nullable": True, "minimum": 0, "maximum": 1})
    def get_win_probability(self, deal: Deal) -> float | None:
        score = self._score(deal)
        return round(score[0], 4) if score else None

    @extend_schema_field({"type": "string", "enum": list(Band.values), "nullable": True})
    def get_band(self, deal: Deal) -> str | None:
        score = self._score(deal)
        return score[1] if score else None


class StrictCharField(serializers.CharField):
    """Text only: a number or a boolean where text is expected is an error, not coerced."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": 99999999999999.99},
            {"type": "string", "pattern": r"^[0-9]{1,14}(\.[0-9]{1,2})?$"},
        ],
        "description": "Deal value ≥ 0 with at most 2 decimals, as a number or a decimal string.",
    }
)
class AmountField(serializers.DecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=16, decimal_places=2, min_value=Decimal(0), **kwargs)


class StrictSerializer(serializers.Serializer):
    """Unknown fields are errors (422), so a typo is never silently ignored."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict):
            unknown = sorted(set(self.initial_data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
            # A form field sent twice would otherwise silently keep its last value.
            if hasattr(self.initial_data, "getlist"):
                repeated = sorted(
                    name for name in self.initial_data if len(self.initial_data.getlist(name)) > 1
                )
                if repeated:
                    raise serializers.ValidationError({name: ["Give this field once."] for name in repeated})
        return attrs


class DealWriteSerializer(StrictSerializer):
    """Fields of a deal a client may set. Validation beyond types is the import's (deals.services)."""

    name = StrictCharField(required=False, allow_blank=True, max_length=300, help_text="Deal name.")
    created_date = serializers.DateField(help_text="When the deal was created in the CRM (YYYY-MM-DD).")
    closed_date = serializers.DateField(
        required=False, allow_null=True, help_text="When it was won or lost; required unless open."
    )
    expected_close_date = serializers.DateField(
        required=False, allow_null=True, help_text="Forecast close date."
    )
    stage_entered_date = serializers.DateField(
        required=False, allow_null=True, help_text="When the deal entered its stage; default today on a move."
    )
    rep_crm_id = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=100,
        help_text="The rep's CRM id; a rep not seen before is created.",
    )
    rep_name = StrictCharField(
        required=False, allow_blank=True, max_length=200, help_text="The rep's name (for a new rep)."
    )
    industry = StrictCharField(required=False, allow_blank=True, max_length=100, help_text="Segment.")
    region = StrictCharField(required=False, allow_blank=True, max_length=100, help_text="Segment.")
    product_type = StrictCharField(required=False, allow_blank=True, max_length=100, help_text="Segment.")
    lead_source = StrictCharField(required=False, allow_blank=True, max_length=100, help_text="Segment.")
    stage = StrictCharField(max_length=100, help_text="One of the tenant's pipeline stages.")
    amount = AmountField(help_text="Deal value, ≥ 0, at most 2 decimals.")
    currency = StrictCharField(
        required=False,
        allow_blank=True,
        min_length=3,
        max_length=3,
        help_text="ISO 4217; default the tenant's.",
    )
    status = serializers.ChoiceField(
        choices=DealStatus.choices, required=False, help_text="open (default), won or lost."
    )
    extra = serializers.DictField(required=False, help_text="Your own fields, stored as given.")


class DealCreateSerializer(DealWriteSerializer):
    crm_id = StrictCharField(max_length=100, help_text="The CRM's deal id; unique in your tenant.")


class DealUpdateSerializer(DealWriteSerializer):
    """Every field optional; the CRM id cannot change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class BulkUpsertItemSerializer(serializers.Serializer):
    """Documents one bulk item. Items are validated by the import engine, all at once."""

    crm_id = serializers.CharField(help_text="The CRM's deal id: updates that deal, or creates it.")
    name = serializers.CharField(required=False, help_text="Deal name.")
    created_date = serializers.DateField(required=False, help_text="Required for new deals.")
    closed_date = serializers.DateField(required=False, allow_null=True, help_text="For won or lost deals.")
    expected_close_date = serializers.DateField(required=False, allow_null=True, help_text="Forecast.")
    stage_entered_date = serializers.DateField(required=False, allow_null=True, help_text="Stage since.")
    rep_crm_id = serializers.CharField(required=False, help_text="The rep's CRM id (created if new).")
    rep_name = serializers.CharField(required=False, help_text="The rep's name.")
    rep_email = serializers.EmailField(required=False, help_text="The rep's email.")
    industry = serializers.CharField(required=False, help_text="Segment.")
    region = serializers.CharField(required=False, help_text="Segment.")
    product_type = serializers.CharField(required=False, help_text="Segment.")
    lead_source = serializers.CharField(required=False, help_text="Segment.")
    stage = serializers.CharField(required=False, help_text="Required for new deals.")
    amount = AmountField(required=False, help_text="Required for new deals.")
    currency = serializers.CharField(required=False, help_text="ISO 4217; default the tenant's.")
    status = serializers.ChoiceField(choices=DealStatus.choices, required=False, help_text="Default open.")
    extra = serializers.DictField(required=False, help_text="Your own fields, stored as given.")


class BulkUpsertSerializer(serializers.Serializer):
    deals = BulkUpsertItemSerializer(
        many=True,
        help_text="Up to 10,000 deals by CRM id. A field no item carries is left unchanged on known deals.",
    )


class BulkUpsertResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="New deals.")
    updated = serializers.IntegerField(help_text="Known deals that changed.")
    unchanged = serializers.IntegerField(help_text="Known deals sent with no change.")
    import_run_id = serializers.IntegerField(
        help_text="The import run recording this upsert (import history)."
    )
