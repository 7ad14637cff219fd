"""One row of every tenant-owned model for a tenant, each carrying a marker string.

:func:`tenant_world_build` fills a tenant with realistic objects made through the services
(deals, reps, an import, a mapping, an API key, alerts, a webhook, scores, …) and then, for
every tenant-owned model still without a row, one row filled in from the model's fields — so a
model added later is covered without touching this file. Every text value contains the
tenant's marker (e.g. ``zqxa``): finding the marker in a response meant for another tenant is a
leak.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from alerts.models import Alert, Severity, WebhookEndpoint
from alerts.services import alert_rules_ensure
from api.models import ApiKeyScope
from api.services import api_key_create
from deals.mapping import PRESETS
from deals.models import Deal, DealStageChange, DealStatus, Rep
from deals.services import deals_import_file, field_mapping_save
from scoring.models import NextActionRule
from tenants.context import tenant_context
from tenants.models import Membership, Tenant, TenantOwned
from tenants.rls import tenant_owned_models

IMPORT_HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome"
)


@dataclass
class TenantWorld:
    tenant: Tenant
    user: AbstractUser
    marker: str
    # label_lower ("deals.deal") → the rows made for it, first one the canonical object.
    rows: dict[str, list[Any]] = field(default_factory=dict)
    api_key_plaintext: str = ""

    def first(self, label: str) -> Any:
        return self.rows[label][0]

    def add(self, instance: Any) -> Any:
        self.rows.setdefault(instance._meta.label_lower, []).append(instance)
        return instance


def _import_csv(marker: str) -> bytes:
    today = dt.date.today()
    lines = [IMPORT_HEADER]
    for number in range(1, 41):
        created = today - dt.timedelta(days=400 - number * 5)
        closed = created + dt.timedelta(days=30)
        outcome = "Won" if number % 3 else "Lost"
        lines.append(
            f"{marker}-imp-{number},{created},{closed},{marker}-rep-{number % 4},{marker}-industry,"
            f"{marker}-region,{marker}-product,{marker}-source,Closed,{1000 + number},30,{outcome}"
        )
    return ("\n".join(lines) + "\n").encode()


def _fill_value(model: type[models.Model], model_field: Any, world: TenantWorld) -> Any:
    """A valid value for a required field, or ``NOT_SET`` when the default will do."""
    marker = world.marker
    if isinstance(model_field, models.ForeignKey):
        target = model_field.related_model
        if issubclass(target, Tenant):
            return NOT_SET
        if issubclass(target, TenantOwned):
            return world_row(target, world)
        return world.user  # the user model: the tenant's own user
    if model_field.has_default() or (model_field.null and not model_field.choices):
        return NOT_SET
    if model_field.choices:
        return model_field.choices[0][0]
    if isinstance(model_field, models.URLField):
        return f"https://{marker}.example.test/hook"
    if isinstance(model_field, models.EmailField):
        return f"{marker}@example.test"
    if isinstance(model_field, models.CharField | models.TextField):
        text = f"{marker}-{model._meta.model_name}-{model_field.name}"
        return text[: model_field.max_length] if model_field.max_length else text
    if isinstance(model_field, models.DateTimeField):
        return timezone.now()
    if isinstance(model_field, models.DateField):
        return dt.date.today().replace(day=1)
    if isinstance(model_field, models.DecimalField):
        return Decimal("1")
    if isinstance(model_field, models.FloatField):
        return 0.5
    if isinstance(model_field, models.IntegerField):
        return 1
    if isinstance(model_field, models.BooleanField):
        return False
    if isinstance(model_field, models.JSONField):
        return {"note": marker}
    if isinstance(model_field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(model_field, models.BinaryField):
        return marker.encode()
    raise NotImplementedError(
        f"tests/security/tenant_world.py cannot fill {model._meta.label}.{model_field.name} "
        f"({type(model_field).__name__}); add a value for this field type."
    )


NOT_SET = object()


def world_row(model: type[models.Model], world: TenantWorld) -> Any:
    """The world's first row of ``model``, made from its fields when there is none yet."""
    label = model._meta.label_lower
    if world.rows.get(label):
        return world.rows[label][0]
    values: dict[str, Any] = {}
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key and not isinstance(model_field, models.ForeignKey):
            continue
        if model_field.name == "tenant" or getattr(model_field, "auto_now", False):
            continue
        if getattr(model_field, "auto_now_add", False):
            continue
        value = _fill_value(model, model_field, world)
        if value is not NOT_SET:
            values[model_field.name] = value
    instance = model(**values)
    instance.save()
    return world.add(instance)


def tenant_world_build(*, tenant: Tenant, user: AbstractUser, marker: str) -> TenantWorld:
    """Fill ``tenant`` with one (or more) rows of every tenant-owned model, all marked ``marker``."""
    world = TenantWorld(tenant=tenant, user=user, marker=marker)
    today = dt.date.today()
    with tenant_context(tenant):
        rep = world.add(Rep.objects.create(crm_id=f"{marker}-rep-x", name=f"{marker} Rep Person"))
        deal = world.add(
            Deal.objects.create(
                crm_id=f"{marker}-deal-1",
                name=f"{marker} secret deal",
                created_date=today - dt.timedelta(days=40),
                stage="Proposal",
                stage_entered_date=today - dt.timedelta(days=30),
                amount=Decimal("777001"),
                rep=rep,
                industry=f"{marker}-industry",
                region=f"{marker}-region",
                product_type=f"{marker}-product",
                lead_source=f"{marker}-source",
                status=DealStatus.OPEN,
            )
        )
        world.add(
            DealStageChange.objects.create(
                deal=deal, from_stage="Demo", to_stage="Proposal", changed_on=today - dt.timedelta(days=30)
            )
        )
        world.add(
            deals_import_file(
                file=io.BytesIO(_import_csv(marker)), file_name=f"{marker}-export.csv", user=user, source="ui"
            )
        )
        mapping_spec = {**PRESETS["standard"], "description": f"{marker} mapping"}
        world.add(field_mapping_save(name=f"{marker}-mapping", spec=mapping_spec))
        created = api_key_create(name=f"{marker} key", scope=ApiKeyScope.WRITE, created_by=user)
        world.add(created.api_key)
        world.api_key_plaintext = created.plaintext
        rules = alert_rules_ensure()
        for rule in rules.values():
            world.add(rule)
        first_rule = next(iter(rules.values()))
        world.add(
            Alert.objects.create(
                rule=first_rule,
                kind=first_rule.kind,
                deal=deal,
                dedup_key=f"{marker}-dedup",
                severity=Severity.CRITICAL,
                title=f"{marker} alert title",
                summary=f"{marker} alert summary",
                raised_on=today,
            )
        )
        world.add(WebhookEndpoint.objects.create(url=f"https://{marker}.example.test/hook"))
        # A real driver, so the Next actions page and its save route meet the marked words.
        world.add(NextActionRule.objects.create(feature="lead_source", action=f"{marker} next step"))
        for membership in Membership.objects.all():
            world.add(membership)
        for model in tenant_owned_models():
            label = model._meta.label_lower
            if not world.rows.get(label):
                existing_row = model.objects.first()
                if existing_row is not None:
                    world.add(existing_row)
                else:
                    world_row(model, world)
    return world
