"""The briefing document, `manage.py briefing`, and the digest header built from it."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command

from insights import briefing
from salesintel.testing.data import DEMO_ANCHOR
from scoring.services import model_train
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.quota import tenant_quota_set

DEMO_AS_OF = DEMO_ANCHOR + dt.timedelta(days=1)
SECTIONS = {
    "headline",
    "top_contributors",
    "forecast",
    "risk_deals",
    "focus",
    "velocity",
    "concentration",
    "seasonality",
    "alerts",
    "summary",
}


@pytest.fixture
def demo_document(demo_tenant: Tenant) -> dict:
    return briefing.briefing(tenant=demo_tenant, as_of=DEMO_AS_OF, quota=12_000_000, simulations=2_000)


def test_the_demo_briefing_has_every_section_and_is_plain_json(demo_document):
    assert set(demo_document) >= SECTIONS
    assert json.loads(json.dumps(demo_document)) == demo_document


def test_the_headline_is_the_last_complete_quarters_win_rate_with_its_interval(demo_document):
    headline = demo_document["headline"]
    assert (headline["current"]["period"], headline["baseline"]["period"]) == ("2026Q3", "2026Q2")
    assert headline["current"]["ci_low"] < headline["current"]["rate"] < headline["current"]["ci_high"]
    assert headline["distinguishable_from_noise"] is True


def test_the_top_contributor_is_the_planted_partner_mix_shift(demo_document):
    top = demo_document["top_contributors"][0]
    assert (top["value"], top["effect"]) == ("Partner", "mix")


def test_the_forecast_is_for_the_quarter_in_progress_against_the_quota(demo_document):
    projection = demo_document["forecast"]
    assert projection["quarter"]["label"] == "2026Q4"
    assert projection["p10"] < projection["expected"] < projection["p90"]
    assert projection["quota"] == 12_000_000
    assert 0 < projection["probability_of_quota"] < 1
    assert projection["method"] == "segment_prior"


def test_the_summary_reads_the_sections_in_order(demo_document):
    summary = demo_document["summary"]
    assert summary[0] == demo_document["headline"]["verdict"]
    assert summary[1] == demo_document["forecast"]["summary"]
    assert demo_document["focus"]["summary"] in summary
    assert "Partner" in demo_document["focus"]["summary"]


def test_a_tenant_without_deals_gets_a_briefing_that_says_so(tenant_a: Tenant):
    document = briefing.briefing(tenant=tenant_a, simulations=500)
    assert document["forecast"]["expected"] == 0
    assert document["focus"]["segments"] == []
    assert document["seasonality"]["verdict"] == "not enough history"
    assert document["concentration"]["summary"] == "No won or open deals to measure concentration on."


def test_one_tenants_briefing_never_counts_another_tenants_deals(demo_tenant: Tenant, tenant_a: Tenant):
    document = briefing.briefing(tenant=tenant_a, as_of=DEMO_AS_OF, simulations=500)
    assert document["forecast"]["n_open"] == 0
    assert document["velocity"]["overall"]["n_closed"] == 0


def test_from_today_the_forecast_uses_the_scores_and_lists_the_riskiest_deals(demo_tenant: Tenant):
    with tenant_context(demo_tenant):
        model_train()
    document = briefing.briefing(tenant=demo_tenant, simulations=500)
    assert document["forecast"]["method"] == "scores"
    assert document["risk_deals"]["source"] == "scores"
    amounts = [deal["amount"] for deal in document["risk_deals"]["deals"]]
    assert amounts and amounts == sorted(amounts, reverse=True)


def test_the_digest_header_carries_the_forecast_interval_focus_and_alerts(demo_tenant, demo_document):
    header = briefing.briefing_digest_header(tenant=demo_tenant, document=demo_document)
    projection = demo_document["forecast"]
    assert header["forecast"]["quarter"] == "2026Q4"
    assert (header["forecast"]["p10"], header["forecast"]["p90"]) == (projection["p10"], projection["p90"])
    assert header["deprioritise"][0] == demo_document["focus"]["deprioritise"][0]
    assert header["alerts"]["summary"] == "No open alerts."
    assert header["lines"][:2] == [demo_document["headline"]["verdict"], projection["summary"]]
    assert (header["forecast"]["quota"], header["forecast"]["quota_source"]) == (12_000_000, "argument")
    assert header["forecast"]["probability_of_quota"] == projection["probability_of_quota"]
    current = demo_document["headline"]["current"]
    assert (header["headline"]["n"], header["headline"]["ci_low"]) == (current["n"], current["ci_low"])


def test_the_digest_focus_list_carries_intervals_and_counts_the_segments_without_evidence(
    demo_tenant, demo_document
):
    focus_list = briefing.briefing_digest_header(tenant=demo_tenant, document=demo_document)["focus_list"]
    segments = demo_document["focus"]["segments"]
    partner = next(row for row in focus_list["deprioritise"] if row["value"] == "Partner")
    assert partner["ci_high"] < focus_list["tenant_average"]
    assert focus_list["compared"] == len(segments)
    assert focus_list["no_evidence"] == sum(s["label"] == "no evidence either way" for s in segments)
    assert focus_list["counts"]["deprioritise"] == len(demo_document["focus"]["deprioritise"])


def test_the_command_prints_the_briefing_as_json(demo_tenant):
    out = io.StringIO()
    call_command("briefing", "--tenant", "demo", "--as-of", DEMO_AS_OF.isoformat(), "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert set(document) >= SECTIONS
    assert document["as_of"] == "2026-11-16"
    assert "Partner" in document["focus"]["deprioritise"]


def test_without_json_the_command_prints_the_summary_sentences(tenant_a: Tenant):
    out = io.StringIO()
    call_command("briefing", "--tenant", "acme", "--quota", "500000", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Acme Corp: CRO briefing as of ")
    assert any("Quota $500.0k" in line for line in lines)


def test_the_command_forecasts_against_the_tenants_quota_unless_the_flag_overrides_it(tenant_a: Tenant):
    tenant_quota_set(tenant=tenant_a, quota="750000")

    def forecast(*flags: str) -> dict:
        out = io.StringIO()
        call_command("briefing", "--tenant", "acme", "--json", *flags, stdout=out)
        return json.loads(out.getvalue())["forecast"]

    stored, flagged = forecast(), forecast("--quota", "500000")
    assert (stored["quota"], stored["quota_source"]) == (750_000, "tenant")
    assert (flagged["quota"], flagged["quota_source"]) == (500_000, "argument")
    assert "Quota $750.0k" in stored["summary"]


def test_without_any_quota_the_forecast_has_none(tenant_a: Tenant):
    projection = briefing.quarter_forecast(tenant=tenant_a, simulations=200)
    assert (projection["quota"], projection["quota_source"], projection["probability_of_quota"]) == (
        None,
        None,
        None,
    )


def test_the_backtest_flag_adds_the_replays(tenant_a: Tenant):
    out = io.StringIO()
    call_command("briefing", "--tenant", "acme", "--backtest", "--json", stdout=out)
    backtest = json.loads(out.getvalue())["forecast_backtest"]
    assert (backtest["n"], backtest["meets_target"]) == (0, False)
    assert backtest["summary"].startswith("Not enough history")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--tenant", "nope"], "No tenant with slug 'nope'"),
        (["--tenant", "acme", "--as-of", "15/11/2026"], "--as-of must be a date"),
        (["--tenant", "acme", "--quota", "-5"], "--quota must be positive"),
    ],
)
def test_bad_arguments_are_refused_with_a_reason(tenant_a: Tenant, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("briefing", *arguments, stdout=io.StringIO())


def test_new_business_amounts_come_in_one_order_whatever_the_table_order(in_tenant_a) -> None:
    """The forecast resamples these amounts by position with a seeded generator: an unordered
    read let the 80% interval move between two renders of one day (a digest vs the page)."""
    from insights import briefing_selectors
    from insights.tests.factories import DealSpec, deals_create

    closed = dt.date(2025, 2, 10)
    deals_create(DealSpec(closed=closed, amount=amount, cycle_days=5) for amount in (900, 100, 500, 300))
    windows = [(dt.date(2025, 1, 1), dt.date(2025, 4, 1)), (dt.date(2024, 10, 1), dt.date(2025, 1, 1))]

    amounts = briefing_selectors.won_created_within(windows=windows)

    assert amounts["window"].tolist() == [0, 0, 0, 0]
    assert amounts["amount"].tolist() == [100.0, 300.0, 500.0, 900.0]
