"""Browser fixtures: Playwright's sync API driving Debian's Chromium against ``live_server``.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (override with
``CHROMIUM_PATH``). Tests using these fixtures carry ``@pytest.mark.browser`` and
``@pytest.mark.django_db(transaction=True)`` — the live server runs in another thread and must
see committed rows. ``scripts/ensure-chromium.sh`` installs Chromium when it is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# refuse the ORM calls that tests make between browser steps.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1440, "height": 900}


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium headless through Playwright."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="session")
def browser_instance() -> Iterator[Any]:
    """One Chromium for the whole session (starting it costs about a second)."""
    if chromium_path() is None:
        pytest.fail("Chromium is missing: run `make browser-deps` (Debian's chromium package).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser_instance: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page at 1440×900 per test."""
    context = browser_instance.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(10_000)
    # A page load is not a speed check (bench/ checks speed). On this workplace's shared 2-core
    # machines, a CI run once took 15 s to render the briefing that takes 1–2 s alone.
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def sign_in(live_server: Any) -> Callable[[Any, str, str], None]:
    """Sign ``page`` in through the real login form: ``sign_in(page, email, password)``."""

    def _sign_in(page: Any, email: str, password: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return _sign_in
