"""Pages on the demo tenant (planted effects, a promoted model): drivers, actions, contributors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.urls import reverse

from scoring.services import model_train
from tenants.context import tenant_context
from tenants.models import Role, Tenant
from tenants.services import membership_grant, user_ensure


@pytest.fixture
def demo_client(client: Client, demo_tenant: Tenant) -> Client:
    with tenant_context(demo_tenant):
        model_train()
    user: AbstractUser = user_ensure(email="cro@demo.test", password="pw-demo-cro-1")
    membership_grant(tenant=demo_tenant, user=user, role=Role.VIEWER)
    client.force_login(user)
    return client


def test_the_demo_pages_show_a_promoted_model_its_drivers_and_next_steps(demo_client: Client):
    board = demo_client.get(reverse("risk_board")).context["board"]
    riskiest = board.rows[0]
    assert riskiest.band == "critical"
    assert "Logistic model" in riskiest.model_label
    assert riskiest.drivers and riskiest.drivers[0]["contribution"] < 0

    page = demo_client.get(reverse("deal_detail", args=[riskiest.deal.pk]))
    body = page.content.decode()
    assert 'data-testid="drivers"' in body
    assert 'data-testid="next-action"' in body
    assert page.context["drivers"][0]["label"] in body

    model = demo_client.get(reverse("model")).content.decode()
    assert "Serving: Logistic model" in model
    assert "beat the base rate" in model

    diagnosis = demo_client.get(reverse("home"))
    assert diagnosis.context["top_contributors"]


def test_the_reps_page_gives_the_team_rate_of_the_window_the_reps_are_ranked_on(demo_client: Client):
    page = demo_client.get(reverse("reps"))
    body = page.content.decode()
    summary, window = page.context["summary"], page.context["doc"]["period"]["rep_window"]
    team = summary["team"]

    assert f"deals closed in the {window['label']}" in body
    assert f"n = {team['n']:,} closed ({team['won']:,} won)" in body
    low, high = team["ci_low"] * 100, team["ci_high"] * 100
    assert f"95% interval {low:.1f}–{high:.1f}%" in body
    [flagged] = page.context["flagged"]
    assert f"<strong>{flagged['name']} converts below the team" in body


def test_the_reps_page_says_why_a_rep_is_flagged_in_words_its_numbers_bear_out(demo_client: Client):
    page = demo_client.get(reverse("reps"))
    body = page.content.decode()
    summary = page.context["summary"]
    [flagged] = page.context["flagged"]

    # The reason quotes the flag's own interval, which lies below the team's rate.
    assert flagged["flag_ci_high"] < summary["team_rate"]
    reason = (
        f"{flagged['won']} of {flagged['n']} won ({flagged['win_rate'] * 100:.1f}%). "
        f"Allowing for the {len(page.context['ranked'])} reps compared, the rate is at most "
        f"{flagged['flag_ci_high'] * 100:.1f}%, below the team's {summary['team_rate'] * 100:.1f}%."
    )
    assert reason in body
    # The shrunk interval shown beside it agrees; a rep left unshrunk is marked so in the table.
    assert flagged["shrunk_ci_high"] < summary["team_rate"]
    own = [rep for rep in page.context["doc"]["reps"] if rep["own_record"]]
    assert body.count('data-testid="own-record"') == len(own)
    # Each ranked rep's range of ranks is shown beside its rank.
    ranked = page.context["ranked"]
    assert body.count('data-testid="rank-range"') == len(ranked)
    best = ranked[0]
    assert f'data-testid="rank-range">{best["rank_low"]}–{best["rank_high"]}</td>' in body


def test_a_drivers_typical_is_what_won_deals_did_as_on_the_stage_timeline(
    demo_client: Client, demo_tenant: Tenant
):
    """ "84 days in Qualified (typical 8)" quotes the median time won deals spent in the stage and
    "Open 84 days (typical 39)" their median winning cycle: the deal page's timeline and the
    alerts quote the same, so one page never gives two typical times for one stage."""
    import datetime as dt

    from insights.selectors import stage_time_p75_days, winning_cycle_days
    from scoring.models import ModelVersion

    with tenant_context(demo_tenant):
        version = ModelVersion.objects.get(is_active=True)
        end = version.window_end + dt.timedelta(days=1)
        start = end - dt.timedelta(days=365)
        won_stage_days = {
            stage: stat.median_days
            for (stage, values), stat in stage_time_p75_days(closed_from=start, closed_before=end).items()
            if values == ()
        }
        cycle = winning_cycle_days(closed_from=start, closed_before=end)[()]

    assert won_stage_days
    for stage, days in won_stage_days.items():
        assert version.typical["days_in_stage_by_stage"][stage] == days
    assert version.typical["age_days"] == cycle.median_days


def test_a_contributor_within_noise_says_so_once_and_is_not_drawn_as_a_finding(demo_client: Client):
    page = demo_client.get(reverse("home"))
    body = page.content.decode()
    contributors = page.context["top_contributors"]
    noisy = [c for c in contributors if not c["significant"]]

    assert noisy and len(noisy) < len(contributors)
    assert body.count('data-testid="contributor-noise"') == len(noisy)
    assert "Within noise (adjusted" not in body
    for contributor in noisy:
        assert contributor["summary"].count("within noise") == 1


def test_each_contributor_shows_the_points_its_sentence_gives_and_is_ranked_by(demo_client: Client):
    import re

    page = demo_client.get(reverse("home"))
    contributors = page.context["top_contributors"]
    shown = re.findall(r'data-testid="contributor-pts">([^<]+)<', page.content.decode())

    assert any(c["adjusted_contribution"] != c["contribution"] for c in contributors)
    sizes = [abs(c["adjusted_contribution"]) for c in contributors]
    assert sizes == sorted(sizes, reverse=True)
    for contributor, text in zip(contributors, shown, strict=True):
        points = abs(contributor["adjusted_contribution"]) * 100
        assert text.replace("−", "-") == f"{contributor['adjusted_contribution'] * 100:+.1f} pts"
        assert f"{points:.1f} pts" in contributor["summary"]


def test_the_rep_page_gives_the_team_rate_with_its_interval_and_size(demo_client: Client):
    reps = demo_client.get(reverse("reps")).context
    [flagged] = reps["flagged"]
    team = reps["summary"]["team"]

    body = demo_client.get(reverse("rep_detail", args=[flagged["rep_id"]])).content.decode()

    low, high = team["ci_low"] * 100, team["ci_high"] * 100
    assert f"95% interval {low:.1f}–{high:.1f}% · n = {team['n']:,} closed" in body


def test_the_model_page_audits_replayed_scores_and_marks_them_replayed(
    demo_client: Client, demo_tenant: Tenant
):
    import datetime as dt

    from salesintel.testing.data import DEMO_ANCHOR
    from scoring.services import scores_replay

    with tenant_context(demo_tenant):
        replay = scores_replay(
            trained_before=DEMO_ANCHOR - dt.timedelta(days=120), until=DEMO_ANCHOR, every_days=30
        )
    response = demo_client.get(reverse("model"))

    [entry] = [item for item in response.context["audit"] if item["version_id"] == replay.version.pk]
    assert entry["n"] > 0 and entry["replayed"]
    # Marked in the audit table and in the training runs; the win rate with its interval.
    body = response.content.decode()
    assert body.count('data-testid="replayed"') == 2
    low, high = entry["win_rate_ci_low"] * 100, entry["win_rate_ci_high"] * 100
    assert f"({low:.1f}%–{high:.1f}%)" in body

    # An open deal's page says which of its points were replayed.
    with tenant_context(demo_tenant):
        from scoring.models import DealScore

        replayed = (
            DealScore.objects.filter(model_version=replay.version, deal__status="open")
            .order_by("-scored_at", "deal_id")
            .first()
        )
    deal_page = demo_client.get(reverse("deal_detail", args=[replayed.deal_id])).content.decode()
    assert 'data-testid="replayed-note"' in deal_page
    note = f"were replayed by {replay.version.label}, a model trained only on deals closed before"
    assert note in deal_page
