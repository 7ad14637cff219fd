"""Production settings pass Django's deploy checks and send the security headers we promise."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from salesintel.paths import BASE_DIR


def production_env() -> dict[str, str]:
    # The browser fixtures relax Django's async safety for this process; production never does.
    inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "salesintel.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "HTTPS": "1",
        "ALLOWED_HOSTS": "salesintel.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://salesintel.example.com",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_finds_no_issue_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_make_cookies_secure_and_turn_on_https_and_hsts():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'DEBUG']}))"
    )
    result = manage("shell", "-c", script)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "DEBUG": False,
    }


def test_every_page_sends_csp_frame_and_sniffing_headers(client: Client, user_a):
    client.force_login(user_a)
    for path in (reverse("login"), reverse("home"), reverse("risk_board"), "/api/v1/deals"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]


def test_error_pages_carry_the_csp_header_too(client: Client, db):
    response = client.get("/no-such-page/")
    assert response.status_code in (302, 404)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_https_requests_get_hsts_when_it_is_configured(client: Client, db, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


def test_the_health_check_is_not_redirected_to_https(client: Client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get(reverse("login")).status_code == 301


def test_no_template_has_an_inline_script_or_event_handler_attribute():
    # CSP forbids them; a page that needed one would silently break in the browser.
    offenders = []
    for directory in [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]:
        for path in directory.rglob("*.html"):
            text = path.read_text()
            for line_number, line in enumerate(text.splitlines(), start=1):
                lowered = line.lower()
                inline_script = "<script" in lowered and "src=" not in lowered
                handler = any(f" on{event}=" in lowered for event in HANDLER_EVENTS)
                if inline_script or handler or "javascript:" in lowered:
                    offenders.append(f"{path.relative_to(BASE_DIR)}:{line_number}: {line.strip()}")
    assert offenders == []


HANDLER_EVENTS = ("click", "change", "submit", "load", "error", "input", "keydown", "keyup", "focus", "blur")


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678901", "ada@acme.test", "ada.acme.test"],
)
def test_weak_passwords_are_refused_by_djangos_validators(password, user_a):
    with pytest.raises(ValidationError):
        validate_password(password, user=user_a)


def test_a_strong_password_passes_the_validators(user_a):
    validate_password("correct-Horse-battery-staple-42", user=user_a)


def test_all_four_of_djangos_password_validators_are_configured():
    names = {validator["NAME"].rsplit(".", 1)[1] for validator in settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    }


def test_changing_a_password_to_a_common_one_is_refused(client: Client, user_a):
    client.force_login(user_a)
    response = client.post(
        reverse("password_change"),
        {"old_password": "pw-acme-123", "new_password1": "password123", "new_password2": "password123"},
    )
    assert response.status_code == 200
    assert b"too common" in response.content
    user_a.refresh_from_db()
    assert user_a.check_password("pw-acme-123")
