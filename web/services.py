"""Writes started from the web UI that no domain app owns: members, and saved field mappings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from deals.mapping import mapping_from_json
from deals.models import FieldMapping
from tenants.models import Membership, Role, Tenant
from tenants.services import membership_grant, user_ensure


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


@transaction.atomic
def field_mapping_save(*, name: str, spec: dict[str, Any]) -> FieldMapping:
    """Store ``spec`` as the active tenant's mapping ``name`` (replacing one of that name).

    The spec is validated first (deals.mapping.mapping_from_json raises MappingError with every
    problem). A name equal to a preset's overrides that preset for this tenant.
    """
    mapping_from_json(spec, name=name)
    mapping, _ = FieldMapping.objects.update_or_create(name=name, defaults={"spec": spec})
    return mapping


def field_mapping_delete(*, mapping: FieldMapping) -> None:
    mapping.delete()
