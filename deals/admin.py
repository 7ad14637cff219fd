from django.contrib import admin

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


@admin.register(FieldMapping)
class FieldMappingAdmin(TenantScopedAdmin):
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
