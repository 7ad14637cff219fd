"""The OpenAPI schema: served, valid, fully described, and identical to docs/openapi.yaml."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

CHECKED_IN = Path(settings.BASE_DIR) / "docs" / "openapi.yaml"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml"


def generated_schema() -> str:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


def test_the_checked_in_schema_matches_the_code(db):
    assert generated_schema() == CHECKED_IN.read_text(), f"docs/openapi.yaml drifted; run `{REGENERATE}`."


def test_the_schema_is_served_without_credentials(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "salesintel API"


def test_the_browsable_docs_are_served(db):
    assert APIClient().get("/api/docs/").status_code == 200
    assert APIClient().get("/api/docs/redoc/").status_code == 200


def test_every_operation_has_a_summary_a_description_and_the_error_shape(db):
    schema = yaml.safe_load(CHECKED_IN.read_text())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("description"), f"{where} has no description"
            assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, where


def test_every_field_and_parameter_is_described(db):
    schema = yaml.safe_load(CHECKED_IN.read_text())
    undescribed = []
    for name, component in schema["components"]["schemas"].items():
        if name.startswith("Paginated") or "properties" not in component:
            continue
        for field, spec in component["properties"].items():
            if not spec.get("description") and "$ref" not in spec and "allOf" not in spec:
                undescribed.append(f"{name}.{field}")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if not parameter.get("description"):
                    undescribed.append(f"{method.upper()} {path} ?{parameter['name']}")
    assert undescribed == []
