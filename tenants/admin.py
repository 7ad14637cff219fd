"""Django admin: tenants and every user for superusers; everything else scoped to one tenant.

Tenant admins are Django staff (``create_tenant`` makes them so), so the admin must never show
them another tenant's rows. It runs behind TenantMiddleware: the request's tenant is the one the
signed-in user is a member of, ``Model.objects`` already shows only that tenant's rows and RLS
enforces it again. On top of that every ModelAdmin here filters by the request's tenant itself,
and the users an admin lists or picks in a form are the members of that tenant (superusers,
who operate the platform, see every user). A superuser, too, works in one tenant at a time.
Staff who are not superusers cannot make anyone staff or superuser, grant permissions or
groups, or manage groups. Tested by tests/security/test_admin_isolation.py.
"""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db import models
from django.http import HttpRequest

from tenants.context import _set_db_setting, user_context
from tenants.models import Membership, Tenant

User = get_user_model()


def _tenant_id(request: HttpRequest) -> int | None:
    tenant = getattr(request, "tenant", None)
    return tenant.pk if tenant is not None else None


def tenant_users(request: HttpRequest) -> models.QuerySet:
    """The users an admin page may list or offer: the request tenant's members.

    Superusers get every user. No tenant: nobody.
    """
    users = User._default_manager.all()
    if request.user.is_superuser:
        return users
    tenant_id = _tenant_id(request)
    if tenant_id is None:
        return users.none()
    member_ids = Membership.unscoped.filter(tenant_id=tenant_id).values("user_id")
    return users.filter(pk__in=member_ids)


def _member_elsewhere(user_id: int, *, tenant_id: int | None, viewer: HttpRequest) -> bool:
    """Whether ``user_id`` is a member of any tenant but ``tenant_id``.

    RLS shows another tenant's membership rows only to their own user (``app.user_id``), so the
    check runs as that user and then gives the setting back to the signed-in user.
    """
    try:
        with user_context(user_id):
            return Membership.unscoped.filter(user_id=user_id).exclude(tenant_id=tenant_id).exists()
    finally:
        _set_db_setting("app.user_id", str(viewer.user.pk))


class TenantScopedAdmin(admin.ModelAdmin):
    """Base admin for TenantOwned models: the request's tenant's rows only; none without one.

    Foreign keys to users offer only the tenant's members (every user for a superuser).
    Foreign keys to tenant-owned models are scoped by their default manager already.
    """

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        tenant_id = _tenant_id(request)
        if tenant_id is None:
            return queryset.none()
        return queryset.filter(tenant_id=tenant_id)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is User:
            kwargs["queryset"] = tenant_users(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is User:
            kwargs["queryset"] = tenant_users(request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _tenant_id(request) is not None and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _tenant_id(request) is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _tenant_id(request) is not None and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _tenant_id(request) is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _tenant_id(request) is not None and super().has_delete_permission(request, obj)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "currency", "fiscal_year_start_month"]
    search_fields = ["name", "slug"]

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk=_tenant_id(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]


# Users and groups are global tables: replace auth's admins with ones scoped like the rest.
if admin.site.is_registered(User):
    admin.site.unregister(User)
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(User)
class TenantUserAdmin(UserAdmin):
    """Users: a tenant admin sees the members of their tenant only and edits only those who
    belong to no other tenant, never their privileges (staff, superuser, permissions, groups);
    superusers see and edit everyone."""

    PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_queryset(self, request: HttpRequest) -> Any:
        scoped = tenant_users(request)
        return super().get_queryset(request).filter(pk__in=scoped.values("pk"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += [name for name in self.PRIVILEGE_FIELDS if name not in readonly]
        return readonly

    def get_list_filter(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return super().get_list_filter(request)
        return ["is_active"]  # the group filter would list every group

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """A tenant admin may change (and set the password of) a user who belongs to their
        tenant only: a user who is also a member elsewhere, or a superuser, is read-only."""
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        if obj.is_superuser:
            return False
        return not _member_elsewhere(obj.pk, tenant_id=_tenant_id(request), viewer=request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A tenant admin adds people by inviting them (Admin → Members), which also makes
        # them members; a bare user created here would belong to no tenant.
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A user may belong to other tenants too; a tenant admin removes a membership instead.
        return bool(request.user.is_superuser)


@admin.register(Group)
class SuperuserGroupAdmin(GroupAdmin):
    """Groups grant permissions across tenants: superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
