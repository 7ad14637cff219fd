"""Django admin for deals: every model scoped to the request's tenant (tenants.admin)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from deals.mapping import MappingError, mapping_from_json
from deals.models import Deal, DealStageChange, FieldMapping, ImportRun, Rep
from tenants.admin import TenantScopedAdmin


@admin.register(Rep)
class RepAdmin(TenantScopedAdmin):
    list_display = ["crm_id", "name", "email", "active"]
    search_fields = ["crm_id", "name", "email"]


@admin.register(Deal)
class DealAdmin(TenantScopedAdmin):
    list_display = ["crm_id", "name", "status", "stage", "amount", "rep", "created_date", "closed_date"]
    list_filter = ["status", "stage", "industry", "region", "product_type", "lead_source"]
    search_fields = ["crm_id", "name"]
    list_select_related = ["rep"]
    raw_id_fields = ["rep"]


@admin.register(DealStageChange)
class DealStageChangeAdmin(TenantScopedAdmin):
    list_display = ["deal", "from_stage", "to_stage", "changed_on", "source"]
    raw_id_fields = ["deal"]


class FieldMappingForm(forms.ModelForm):
    """A saved mapping whose spec passes the import's own validator (deals.mapping), as in the
    import wizard and deals.services.field_mapping_save; every problem is shown on the field."""

    class Meta:
        model = FieldMapping
        fields = ["name", "spec"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        name = cleaned.get("name")
        # The (tenant, name) constraint is not checked by the form: the tenant is not a field.
        if name and FieldMapping.objects.filter(name=name).exclude(pk=self.instance.pk).exists():
            self.add_error("name", f"This tenant already has a mapping named “{name}”.")
        spec = cleaned.get("spec")
        if "spec" in cleaned:
            try:
                mapping_from_json(spec, name=cleaned.get("name") or "custom")
            except MappingError as error:
                self.add_error(
                    "spec",
                    forms.ValidationError(
                        [f"This mapping cannot be used for imports: {problem}" for problem in error.problems]
                    ),
                )
        return cleaned


@admin.register(FieldMapping)
class FieldMappingAdmin(TenantScopedAdmin):
    form = FieldMappingForm
    list_display = ["name", "updated_at"]


@admin.register(ImportRun)
class ImportRunAdmin(TenantScopedAdmin):
    list_display = [
        "file_name",
        "status",
        "rows_read",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "started_at",
    ]
    list_filter = ["status", "source"]
