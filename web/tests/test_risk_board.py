"""The risk board: open deals of the tenant only, filters, search, sort, pages, HTMX fragments,
and a fixed number of queries however many deals there are."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from deals.models import Deal, DealStatus
from scoring.models import CurrentScore
from scoring.services import model_train
from tenants.context import tenant_context
from web.selectors import BANDS
from web.tests.conftest import build_pipeline


def board_crm_ids(response) -> list[str]:
    return [row.deal.crm_id for row in response.context["board"].rows]


def test_the_board_lists_only_open_deals_of_the_tenant(admin_client: Client, pipeline_a, deal_b):
    response = admin_client.get(reverse("risk_board"))
    assert response.status_code == 200
    board = response.context["board"]
    assert board.totals.deals == 60
    assert all(row.deal.status == DealStatus.OPEN for row in board.rows)
    assert b"B-SECRET-1" not in response.content


def test_totals_sum_the_amounts_of_every_matching_deal_not_just_the_page(admin_client, pipeline_a, tenant_a):
    with tenant_context(tenant_a):
        expected = sum(d.amount for d in Deal.objects.filter(status=DealStatus.OPEN, region="Europe"))
    response = admin_client.get(reverse("risk_board"), {"region": "Europe"})
    assert response.context["board"].totals.raw_pipeline == expected


def test_filters_combine(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("risk_board"), {"stage": "Demo", "industry": "SaaS"})
    rows = response.context["board"].rows
    assert rows
    assert all(row.deal.stage == "Demo" and row.deal.industry == "SaaS" for row in rows)


def test_the_amount_range_bounds_are_inclusive(admin_client: Client, open_deal_a):
    inside = admin_client.get(reverse("risk_board"), {"amount_min": "48000", "amount_max": "48000"})
    outside = admin_client.get(reverse("risk_board"), {"amount_min": "48001"})
    assert board_crm_ids(inside) == ["A-OPEN-1"]
    assert board_crm_ids(outside) == []


def test_search_matches_the_name_or_the_crm_id(admin_client: Client, open_deal_a, pipeline_a):
    by_name = admin_client.get(reverse("risk_board"), {"q": "platform expan"})
    by_id = admin_client.get(reverse("risk_board"), {"q": "a-open"})
    assert board_crm_ids(by_name) == ["A-OPEN-1"]
    assert board_crm_ids(by_id) == ["A-OPEN-1"]


def test_the_rep_filter_keeps_that_reps_deals(admin_client: Client, open_deal_a, pipeline_a):
    response = admin_client.get(reverse("risk_board"), {"rep": open_deal_a.rep_id})
    assert board_crm_ids(response) == ["A-OPEN-1"]


def test_sorting_by_amount_ascending_puts_the_smallest_deal_first(admin_client: Client, pipeline_a):
    rows = admin_client.get(reverse("risk_board"), {"sort": "amount"}).context["board"].rows
    amounts = [row.deal.amount for row in rows]
    assert amounts == sorted(amounts)


def test_the_default_sort_puts_the_largest_deal_first(admin_client: Client, pipeline_a):
    rows = admin_client.get(reverse("risk_board")).context["board"].rows
    amounts = [row.deal.amount for row in rows]
    assert amounts == sorted(amounts, reverse=True)


def test_pages_partition_the_deals(admin_client: Client, pipeline_a):
    pages = [admin_client.get(reverse("risk_board"), {"page": n}).context["board"] for n in (1, 2, 3)]
    ids = [row.deal.pk for board in pages for row in board.rows]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert pages[2].has_next is False


def test_a_page_past_the_end_shows_the_last_page(admin_client: Client, pipeline_a):
    board = admin_client.get(reverse("risk_board"), {"page": 99}).context["board"]
    assert board.page == 3


def test_invalid_filter_values_are_ignored_rather_than_failing(admin_client: Client, pipeline_a):
    response = admin_client.get(
        reverse("risk_board"), {"amount_min": "lots", "sort": "DROP TABLE", "page": "x"}
    )
    assert response.status_code == 200
    assert response.context["board"].totals.deals == 60


def test_an_htmx_request_gets_only_the_board_fragment(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("risk_board"), {"stage": "Demo"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'data-testid="risk-board"' in body
    assert 'id="board-sort"' in body and 'hx-swap-oob="true"' in body
    assert "HX-Request" in response["Vary"]


def test_a_full_page_load_also_varies_on_hx_request(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("risk_board"))
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restores_get_the_full_page(admin_client: Client, pipeline_a):
    response = admin_client.get(
        reverse("risk_board"), HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_deal_names_are_escaped(admin_client: Client, tenant_a):
    with tenant_context(tenant_a):
        Deal.objects.create(
            crm_id="X-1",
            name='<script>window.__xss=1</script><img src=x onerror="alert(1)">',
            created_date=dt.date(2025, 1, 1),
            stage="Demo",
            amount=Decimal("100"),
        )
    body = admin_client.get(reverse("risk_board")).content.decode()
    assert "<script>window.__xss" not in body
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in body


def test_the_first_page_costs_the_same_queries_for_many_deals_as_for_few(
    admin_client: Client, tenant_a, scored_pipeline_a, django_assert_max_num_queries
):
    admin_client.get(reverse("risk_board"))  # warm the filter-menu cache and the session
    with django_assert_max_num_queries(20):
        admin_client.get(reverse("risk_board"))
    with tenant_context(tenant_a):
        build_pipeline(today=dt.date.today(), closed=50, open_deals=200, seed=3)
        model_train(min_won=30, min_lost=30)
    with django_assert_max_num_queries(20):
        response = admin_client.get(reverse("risk_board"))
    board = response.context["board"]
    assert len(board.rows) == 25
    assert all(row.probability is not None for row in board.rows)


def test_scores_fill_the_board_and_weight_the_pipeline(admin_client: Client, tenant_a, scored_pipeline_a):
    board = admin_client.get(reverse("risk_board")).context["board"]
    assert board.totals.scored_deals == board.totals.deals == 61
    with tenant_context(tenant_a):
        expected = sum(
            float(score.deal.amount) * score.probability
            for score in CurrentScore.objects.select_related("deal").filter(deal__status="open")
        )
    assert float(board.totals.weighted_pipeline) == pytest.approx(expected, rel=1e-6)
    row = board.rows[0]
    assert row.band in BANDS
    assert row.model_label.startswith("v") and "(baseline)" in row.model_label


def test_with_scores_the_default_order_is_riskiest_first(admin_client: Client, scored_pipeline_a):
    board = admin_client.get(reverse("risk_board")).context["board"]
    assert board.filters.sort == "risk"
    probabilities = [row.probability for row in board.rows]
    assert probabilities == sorted(probabilities)


def test_the_band_filter_keeps_deals_of_that_band(admin_client: Client, scored_pipeline_a):
    band = admin_client.get(reverse("risk_board")).context["board"].rows[0].band
    rows = admin_client.get(reverse("risk_board"), {"band": band}).context["board"].rows
    assert rows and {row.band for row in rows} == {band}
    other = next(b for b in BANDS if b != band)
    assert admin_client.get(reverse("risk_board"), {"band": other}).context["board"].totals.deals == 0


def test_without_scores_the_board_says_so_and_sorts_by_amount(admin_client: Client, pipeline_a):
    response = admin_client.get(reverse("risk_board"))
    assert response.context["board"].filters.sort == "-amount"
    assert response.context["board"].totals.weighted_pipeline is None
    assert "No deal has a score yet" in response.content.decode()


@pytest.mark.parametrize("sort", ["name", "-amount", "age", "-stage_time", "stage"])
def test_every_sort_key_renders(admin_client: Client, pipeline_a, sort):
    assert admin_client.get(reverse("risk_board"), {"sort": sort}).status_code == 200


def test_riskiest_first_pages_cover_every_deal_with_unscored_deals_last(
    admin_client: Client, tenant_a, scored_pipeline_a
):
    with tenant_context(tenant_a):
        late = [
            Deal.objects.create(
                crm_id=f"LATE-{i}", created_date=dt.date.today(), stage="Demo", amount=Decimal("1000")
            )
            for i in range(5)
        ]
        CurrentScore.objects.filter(deal__in=late).delete()
    rows = [
        row
        for page in (1, 2, 3)
        for row in admin_client.get(reverse("risk_board"), {"page": page}).context["board"].rows
    ]
    assert len(rows) == 66 and len({row.deal.pk for row in rows}) == 66
    scored = [row.probability for row in rows[:61]]
    assert None not in scored and scored == sorted(scored)
    assert [row.deal.pk for row in rows[61:]] == sorted(deal.pk for deal in late)
    assert all(row.probability is None for row in rows[61:])


@pytest.mark.parametrize("safest_ranked", [9, 0], ids=["both-ranked", "riskiest-ranked-only"])
@pytest.mark.parametrize(
    "query", [{}, {"sort": "-risk"}, {"stage": "Demo"}, {"sort": "-risk", "stage": "Demo"}]
)
def test_pages_by_risk_read_the_ranked_scores_then_the_rest_in_one_order(
    admin_client: Client, tenant_a, scored_pipeline_a, query, safest_ranked
):
    # Distinct probabilities, the nine lowest risk-ranked and (or not) the nine highest
    # safe-ranked, as a full scoring pass leaves them (scoring's own tests check that it does).
    with tenant_context(tenant_a), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE scoring_currentscore SET risk_rank = NULL, safe_rank = NULL, "
            "probability = mod(deal_id * 37, 61) / 100.0 + 0.05"
        )
        cursor.execute(
            """
            UPDATE scoring_currentscore c SET risk_rank = c.probability
            FROM (SELECT deal_id FROM scoring_currentscore ORDER BY probability, deal_id LIMIT 9) r
            WHERE c.deal_id = r.deal_id
            """
        )
        cursor.execute(
            """
            UPDATE scoring_currentscore c SET safe_rank = c.probability
            FROM (SELECT deal_id FROM scoring_currentscore
                  ORDER BY probability DESC, deal_id DESC LIMIT %s) r
            WHERE c.deal_id = r.deal_id
            """,
            [safest_ranked],
        )
        deal_filters = {f"deal__{key}": value for key, value in query.items() if key != "sort"}
        order = ("-probability", "-deal_id") if query.get("sort") == "-risk" else ("probability", "deal_id")
        expected = list(
            CurrentScore.objects.filter(deal__status="open", **deal_filters)
            .order_by(*order)
            .values_list("deal_id", flat=True)
        )
        assert expected and CurrentScore.objects.filter(risk_rank__isnull=False).count() == 9
        assert CurrentScore.objects.filter(safe_rank__isnull=False).count() == safest_ranked
    boards = [admin_client.get(reverse("risk_board"), {**query, "page": 1}).context["board"]]
    while boards[-1].has_next:
        boards.append(
            admin_client.get(reverse("risk_board"), {**query, "page": boards[-1].page + 1}).context["board"]
        )
    pages = [[row.deal.pk for row in board.rows] for board in boards]
    assert [deal_id for page in pages for deal_id in page] == expected
