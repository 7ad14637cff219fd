"""One error shape everywhere, with the request id; no stack traces; correct status codes."""

from __future__ import annotations

import io
import logging

from rest_framework.test import APIClient

from api.logfilters import RequestIdFormatter

ERROR_KEYS = {"type", "detail", "errors", "request_id"}


def test_an_unknown_api_path_is_a_json_404_in_the_error_shape(client_a):
    response = client_a.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["type"] == "not_found"


def test_every_error_carries_the_request_id_of_its_response(db):
    response = APIClient().get("/api/v1/deals")
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_a_sane_request_id_from_the_client_is_kept(db):
    response = APIClient().get("/api/v1/deals", HTTP_X_REQUEST_ID="crm-sync-42")
    assert response["X-Request-ID"] == "crm-sync-42"


def test_a_request_id_that_could_forge_log_lines_is_replaced(db):
    response = APIClient().get("/api/v1/deals", HTTP_X_REQUEST_ID="x\nERROR forged")
    assert response["X-Request-ID"] != "x\nERROR forged"
    assert len(response["X-Request-ID"]) == 32


def test_a_wrong_method_is_405_in_the_error_shape(client_a):
    response = client_a.delete("/api/v1/deals")
    assert response.status_code == 405
    assert response.json()["type"] == "method_not_allowed"


def test_a_bad_query_parameter_is_400_naming_the_parameter(client_a):
    response = client_a.get("/api/v1/deals", {"updated_since": "yesterday-ish"})
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "invalid_request"
    assert list(body["errors"]) == ["updated_since"]


def test_a_bad_cursor_is_400_not_404(client_a):
    response = client_a.get("/api/v1/deals", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cursor"]


def test_an_unknown_ordering_is_400(client_a):
    response = client_a.get("/api/v1/deals", {"ordering": "name; drop table"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["ordering"]


def test_malformed_json_is_400(user_a):
    client = APIClient()
    client.force_login(user_a)
    response = client.generic("POST", "/api/v1/api-keys", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "invalid_request"


def test_a_body_over_the_size_limit_is_413(settings, writer_a):
    settings.API_MAX_JSON_BYTES = 100
    response = writer_a.post("/api/v1/deals", {"name": "x" * 200}, format="json")
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_a_nul_character_in_a_query_parameter_is_400(client_a):
    response = client_a.get("/api/v1/deals", {"crm_id": "D-1\x00"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["crm_id"]


def test_an_offset_postgresql_cannot_store_still_filters(client_a, deal_a):
    response = client_a.get("/api/v1/deals", {"updated_since": "2000-01-01T00:00:00-16:21"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def test_log_lines_of_a_request_carry_its_request_id(client_a):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RequestIdFormatter("[%(request_id)s] %(message)s"))
    logger = logging.getLogger("api.access")
    logger.addHandler(handler)
    try:
        client_a.get("/api/v1/deals", HTTP_X_REQUEST_ID="trace-me-42")
    finally:
        logger.removeHandler(handler)
    assert "[trace-me-42] GET /api/v1/deals 200" in stream.getvalue()


def test_an_unexpected_error_is_a_500_in_the_error_shape_without_a_traceback(client_a, monkeypatch):
    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    monkeypatch.setattr("api.views.deals.DealListView.list", explode)
    response = APIClient(raise_request_exception=False)
    response.credentials(HTTP_AUTHORIZATION=client_a._credentials["HTTP_AUTHORIZATION"])
    result = response.get("/api/v1/deals")
    assert result.status_code == 500
    assert result.json()["type"] == "server_error"
    assert "secret internals" not in result.content.decode()
    assert "Traceback" not in result.content.decode()
