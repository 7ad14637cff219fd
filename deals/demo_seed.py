"""Seeding the demo tenants from the deterministic generator (deals.demo).

``demo_seed`` loads one tenant's generated deals through the same import service a CRM export
uses (``deals.services.deals_import_file`` with the ``standard`` preset), then bulk-creates
their stage histories. ``demo_setup`` creates the two demo tenants and their users and seeds
both; the ``seed_demo`` command and the ``demo_tenant`` test fixture are thin wrappers.

The anchor date a tenant was seeded with is remembered in the file name of its demo ImportRun
("demo-<variant>-<anchor>.csv"), so running the seed again without an anchor reproduces exactly
the same deals (the import reports them all unchanged).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

import pandas as pd
from django.contrib.auth.models import AbstractUser
from django.db import connection, transaction
from django.utils import timezone

from deals.demo import ORACLE_COLUMNS, deals_to_csv, generate_deals, generate_stage_history
from deals.models import Deal, DealStageChange, ImportRun, ImportStatus, Rep
from deals.services import deals_import_file
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Role, Tenant
from tenants.services import membership_grant, tenant_create, user_ensure

DEMO_SOURCE = "demo"
# The documented demo login (README); a demo convenience, not a secret.
DEMO_PASSWORD = "demo-password-123"  # noqa: S105
DEMO_ADMIN_EMAIL = "demo@salesintel.local"
DEMO_MANAGER_EMAIL = "demo-manager@salesintel.local"
DEMO_VIEWER_EMAIL = "demo-viewer@salesintel.local"
NORTHWIND_ADMIN_EMAIL = "northwind@salesintel.local"
# Moves per INSERT … SELECT FROM unnest(…): bounds the size of one statement's arrays.
HISTORY_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class DemoTenantSpec:
    slug: str
    name: str
    variant: str
    timezone: str
    currency: str
    n_closed: int
    n_open: int


DEMO_TENANT = DemoTenantSpec("demo", "Demo Sales Org", "demo", "UTC", "USD", 5000, 600)
NORTHWIND_TENANT = DemoTenantSpec(
    "northwind", "Northwind Traders", "northwind", "Europe/Stockholm", "EUR", 1500, 200
)

_FILE_NAME = re.compile(r"^demo-(?P<variant>[a-z]+)-(?P<anchor>\d{4}-\d{2}-\d{2})\.csv$")


class DemoSeedError(RuntimeError):
    """The demo data could not be loaded (the import rejected it, or the tenant holds other data)."""


@dataclass(frozen=True)
class DemoSeedResult:
    """What ``demo_seed`` did. ``deals`` is the generated frame, oracle columns included."""

    tenant: Tenant
    anchor: dt.date
    import_run: ImportRun
    stage_changes_created: int
    replaced: bool
    deals: pd.DataFrame


@dataclass(frozen=True)
class DemoSetupResult:
    demo: DemoSeedResult
    northwind: DemoSeedResult
    admin: AbstractUser
    password: str


def demo_file_name(*, variant: str, anchor: dt.date) -> str:
    return f"demo-{variant}-{anchor.isoformat()}.csv"


def demo_anchor_previous(*, tenant: Tenant) -> dt.date | None:
    """The anchor of the tenant's last successful demo import, or None if it was never seeded."""
    with tenant_context(tenant):
        names = ImportRun.objects.filter(source=DEMO_SOURCE, status=ImportStatus.SUCCEEDED).values_list(
            "file_name", flat=True
        )
        for name in names:  # newest first (ImportRun's ordering)
            match = _FILE_NAME.match(name)
            if match:
                return dt.date.fromisoformat(match["anchor"])
    return None


def demo_seed(
    *,
    tenant: Tenant,
    anchor: dt.date,
    variant: str = "demo",
    seed: int = 7,
    n_closed: int = 5000,
    n_open: int = 600,
) -> DemoSeedResult:
    """Load the generator's deals for ``anchor`` into ``tenant``, with their stage histories.

    Idempotent: seeding again with the same arguments changes nothing (the import finds every
    deal unchanged; histories are only created for deals that have none). Seeding with a
    different anchor replaces the tenant's deals, reps and histories (``replaced`` is True).
    The oracle columns (true_win_probability, planted_stall) are never imported; they stay in
    the returned frame for tests. Raises DemoSeedError when the import is rejected, or when the
    tenant already holds deals that did not come from the demo seed.
    """
    frame = generate_deals(seed=seed, anchor=anchor, n_closed=n_closed, n_open=n_open, tenant_variant=variant)
    previous = demo_anchor_previous(tenant=tenant)
    with tenant_context(tenant):
        replaced = False
        if Deal.objects.exists() and previous != anchor:
            if previous is None:
                raise DemoSeedError(
                    f"Tenant {tenant.slug} already has deals that the demo seed did not create; "
                    "refusing to overwrite them."
                )
            # Re-dating the demo: every deal moves, so start again rather than record fake moves.
            DealStageChange.objects.all().delete()
            Deal.objects.all().delete()
            Rep.objects.all().delete()
            replaced = True

        buffer = io.BytesIO()
        deals_to_csv(frame, buffer)
        buffer.seek(0)
        run = deals_import_file(
            file=buffer,
            file_name=demo_file_name(variant=variant, anchor=anchor),
            mapping="standard",
            source=DEMO_SOURCE,
        )
        if run.status != ImportStatus.SUCCEEDED:
            raise DemoSeedError(f"The import rejected the demo data: {run.errors[:5]}")
        created = _stage_history_create(frame)
    return DemoSeedResult(
        tenant=tenant,
        anchor=anchor,
        import_run=run,
        stage_changes_created=created,
        replaced=replaced,
        deals=frame,
    )


_HISTORY_INSERT = """
    INSERT INTO deals_dealstagechange
        (tenant_id, deal_id, from_stage, to_stage, changed_on, source, recorded_at)
    SELECT %(tenant)s, t.deal_id, t.from_stage, t.to_stage, t.changed_on, %(source)s, now()
    FROM unnest(%(deal_ids)s::bigint[], %(from_stages)s::text[], %(to_stages)s::text[],
                %(changed_on)s::date[]) AS t(deal_id, from_stage, to_stage, changed_on)
"""


def _stage_history_create(frame: pd.DataFrame) -> int:
    """Insert the generated stage moves of the active tenant's deals that have none yet.

    Two narrow reads (deal ids by CRM id, deals that already have moves), then one
    ``INSERT … SELECT FROM unnest(…)`` per batch: set-based, well under a second for the demo.
    Returns the number of moves inserted.
    """
    tenant_id = require_tenant_id()
    history = generate_stage_history(frame.drop(columns=list(ORACLE_COLUMNS)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT crm_id, id FROM deals_deal WHERE tenant_id = %s", [tenant_id])
        deal_ids = dict(cursor.fetchall())
        cursor.execute("SELECT DISTINCT deal_id FROM deals_dealstagechange WHERE tenant_id = %s", [tenant_id])
        with_history = {row[0] for row in cursor.fetchall()}
        history["pk"] = history["deal_id"].map(deal_ids)
        todo = history[history["pk"].notna() & ~history["pk"].isin(with_history)]
        for start in range(0, len(todo), HISTORY_BATCH_ROWS):
            batch = todo.iloc[start : start + HISTORY_BATCH_ROWS]
            params = {
                "tenant": tenant_id,
                "source": DEMO_SOURCE,
                "deal_ids": batch["pk"].astype("int64").tolist(),
                "from_stages": batch["from_stage"].tolist(),
                "to_stages": batch["to_stage"].tolist(),
                "changed_on": batch["changed_on"].dt.date.tolist(),
            }
            cursor.execute(_HISTORY_INSERT, params)
    return len(todo)


@transaction.atomic
def demo_setup(*, password: str = DEMO_PASSWORD, anchor: dt.date | None = None) -> DemoSetupResult:
    """Create (or refresh) the ``demo`` and ``northwind`` tenants, their users and their deals.

    Users: demo@salesintel.local (admin of demo, viewer of northwind, so the tenant switcher
    has something to show), demo-manager@ and demo-viewer@ (manager and viewer of demo), and
    northwind@salesintel.local (admin of northwind); all get ``password`` (reset on every run).
    ``anchor`` defaults to each tenant's previous demo anchor, else today.
    """
    results = {}
    for spec in (DEMO_TENANT, NORTHWIND_TENANT):
        tenant = tenant_create(slug=spec.slug, name=spec.name, timezone=spec.timezone, currency=spec.currency)
        tenant_anchor = anchor or demo_anchor_previous(tenant=tenant) or timezone.localdate()
        results[spec.slug] = demo_seed(
            tenant=tenant,
            anchor=tenant_anchor,
            variant=spec.variant,
            n_closed=spec.n_closed,
            n_open=spec.n_open,
        )
    demo, northwind = results["demo"].tenant, results["northwind"].tenant

    admin = user_ensure(email=DEMO_ADMIN_EMAIL, password=password, is_staff=True)
    membership_grant(tenant=demo, user=admin, role=Role.ADMIN)
    membership_grant(tenant=northwind, user=admin, role=Role.VIEWER)
    for email, role in ((DEMO_MANAGER_EMAIL, Role.MANAGER), (DEMO_VIEWER_EMAIL, Role.VIEWER)):
        membership_grant(tenant=demo, user=user_ensure(email=email, password=password), role=role)
    northwind_admin = user_ensure(email=NORTHWIND_ADMIN_EMAIL, password=password, is_staff=True)
    membership_grant(tenant=northwind, user=northwind_admin, role=Role.ADMIN)
    return DemoSetupResult(
        demo=results["demo"], northwind=results["northwind"], admin=admin, password=password
    )
