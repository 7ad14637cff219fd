"""Deal representations shared by the deal endpoints."""

from __future__ import annotations

from rest_framework import serializers

from deals.models import Deal


class DealSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(read_only=True, help_text="Our id for the deal; use it in deal URLs.")
    rep = serializers.CharField(
        source="rep.crm_id", read_only=True, allow_null=True, default=None, help_text="The rep's CRM id."
    )
    rep_name = serializers.CharField(
        source="rep.name", read_only=True, allow_null=True, default=None, help_text="The rep's name."
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
            "rep",
            "rep_name",
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
