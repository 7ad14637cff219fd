"""The train_models and score_deals management commands."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from deals.models import Deal, DealStatus
from scoring.management.commands.score_deals import CSV_COLUMNS
from scoring.models import ModelVersion
from scoring.tests.factories import deals_seed
from tenants.context import tenant_context
from tenants.models import Tenant


@pytest.fixture
def commands_tenant(tenant_a: Tenant, settings) -> Tenant:
    settings.SCORING_MIN_WON = settings.SCORING_MIN_LOST = 50
    with tenant_context(tenant_a):
        deals_seed()
        # A CRM id a spreadsheet would run as a formula.
        Deal.objects.filter(status=DealStatus.OPEN).order_by("id").filter(
            pk=Deal.objects.filter(status=DealStatus.OPEN).order_by("id").values("pk")[:1]
        ).update(crm_id="=HYPERLINK(1)")
    return tenant_a


def test_train_models_prints_promotion_serving_backtest_and_baselines_as_json(
    commands_tenant: Tenant,
) -> None:
    out = StringIO()

    call_command("train_models", "--tenant", "acme", "--json", stdout=out)

    summary = json.loads(out.getvalue())
    assert (summary["promoted"], summary["model_version"]) == (True, 1)
    for metrics in (
        summary["backtest"],
        summary["baselines"]["base_rate"],
        summary["baselines"]["segment_prior"],
    ):
        assert {"roc_auc", "brier", "log_loss", "n"} <= metrics.keys()
        assert metrics["n"] > 100


def test_train_models_refuses_an_unknown_tenant(db: None) -> None:
    with pytest.raises(CommandError, match="No tenant"):
        call_command("train_models", "--tenant", "nope")


def test_score_deals_writes_crm_ids_scores_bands_versions_and_drivers(
    commands_tenant: Tenant, tenant_b: Tenant, tmp_path: Path
) -> None:
    with tenant_context(tenant_b):  # another tenant's versions do not shift this tenant's number
        ModelVersion.objects.create(serving="base_rate")
    call_command("train_models", "--tenant", "acme", stdout=StringIO())
    target = tmp_path / "scores.csv"

    call_command("score_deals", "--tenant", "acme", "--output", str(target), stderr=StringIO())

    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 40
    assert all(0 < float(row["win_probability"]) < 1 for row in rows)
    assert {row["model"] for row in rows} == {"model"}
    assert {row["model_version"] for row in rows} == {"1"}
    assert any("Partner lead source: −" in row["top_negative_drivers"] for row in rows)
    assert "'=HYPERLINK(1)" in {row["deal_id"] for row in rows}


def test_score_deals_says_why_when_nothing_can_be_scored(in_tenant_a: Tenant) -> None:
    with pytest.raises(CommandError, match="run train_models first"):
        call_command("score_deals", "--tenant", "acme")
