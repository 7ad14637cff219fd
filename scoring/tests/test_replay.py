"""Replayed scores (scoring.services.scores_replay): a version trained only on the past scores
the deals open on each replay day as they looked that day, for the demo's score audit.

Each test seeds the demo tenant and trains on it, so the checks of one replay share a test."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from io import StringIO

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from deals.models import Deal, DealStageChange
from salesintel.testing.data import DEMO_ANCHOR
from scoring import selectors
from scoring.features import open_on
from scoring.models import REPLAY_TRIGGER, CurrentScore, DealScore, ModelVersion
from scoring.selectors import score_audit
from scoring.services import model_train, scores_replay
from tenants.context import tenant_context
from tenants.models import Tenant

START = DEMO_ANCHOR - dt.timedelta(days=120)


def test_a_replay_scores_the_deals_open_each_day_with_a_version_trained_before_it(demo_tenant: Tenant):
    with tenant_context(demo_tenant):
        replay = scores_replay(trained_before=START, until=DEMO_ANCHOR, every_days=30)
        version = ModelVersion.objects.get(pk=replay.version.pk)
        scores = list(DealScore.objects.filter(model_version=version).select_related("deal"))
        day = replay.days[1]
        open_then = set(
            Deal.objects.filter(created_date__lt=day, stage_changes__isnull=False)
            .exclude(closed_date__lte=day)
            .values_list("id", flat=True)
        )
        audit = score_audit(since=START)

    # The version saw only deals closed before its day, never serves, and says it was replayed.
    assert not version.is_active and version.is_replay
    assert version.window_end < START
    assert version.trained_at.date() == START
    assert replay.days == [START + dt.timedelta(days=offset) for offset in (0, 30, 60, 90)]

    # Each score is of a deal open on its day (created before it, closed after it), at noon.
    zone = zoneinfo.ZoneInfo(demo_tenant.timezone)
    assert len(scores) == replay.written > 0
    for score in scores:
        local = score.scored_at.astimezone(zone)
        assert local.date() in replay.days and local.hour == 12
        assert score.trigger == REPLAY_TRIGGER
        assert score.deal.created_date < local.date()
        assert score.deal.closed_date is None or score.deal.closed_date > local.date()
    # Every deal open that day with a recorded history is scored once.
    scored = [score.deal_id for score in scores if score.scored_at.astimezone(zone).date() == day]
    assert sorted(scored) == sorted(open_then)

    # The audit shows the version as replayed; the demo's planted signal makes its scores right.
    [entry] = [entry for entry in audit if entry["version_id"] == version.pk]
    assert entry["replayed"] is True
    assert entry["n"] > 300
    assert entry["roc_auc"] > 0.7
    assert abs(entry["mean_probability"] - entry["win_rate"]) < 0.1


def test_a_replayed_deal_is_seen_in_the_stage_it_was_in_that_day(demo_tenant: Tenant):
    """A deal that moved after a replay day is seen, that day, in its stage before the move,
    with its age and time in stage counted to that day."""
    day = START
    with tenant_context(demo_tenant):
        move = (
            DealStageChange.objects.filter(changed_on__gt=day, deal__created_date__lt=day, from_stage__gt="")
            .exclude(deal__closed_date__lte=day)
            .select_related("deal")
            .order_by("id")
            .first()
        )
        entered = (
            DealStageChange.objects.filter(deal=move.deal, changed_on__lte=day)
            .order_by("-changed_on")
            .first()
        )
        deals = selectors.open_between_deal_frame(start=day, end=day + dt.timedelta(days=1))
        changes = selectors.deal_stage_changes()
    features = open_on(deals, changes, day=pd.Timestamp(day), pipeline=list(demo_tenant.stages))

    row = features.set_index("deal_id").loc[move.deal_id]
    assert row["stage"] == move.from_stage == entered.to_stage
    assert row["age_days"] == (day - move.deal.created_date).days
    assert row["days_in_stage"] == (day - entered.changed_on).days


def test_the_command_replays_without_touching_current_scores_or_the_serving_version(demo_tenant: Tenant):
    with tenant_context(demo_tenant):
        live = model_train()
        current = sorted(CurrentScore.objects.values_list("deal_id", "probability", "model_version_id"))
    out = StringIO()
    call_command("replay_scores", "--tenant", "demo", "--days", "60", "--every-days", "30", stdout=out)

    assert "scores replayed over 2 days" in out.getvalue()
    with tenant_context(demo_tenant):
        assert ModelVersion.objects.get(is_active=True) == live
        assert (
            sorted(CurrentScore.objects.values_list("deal_id", "probability", "model_version_id")) == current
        )
    assert current and all(version_id == live.pk for _, _, version_id in current)
    with pytest.raises(CommandError, match="No tenant"):
        call_command("replay_scores", "--tenant", "nope")


def test_replay_days_must_make_sense(in_tenant_a: Tenant):
    with pytest.raises(ValueError, match="every_days"):
        scores_replay(trained_before=START, until=DEMO_ANCHOR, every_days=0)
    with pytest.raises(ValueError, match="until"):
        scores_replay(trained_before=START, until=START)
