"""End to end through a real Celery worker on Redis: a stage change leads to a new score."""

from __future__ import annotations

import pytest

from deals.models import Deal, DealStatus
from salesintel.testing.celery import CeleryWorker, eventually
from scoring.models import CurrentScore, DealScore
from scoring.services import model_train
from scoring.tests.conftest import SMALL_MINIMUM
from scoring.tests.factories import deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_a_stage_change_is_rescored_by_the_worker(
    tenant_a: Tenant, celery_worker_process: CeleryWorker
) -> None:
    with tenant_context(tenant_a):
        deals_seed(n_closed=300, n_open=10)
        model_train(min_won=SMALL_MINIMUM, min_lost=SMALL_MINIMUM)
    with tenant_context(tenant_a):
        deal = Deal.objects.filter(status=DealStatus.OPEN).exclude(stage="Negotiation").first()
        before = CurrentScore.objects.get(deal=deal)
        deal.stage = "Negotiation"
        deal.save()

    def rescored() -> DealScore | None:
        with tenant_context(tenant_a):
            return DealScore.objects.filter(deal=deal, trigger="changed").first()

    score = eventually(rescored, timeout_s=60)

    with tenant_context(tenant_a):
        current = CurrentScore.objects.get(deal=deal)
    assert current.score_id == score.pk
    assert current.previous_probability == pytest.approx(before.probability)
    assert "scoring.score_deals" in celery_worker_process.log()
