"""Writes of the API app (keys; reps named by CRM id). Callers run inside a tenant context."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from api.keys import key_generate
from api.models import ApiKey, ApiKeyScope
from deals.models import Rep


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    # Shown to the creator once; only its hash is stored.
    plaintext: str


@transaction.atomic
def api_key_create(
    *, name: str, scope: ApiKeyScope | str, created_by: AbstractBaseUser | None = None
) -> CreatedApiKey:
    """Create a key for the active tenant and return it with its plaintext (the only time it exists)."""
    generated = key_generate()
    api_key = ApiKey(
        name=name,
        key_prefix=generated.prefix,
        key_sha256=generated.sha256,
        scope=ApiKeyScope(scope),
        created_by=created_by,
    )
    api_key.full_clean(exclude=["tenant"])
    api_key.save()
    return CreatedApiKey(api_key=api_key, plaintext=generated.plaintext)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke the key from now on (idempotent: the first revocation time is kept)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def rep_for_crm_id(*, crm_id: str | None, name: str = "") -> Rep | None:
    """The active tenant's rep with this CRM id, created when new (as an import creates reps).

    None for a blank id (the deal has no rep).
    """
    crm_id = (crm_id or "").strip()
    if not crm_id:
        return None
    rep, _ = Rep.objects.get_or_create(crm_id=crm_id, defaults={"name": name.strip()})
    return rep
