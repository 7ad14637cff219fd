"""OpenAPI details drf-spectacular cannot infer: the bearer scheme and the shared error responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every API error has this shape.",
    "properties": {
        "type": {
            "type": "string",
            "description": "Stable machine-readable error code.",
            "enum": [
                "invalid_request",
                "validation_error",
                "not_authenticated",
                "authentication_failed",
                "permission_denied",
                "not_found",
                "method_not_allowed",
                "not_acceptable",
                "unsupported_media_type",
                "conflict",
                "payload_too_large",
                "rate_limited",
                "server_error",
            ],
        },
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "errors": {
            "type": "object",
            "description": (
                "Field path (e.g. `amount`, `items[3].crm_id`) → messages. Empty when no field is at fault."
            ),
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "request_id": {
            "type": "string",
            "nullable": True,
            "description": "Also in the X-Request-ID header; quote it to support.",
        },
    },
    "required": ["type", "detail", "errors", "request_id"],
    "example": {
        "type": "validation_error",
        "detail": "amount: A valid number is required.",
        "errors": {"amount": ["A valid number is required."]},
        "request_id": "9f1c2d3e4b5a69788796a5b4c3d2e1f0",
    },
}

_ERROR_DESCRIPTIONS = {
    "400": "The request could not be read (malformed JSON, an invalid query parameter or cursor).",
    "401": "No credentials, or an invalid or revoked API key.",
    "403": "Authenticated, but not allowed: read-only key or role, or no tenant.",
    "404": "No such object in your tenant.",
    "405": "This method is not allowed on this path.",
    "409": "Conflicts with existing data (e.g. the CRM id is taken).",
    "413": "Too large: too many items or too big a body.",
    "415": "Unsupported content type.",
    "422": "Well-formed, but the data is invalid; see `errors`.",
    "429": "Rate limited; retry after `Retry-After` seconds.",
}
_REQUEST_ID_HEADER = {
    "schema": {"type": "string"},
    "description": "The request's id (yours if you sent a valid X-Request-ID, else ours).",
}
_RETRY_AFTER_HEADER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}
}
_WRITE_METHODS = {"post", "put", "patch"}


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer si_<prefix>_<secret>`; create keys as a tenant admin.",
        }


def _error_codes(path: str, method: str) -> list[str]:
    codes = ["400", "401", "403", "405", "429"]
    if "{" in path:
        codes.append("404")
    if method in _WRITE_METHODS:
        codes += ["409", "413", "415", "422"]
    return codes


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: document the error shape on every operation, and our headers."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("headers", {})["XRequestID"] = _REQUEST_ID_HEADER
    error_ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, method):
                if code in responses:
                    continue
                responses[code] = {
                    "description": _ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": error_ref}},
                }
                if code == "429":
                    responses[code]["headers"] = dict(_RETRY_AFTER_HEADER)
            for response in responses.values():
                response.setdefault("headers", {})["X-Request-ID"] = {
                    "$ref": "#/components/headers/XRequestID"
                }
    return result
