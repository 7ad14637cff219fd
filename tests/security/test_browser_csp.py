"""In Chromium, with our Content-Security-Policy enforced: pages raise no CSP violation, and HTML
in CRM names (reps, alerts, segments) is shown as text and never runs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.security.tenant_world import tenant_world_build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
PAGES = ["/", "/deals/", "/alerts/", "/reps/", "/segments/", "/model/", "/settings/", "/settings/imports/"]


def test_pages_raise_no_csp_violation_and_hostile_names_never_run(
    page: Any, live_server: Any, sign_in: Any, tenant_a, user_a
):
    world = tenant_world_build(tenant=tenant_a, user=user_a, marker="zqxa")
    from tenants.context import tenant_context

    with tenant_context(tenant_a):
        rep = world.first("deals.rep")
        rep.name = HOSTILE
        rep.save()
        alert = world.first("alerts.alert")
        alert.title = HOSTILE
        alert.save()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    sign_in(page, "ada@acme.test", "pw-acme-123")
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "(window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI))"
    )
    for path in [*PAGES, f"/reps/{rep.pk}/", f"/deals/{world.first('deals.deal').pk}/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__xss") is None, path
        assert page.evaluate("window.__csp || []") == [], path
    assert violations == []
