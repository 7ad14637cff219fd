"""End to end in Debian's Chromium (Playwright) against the live server: sign in, the risk board's
HTMX filters, a deal, the diagnosis, escaping of CRM text, alerts, the import wizard with its
progress bar on a real Celery worker, and the tenant switcher."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from alerts.models import Alert, AlertState
from deals.models import Deal
from tenants.context import tenant_context
from tenants.models import Role
from tenants.services import membership_grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADA = ("ada@acme.test", "pw-acme-123")
XSS_NAME = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


def test_signing_in_lands_on_the_diagnosis(page: Any, live_server: Any, sign_in: Any, user_a, pipeline_a):
    sign_in(page, *ADA)
    assert page.url == f"{live_server.url}/"
    page.get_by_role("heading", name="Win-rate diagnosis").wait_for()
    assert page.get_by_text("Acme Corp").first.is_visible()


def test_a_wrong_password_keeps_the_visitor_on_the_sign_in_page(page: Any, live_server: Any, user_a):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(ADA[0])
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Please enter a correct").wait_for()
    assert "/login/" in page.url


def test_filtering_the_risk_board_swaps_the_rows_and_updates_the_url(
    page: Any, live_server: Any, sign_in: Any, user_a, pipeline_a
):
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/deals/")
    # A marker on window survives an HTMX swap but not a page load.
    page.evaluate("window.__stayed = true")
    page.get_by_label("Stage").select_option("Demo")
    page.wait_for_url(re.compile(r"/deals/\?stage=Demo$"))
    page.wait_for_function("document.querySelectorAll('[data-testid=risk-board] tbody tr').length > 0")
    stages = page.locator("[data-testid=risk-board] tbody tr td:nth-child(7)").all_inner_texts()
    assert stages and set(stages) == {"Demo"}
    assert page.evaluate("window.__stayed") is True
    # The URL is a bookmark: opening it fresh shows the same filtered board.
    page.goto(page.url)
    assert page.get_by_label("Stage").input_value() == "Demo"


def test_sorting_and_searching_the_board_keep_the_url_in_step(
    page: Any, live_server: Any, sign_in: Any, user_a, pipeline_a, open_deal_a
):
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/deals/")
    page.get_by_label("Search").fill("platform expansion")
    page.wait_for_url(re.compile(r"q=platform(%20|\+)expansion"))
    page.get_by_text("Acme platform expansion").wait_for()
    assert page.locator("[data-testid=deal-count]").inner_text() == "1"


def test_opening_a_deal_from_the_board_shows_its_page(
    page: Any, live_server: Any, sign_in: Any, user_a, open_deal_a
):
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/deals/")
    page.get_by_role("link", name="Acme platform expansion").click()
    page.wait_for_url(f"{live_server.url}/deals/{open_deal_a.pk}/")
    assert page.locator("[data-testid=deal-name]").inner_text() == "Acme platform expansion"
    assert page.get_by_role("heading", name="Stage timeline").is_visible()


def test_the_diagnosis_shows_rates_with_intervals_and_swaps_on_a_new_period(
    page: Any, live_server: Any, sign_in: Any, user_a, pipeline_a
):
    sign_in(page, *ADA)
    headline = page.locator("[data-testid=headline]")
    assert re.search(r"95% interval \d+\.\d–\d+\.\d%", headline.inner_text())
    assert re.search(r"n = \d+", headline.inner_text())
    assert page.locator("[data-testid=trend-chart] svg[role=img]").count() == 1
    page.evaluate("window.__stayed = true")
    page.get_by_label("Period", exact=True).select_option("year")
    page.wait_for_url(re.compile(r"period=year"))
    last_year = dt.date.today().year - 1
    page.wait_for_function(
        f"document.querySelector('[data-testid=headline]').textContent.includes('Win rate · {last_year}')"
    )
    assert page.evaluate("window.__stayed") is True


def test_html_in_a_deal_name_is_shown_as_text_and_never_runs(
    page: Any, live_server: Any, sign_in: Any, user_a, tenant_a
):
    with tenant_context(tenant_a):
        deal = Deal.objects.create(
            crm_id="XSS-1",
            name=XSS_NAME,
            created_date=dt.date.today() - dt.timedelta(days=5),
            stage="Demo",
            amount=Decimal("1000"),
            industry="<b>bold</b>",
        )
    sign_in(page, *ADA)
    for path in ("/deals/", "/deals/?q=XSS", f"/deals/{deal.pk}/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None
    assert page.locator("[data-testid=deal-name]").inner_text() == XSS_NAME


def test_a_manager_acknowledges_an_alert_in_place(
    page: Any, live_server: Any, sign_in: Any, manager_a, alerts_a, tenant_a
):
    sign_in(page, "max@acme.test", "pw-max@acme.test")
    page.goto(f"{live_server.url}/alerts/")
    page.evaluate("window.__stayed = true")
    row = page.locator(f"#alert-{alerts_a[0].pk}")
    row.get_by_role("button", name="Acknowledge").click()
    page.locator(f"#alert-{alerts_a[0].pk} [data-testid=alert-state]").filter(
        has_text="Acknowledged"
    ).wait_for()
    assert page.evaluate("window.__stayed") is True
    with tenant_context(tenant_a):
        assert Alert.objects.get(pk=alerts_a[0].pk).state == AlertState.ACKNOWLEDGED


def _standard_csv(rows: int) -> str:
    header = (
        "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
        "deal_stage,deal_amount,sales_cycle_days,outcome\n"
    )
    lines = [
        f"W{i:06d},2024-01-{1 + i % 28:02d},2024-03-{1 + i % 28:02d},rep_{i % 9},SaaS,Europe,Pro,Inbound,"
        f"Proposal,{1000 + i},,{'Won' if i % 3 else 'Lost'}"
        for i in range(rows)
    ]
    return header + "\n".join(lines) + "\n"


@pytest.mark.celery_worker
def test_the_import_wizard_runs_end_to_end_with_a_progress_bar(
    page: Any, live_server: Any, sign_in: Any, user_a, tenant_a, celery_worker_process, tmp_path
):
    csv_path = tmp_path / "crm-export.csv"
    csv_path.write_text(_standard_csv(20_000))
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/settings/imports/")
    page.get_by_label("CSV file").set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(re.compile(r"/settings/imports/[0-9a-f]+/map/$"))
    assert page.get_by_label("Deal field for deal_amount").input_value() == "amount"
    page.get_by_role("button", name="Check the file (dry run)").click()
    page.wait_for_url(re.compile(r"/settings/imports/[0-9a-f]+/$"))
    status_url = page.url
    assert page.locator("#job progress").count() == 1
    page.locator("[data-testid=job][data-phase=done]").wait_for(timeout=60_000)
    assert "The file is valid." in page.locator("[data-testid=job]").inner_text()
    with tenant_context(tenant_a):
        assert Deal.objects.count() == 0
    page.get_by_role("button", name=re.compile(r"Import 20,000 rows now")).click()
    page.wait_for_url(status_url)
    assert page.locator("#job progress").count() == 1
    page.locator("[data-testid=job][data-phase=done]").wait_for(timeout=60_000)
    assert "Imported." in page.locator("[data-testid=job]").inner_text()
    assert page.url == status_url
    with tenant_context(tenant_a):
        assert Deal.objects.count() == 20_000
    page.goto(f"{live_server.url}/settings/imports/")
    assert "crm-export.csv" in page.locator("[data-testid=import-history]").inner_text()


def test_a_member_of_two_organisations_switches_between_them(
    page: Any, live_server: Any, sign_in: Any, user_a, tenant_a, tenant_b, deal_b, open_deal_a
):
    membership_grant(tenant=tenant_b, user=user_a, role=Role.VIEWER)
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/deals/")
    assert page.get_by_text("Acme platform expansion").is_visible()
    page.get_by_label("Organisation").select_option(label="Globex")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/deals/")
    assert page.get_by_text("Globex secret deal").is_visible()
    assert page.get_by_text("Acme platform expansion").count() == 0
    # Globex made Ada a viewer: no Admin entry in the navigation there.
    assert page.get_by_role("link", name="Admin").count() == 0


def test_the_briefing_renders_and_prints_to_one_or_two_a4_pages(
    page: Any, live_server: Any, sign_in: Any, demo_tenant
):
    from scoring.services import model_train
    from tenants.quota import tenant_quota_set
    from tenants.services import user_ensure

    with tenant_context(demo_tenant):
        model_train()
    tenant_quota_set(tenant=demo_tenant, quota="3000000")
    user = user_ensure(email="cro@demo.test", password="pw-demo-cro-1")
    membership_grant(tenant=demo_tenant, user=user, role=Role.VIEWER)
    sign_in(page, "cro@demo.test", "pw-demo-cro-1")
    page.goto(f"{live_server.url}/briefing/")
    page.locator("[data-testid=briefing-summary] li").first.wait_for()
    assert page.locator("[data-testid=forecast-chart] svg").count() == 1
    assert "Quota $3.00M: expected attainment" in page.locator("[data-testid=forecast-quota]").inner_text()
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, f"the briefing printed to {pages} pages"


def test_an_admin_writes_a_next_action_and_restores_the_default(
    page: Any, live_server: Any, sign_in: Any, user_a, tenant_a
):
    sign_in(page, *ADA)
    page.goto(f"{live_server.url}/settings/")
    page.get_by_role("link", name="Next actions").first.click()
    page.wait_for_url(f"{live_server.url}/settings/next-actions/")
    card = page.locator("[data-testid=next-action-lead_source]")
    card.get_by_label("Recommended step").fill("Ask the partner manager to join the next call.")
    card.get_by_role("button", name="Save").click()

    page.get_by_text("Saved the next action for lead source.").wait_for()
    card = page.locator("[data-testid=next-action-lead_source]")
    assert "Deals show: “Ask the partner manager to join the next call.”" in card.inner_text()
    card.get_by_role("button", name="Use the default").click()

    page.get_by_text("The next action for lead source is the default again.").wait_for()
    text = page.locator("[data-testid=next-action-lead_source]").inner_text()
    assert "Weak lead source: confirm the pain" in text
    assert "yours" not in text
