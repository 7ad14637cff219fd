"""Django admin: tenants for superusers; tenant-owned models are scoped by the active tenant.

The admin runs behind TenantMiddleware, so ``Model.objects`` already shows only the active
tenant's rows (and RLS enforces it again). A superuser works in one tenant at a time, too.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tenants.models import Membership, Tenant


class TenantScopedAdmin(admin.ModelAdmin):
    """Base admin for TenantOwned models: refuses access when the request has no tenant."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return getattr(request, "tenant", None) is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return getattr(request, "tenant", None) is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return getattr(request, "tenant", None) is not None and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return getattr(request, "tenant", None) is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return getattr(request, "tenant", None) is not None and super().has_delete_permission(request, obj)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "currency", "fiscal_year_start_month"]
    search_fields = ["name", "slug"]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk=getattr(request, "tenant", None) and request.tenant.pk)  # type: ignore[attr-defined]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
