"""Admin screens (tenant admins only): the overview and members; imports and mappings live in
web.views.imports."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from tenants import services as tenant_services
from tenants.models import Membership, Role
from web.decorators import tenant_admin_required
from web.forms import MemberInviteForm, MemberRoleForm
from web.rendering import render_page


@tenant_admin_required
def settings_home(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/admin/home.html", {"tab": "home"})


def _members_context(invite_form: MemberInviteForm | None = None) -> dict[str, Any]:
    return {
        "tab": "members",
        "members": Membership.objects.select_related("user").order_by("user__username"),
        "roles": Role.choices,
        "invite_form": invite_form or MemberInviteForm(),
    }


@tenant_admin_required
def members(request: HttpRequest) -> HttpResponse:
    return render_page(request, "web/admin/members.html", _members_context())


@tenant_admin_required
@require_POST
def member_invite(request: HttpRequest) -> HttpResponse:
    form = MemberInviteForm(request.POST)
    if not form.is_valid():
        return render_page(request, "web/admin/members.html", _members_context(form), status=400)
    tenant_services.member_invite(
        tenant=request.tenant,  # type: ignore[attr-defined]
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        invited_by=request.user,  # type: ignore[arg-type]
        base_url=request.build_absolute_uri("/"),
    )
    messages.success(request, f"Invited {form.cleaned_data['email']}; they will get an email.")
    return redirect("settings_members")


@tenant_admin_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            tenant_services.member_role_change(membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{membership.user.get_username()} is now {membership.get_role_display().lower()}."
            )
    return redirect("settings_members")


@tenant_admin_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk)
    try:
        tenant_services.member_remove(membership=membership, acting_user=request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {membership.user.get_username()}.")
    return redirect("settings_members")
