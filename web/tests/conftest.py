"""Fixtures of the web tests: a small but realistic pipeline for tenant A, a deal of tenant B,
and signed-in clients for each role."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client

from alerts.models import Alert
from alerts.services import alert_rules_ensure
from deals.models import Deal, DealStageChange, DealStatus, Rep
from tenants.context import require_tenant_id, tenant_context
from tenants.models import Role, Tenant
from tenants.services import membership_grant, user_ensure

INDUSTRIES = ["SaaS", "FinTech", "HealthTech", "Retail"]
REGIONS = ["North America", "Europe", "APAC"]
PRODUCTS = ["Core", "Pro", "Enterprise"]
SOURCES = ["Inbound", "Partner", "Outbound", "Referral"]
STAGES = ["Qualified", "Demo", "Proposal", "Negotiation"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"]


def build_pipeline(*, today: dt.date, closed: int = 480, open_deals: int = 60, seed: int = 7) -> list[Deal]:
    """Closed deals over the two years before ``today`` and open deals, in the active tenant."""
    rng = random.Random(seed)
    tenant_id = require_tenant_id()  # bulk_create skips save(), which would set it
    reps = [
        Rep.objects.create(crm_id=f"rep_{seed}_{i}", name=f"Rep {name}") for i, name in enumerate("ABCDEF")
    ]
    deals = []
    for index in range(closed + open_deals):
        is_open = index >= closed
        created = today - dt.timedelta(days=rng.randint(20, 720))
        cycle = rng.randint(10, 120)
        closed_on = None if is_open else min(created + dt.timedelta(days=cycle), today - dt.timedelta(days=1))
        source = rng.choice(SOURCES)
        win_p = 0.25 if source == "Partner" else 0.45
        status = DealStatus.OPEN if is_open else (DealStatus.WON if rng.random() < win_p else DealStatus.LOST)
        stage = rng.choice(STAGES)
        deals.append(
            Deal(
                tenant_id=tenant_id,
                crm_id=f"D-{seed}-{index:04d}",
                name=f"{rng.choice(COMPANIES)} {rng.choice(PRODUCTS)} #{index}",
                created_date=created,
                closed_date=closed_on,
                rep=rng.choice(reps),
                industry=rng.choice(INDUSTRIES),
                region=rng.choice(REGIONS),
                product_type=rng.choice(PRODUCTS),
                lead_source=source,
                stage=stage,
                stage_entered_date=(created + dt.timedelta(days=rng.randint(0, 15))) if is_open else None,
                amount=Decimal(rng.randint(2, 120) * 1000),
                status=status,
                sales_cycle_days=None if closed_on is None else (closed_on - created).days,
            )
        )
    return Deal.objects.bulk_create(deals)


@pytest.fixture
def today() -> dt.date:
    return dt.date.today()


@pytest.fixture
def pipeline_a(tenant_a: Tenant, today: dt.date) -> list[Deal]:
    with tenant_context(tenant_a):
        return build_pipeline(today=today)


@pytest.fixture
def open_deal_a(tenant_a: Tenant, today: dt.date) -> Deal:
    with tenant_context(tenant_a):
        rep = Rep.objects.create(crm_id="rep_x", name="Xavier Rep")
        deal = Deal.objects.create(
            crm_id="A-OPEN-1",
            name="Acme platform expansion",
            created_date=today - dt.timedelta(days=40),
            stage="Proposal",
            stage_entered_date=today - dt.timedelta(days=12),
            amount=Decimal("48000"),
            rep=rep,
            industry="SaaS",
            region="Europe",
            product_type="Pro",
            lead_source="Partner",
        )
        DealStageChange.objects.create(
            deal=deal, from_stage="Qualified", to_stage="Demo", changed_on=today - dt.timedelta(days=30)
        )
        DealStageChange.objects.create(
            deal=deal, from_stage="Demo", to_stage="Proposal", changed_on=today - dt.timedelta(days=12)
        )
        return deal


@pytest.fixture
def deal_b(tenant_b: Tenant, today: dt.date) -> Deal:
    with tenant_context(tenant_b):
        return Deal.objects.create(
            crm_id="B-SECRET-1",
            name="Globex secret deal",
            created_date=today - dt.timedelta(days=10),
            stage="Demo",
            amount=Decimal("9000"),
        )


def member(tenant: Tenant, email: str, role: Role) -> AbstractUser:
    user = user_ensure(email=email, password="pw-" + email)
    membership_grant(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def viewer_a(tenant_a: Tenant) -> AbstractUser:
    return member(tenant_a, "vera@acme.test", Role.VIEWER)


@pytest.fixture
def manager_a(tenant_a: Tenant) -> AbstractUser:
    return member(tenant_a, "max@acme.test", Role.MANAGER)


@pytest.fixture
def admin_client(client: Client, user_a: AbstractUser) -> Client:
    client.force_login(user_a)
    return client


@pytest.fixture
def viewer_client(client: Client, viewer_a: AbstractUser) -> Client:
    client.force_login(viewer_a)
    return client


@pytest.fixture
def manager_client(client: Client, manager_a: AbstractUser) -> Client:
    client.force_login(manager_a)
    return client


def raise_alert(deal: Deal, *, title: str, severity: str = "warning", kind: str = "stall") -> Alert:
    """An open alert on ``deal`` in the active tenant, as the daily checks would store it."""
    rule = alert_rules_ensure()[kind]
    return Alert.objects.create(
        rule=rule,
        kind=kind,
        deal=deal,
        dedup_key=f"{kind}:deal:{deal.pk}",
        severity=severity,
        title=title,
        summary=f"{deal} has been in {deal.stage} for 47 days; won deals usually leave it within 21.",
        evidence={"days_in_stage": 47, "threshold_days": 21},
        raised_on=dt.date.today(),
    )


@pytest.fixture
def alerts_a(tenant_a: Tenant, open_deal_a: Deal, pipeline_a: list[Deal]) -> list[Alert]:
    with tenant_context(tenant_a):
        open_deals = [deal for deal in pipeline_a if deal.status == DealStatus.OPEN][:3]
        return [
            raise_alert(
                open_deal_a, title="Acme platform expansion stalled in Proposal", severity="critical"
            ),
            *(raise_alert(deal, title=f"{deal.name} stalled in {deal.stage}") for deal in open_deals),
        ]


@pytest.fixture
def client_factory_b(user_b: AbstractUser) -> Client:
    """A second browser session: the admin of tenant B."""
    other = Client()
    other.force_login(user_b)
    return other


@pytest.fixture
def scored_pipeline_a(tenant_a: Tenant, pipeline_a: list[Deal], open_deal_a: Deal) -> list[Deal]:
    """``pipeline_a`` with a trained model version and every open deal scored by it."""
    from scoring.services import model_train

    with tenant_context(tenant_a):
        model_train(min_won=30, min_lost=30)
    return pipeline_a
