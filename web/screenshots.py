"""Screenshots of the main pages with the demo data, for docs/ui.md and the README.

    .venv/bin/python -m web.screenshots [--out docs/screenshots] [--keep-db]

Builds a throwaway database (``screenshots_web``, with the test-database machinery, so the
development database is never touched), seeds the demo tenants as ``seed_demo`` does, trains
the demo tenant's model, stores the monthly segment metrics, runs the daily alert checks,
serves the app on a free local port and drives Debian's Chromium (Playwright) at 1440×900.
Writes one PNG per page (and a phone-sized risk board) and prints what it wrote.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "screenshots_web"
VIEWPORT = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    os.environ["TEST_DATABASE_NAME"] = DATABASE_NAME
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are sequential.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django

    django.setup()
    from django.conf import settings

    from salesintel.celery import app

    # Tasks the seeding triggers (rescoring after the import) run here, against this database,
    # instead of waiting in the development broker for a worker pointed at another database.
    app.conf.task_always_eager = True
    # Serve static files from the app directories (no collectstatic manifest needed).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _seed() -> dict[str, Any]:
    """Demo tenants, users, a trained model, monthly metrics and today's alerts."""
    import datetime as dt

    from alerts.services import alert_checks_run
    from deals.demo_seed import DEMO_ADMIN_EMAIL, DEMO_MANAGER_EMAIL, DEMO_PASSWORD, demo_setup
    from deals.models import Deal, DealStatus
    from insights.periods import add_months, month_start
    from insights.services import segment_metrics_refresh
    from scoring.services import REPLAY_DAYS, model_train, scores_replay
    from tenants.context import tenant_context

    result = demo_setup(password=DEMO_PASSWORD)
    demo = result.demo.tenant
    with tenant_context(demo):
        today = dt.date.today()
        scores_replay(trained_before=today - dt.timedelta(days=REPLAY_DAYS), until=today)
        model_train()
        for offset in range(1, 25):
            segment_metrics_refresh(month=add_months(month_start(today), -offset))
        alert_checks_run(as_of=today)
        riskiest = (
            Deal.objects.filter(status=DealStatus.OPEN, current_scores__band="critical")
            .order_by("-amount")
            .first()
        )
    return {
        "admin": (DEMO_ADMIN_EMAIL, DEMO_PASSWORD),
        "manager": (DEMO_MANAGER_EMAIL, DEMO_PASSWORD),
        "deal_id": riskiest.pk if riskiest else None,
    }


def _serve() -> Any:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    server = LiveServerThread("localhost", StaticFilesHandler)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    return server


def _shoot(base_url: str, seeded: dict[str, Any], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from salesintel.testing.browser import launch_chromium

    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport=VIEWPORT, locale="en-US", device_scale_factor=1)
        page = context.new_page()
        page.set_default_timeout(60_000)

        def shot(name: str, path: str, before: Callable[[], None] | None = None) -> None:
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("networkidle")
            if before is not None:
                before()
            target = out / f"{name}.png"
            page.screenshot(path=str(target))
            written.append(target)

        shot("sign-in", "/login/")
        email, password = seeded["admin"]
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base_url}/")

        shot("diagnosis", "/")
        shot(
            "diagnosis-decomposition", "/", lambda: page.locator("#waterfall-h").scroll_into_view_if_needed()
        )
        shot("briefing", "/briefing/?quota=11000000")
        shot("risk-board", "/deals/")
        shot("risk-board-filtered", "/deals/?lead_source=Partner&band=critical")
        if seeded["deal_id"]:
            shot("deal", f"/deals/{seeded['deal_id']}/")
        shot("segments", "/segments/?rows=lead_source&columns=region&months=24")
        shot("reps", "/reps/?period=year")
        shot("alerts", "/alerts/")
        shot("model", "/model/")
        shot("admin-import", "/settings/imports/")
        shot("admin-members", "/settings/members/")

        phone = browser.new_context(viewport=PHONE, locale="en-US", device_scale_factor=2)
        phone.add_cookies(context.cookies())
        mobile = phone.new_page()
        mobile.goto(f"{base_url}/deals/")
        mobile.wait_for_load_state("networkidle")
        target = out / "risk-board-phone.png"
        mobile.screenshot(path=str(target))
        written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--keep-db", action="store_true", help="Keep the screenshots database afterwards.")
    args = parser.parse_args(argv)
    _django_setup()
    from django.db import connection

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        seeded = _seed()
        print(f"seeded the demo in {time.monotonic() - started:.0f} s")
        server = _serve()
        try:
            written = _shoot(f"http://localhost:{server.port}", seeded, args.out)
        finally:
            server.terminate()
    finally:
        if not args.keep_db:
            connection.creation.destroy_test_db(original_name, verbosity=0)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
