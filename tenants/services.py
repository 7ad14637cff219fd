"""Writes for tenants and memberships: members invited, their role changed, removed."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.context import tenant_context
from tenants.models import Membership, Role, Tenant


@transaction.atomic
def tenant_create(
    *,
    slug: str,
    name: str,
    timezone: str = "UTC",
    currency: str = "USD",
    fiscal_year_start_month: int = 1,
) -> Tenant:
    """Create a tenant, or update the descriptive fields of the one with this slug."""
    tenant = Tenant.objects.filter(slug=slug).first() or Tenant(slug=slug)
    tenant.name = name
    tenant.timezone = timezone
    tenant.currency = currency
    tenant.fiscal_year_start_month = fiscal_year_start_month
    tenant.full_clean()
    tenant.save()
    return tenant


@transaction.atomic
def user_ensure(*, email: str, password: str | None, is_staff: bool = False) -> AbstractUser:
    """Get or create the user with this email (also the username); set the password if given."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if password is not None:
        user.set_password(password)
    user.is_staff = user.is_staff or is_staff
    user.save()
    return user  # type: ignore[return-value]


def membership_grant(*, tenant: Tenant, user: AbstractUser, role: Role | str) -> Membership:
    """Give ``user`` ``role`` in ``tenant`` (idempotent; updates the role)."""
    with tenant_context(tenant):
        membership, _ = Membership.objects.update_or_create(user=user, defaults={"role": role})
    return membership


def _password_link(*, user: AbstractUser, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


@transaction.atomic
def member_invite(
    *, tenant: Tenant, email: str, role: Role | str, invited_by: AbstractUser, base_url: str
) -> Membership:
    """Give ``email`` ``role`` in ``tenant`` (creating the user if new) and email them.

    A new user (or one who never set a password) gets a link to choose a password; an existing
    user is told they now have access. Returns the membership. ``base_url`` is the site's
    scheme and host, for links in the email.
    """
    email = email.strip()
    user = user_ensure(email=email, password=None)
    membership = membership_grant(tenant=tenant, user=user, role=role)
    context = {
        "tenant": tenant,
        "role": Role(role).label,
        "invited_by": invited_by.get_username(),
        "set_password_url": None,
        "sign_in_url": base_url.rstrip("/") + reverse("login"),
    }
    # A user who never chose a password (new, or invited before) gets a link to choose one.
    if not user.password or not user.has_usable_password():
        context["set_password_url"] = _password_link(user=user, base_url=base_url)
    body = render_to_string("web/email/invite.txt", context)
    subject = f"You have access to {tenant.name} on salesintel"
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
    )
    return membership


def _other_admins(membership: Membership) -> bool:
    return Membership.objects.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()


@transaction.atomic
def member_role_change(*, membership: Membership, role: Role | str) -> Membership:
    """Change a member's role; refuses to demote the tenant's last admin."""
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _other_admins(membership):
        raise ValidationError("A tenant needs at least one admin: make someone else admin first.")
    membership.role = Role(role)
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, acting_user: AbstractUser) -> None:
    """Remove a member from the tenant (the user account stays). Refuses to remove oneself."""
    if membership.user_id == acting_user.pk:
        raise ValidationError("You cannot remove yourself; ask another admin.")
    if membership.role == Role.ADMIN and not _other_admins(membership):
        raise ValidationError("A tenant needs at least one admin.")
    membership.delete()
