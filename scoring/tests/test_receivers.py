"""Signals → scoring tasks: deal saves and bulk changes rescore after commit."""

from __future__ import annotations

from decimal import Decimal

from deals.models import Deal, DealStatus
from deals.signals import deals_changed
from scoring.models import CurrentScore, DealScore, ModelVersion
from scoring.tests.factories import deals_seed
from tenants.models import Tenant


def test_a_new_deal_is_scored_once_its_transaction_commits(
    trained_tenant: Tenant, celery_eager: None, django_capture_on_commit_callbacks
) -> None:
    template = Deal.objects.filter(status=DealStatus.OPEN).first()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deal = Deal.objects.create(
            crm_id="NEW-1",
            created_date=template.created_date,
            stage="Demo",
            amount=Decimal(5000),
            lead_source="Partner",
        )
        assert not DealScore.objects.filter(deal=deal).exists()

    assert len(callbacks) == 1
    assert DealScore.objects.get(deal=deal).trigger == "created"
    assert CurrentScore.objects.filter(deal=deal).exists()


def test_a_stage_change_rescores_the_deal(
    trained_tenant: Tenant, celery_eager: None, django_capture_on_commit_callbacks
) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).exclude(stage="Negotiation").first()
    deal.stage = "Negotiation"

    with django_capture_on_commit_callbacks(execute=True):
        deal.save()

    assert [score.trigger for score in DealScore.objects.filter(deal=deal).order_by("scored_at")] == [
        "test",
        "changed",
    ]


def test_an_amount_or_close_date_change_rescores_the_deal(
    trained_tenant: Tenant, celery_eager: None, django_capture_on_commit_callbacks
) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).first()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deal.amount = deal.amount + 1000
        deal.save(update_fields=["amount"])
        deal.expected_close_date = deal.created_date
        deal.save()

    assert len(callbacks) == 2
    assert DealScore.objects.filter(deal=deal, trigger="changed").count() == 2
    assert CurrentScore.objects.get(deal=deal).amount == Deal.objects.get(pk=deal.pk).amount


def test_renaming_a_deal_does_not_rescore_it(
    trained_tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    deal = Deal.objects.filter(status=DealStatus.OPEN).first()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deal.name = "Renamed"
        deal.save()

    assert callbacks == []


def test_a_bulk_import_signal_rescores_the_listed_deals_in_one_batch(
    trained_tenant: Tenant, celery_eager: None
) -> None:
    ids = list(Deal.objects.filter(status=DealStatus.OPEN).values_list("id", flat=True)[:5])

    deals_changed.send(sender=Deal, tenant_id=trained_tenant.pk, deal_ids=ids, reason="import")

    assert DealScore.objects.filter(trigger="import").count() == 5


def test_edits_announced_by_the_deals_service_are_left_to_the_save_signal(
    trained_tenant: Tenant, celery_eager: None
) -> None:
    ids = list(Deal.objects.filter(status=DealStatus.OPEN).values_list("id", flat=True)[:5])

    deals_changed.send(sender=Deal, tenant_id=trained_tenant.pk, deal_ids=ids, reason="edit")

    assert DealScore.objects.filter(trigger="edit").count() == 0


def test_the_first_import_of_a_tenant_trains_its_first_version(
    in_tenant_a: Tenant, celery_eager: None
) -> None:
    deals = deals_seed(n_closed=30, n_open=3)

    deals_changed.send(
        sender=Deal, tenant_id=in_tenant_a.pk, deal_ids=[deal.pk for deal in deals], reason="import"
    )

    version = ModelVersion.objects.get(is_active=True)
    assert version.serving == "none"
    assert "Not enough closed deals" in version.reason
