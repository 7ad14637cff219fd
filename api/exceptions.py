"""One JSON error shape for every API failure, and the exceptions our views raise.

Every error body is ``{"type", "detail", "errors", "request_id"}``: ``type`` is a stable
machine-readable code, ``detail`` a sentence for people, ``errors`` maps a field path
(``amount``, ``items[3].crm_id``, ``non_field_errors``) to its messages. Stack traces never
leave the server; unexpected errors are logged with the request id and answered with a 500.

Status codes: 400 the request could not be read (malformed JSON, bad query parameter),
401 no or bad credentials, 403 not allowed (scope, role, CSRF), 404 not found in *your*
tenant, 409 conflicts with existing data, 413 too large, 422 well-formed but invalid data,
429 rate limited (with ``Retry-After``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from api.middleware import current_request_id

logger = logging.getLogger(__name__)


class InvalidRequest(exceptions.APIException):
    """400: the request itself is malformed (a query parameter, a cursor, a header)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request could not be understood."
    default_code = "invalid_request"

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with existing data."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "payload_too_large"


class Unprocessable(exceptions.APIException):
    """422 with field errors, for checks that happen outside a serializer (e.g. bulk items)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The data is not valid."
    default_code = "validation_error"

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


# Stable ``type`` values by exception class; documented in docs/api.md.
_TYPES: list[tuple[type[Exception], str]] = [
    (InvalidRequest, "invalid_request"),
    (exceptions.ParseError, "invalid_request"),
    (Unprocessable, "validation_error"),
    (exceptions.ValidationError, "validation_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
    (Conflict, "conflict"),
    (PayloadTooLarge, "payload_too_large"),
]


def error_body(*, error_type: str, detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "type": error_type,
        "detail": detail,
        "errors": errors or {},
        "request_id": current_request_id(),
    }


def flatten_errors(value: Any, path: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested serializer errors into ``{"items[3].amount": ["…"]}``."""
    if isinstance(value, dict):
        flat: dict[str, list[str]] = {}
        for key, nested in value.items():
            if isinstance(key, int):  # a list item's errors, e.g. ListField(child=…)
                child = f"{path}[{key}]"
            else:
                name = "non_field_errors" if key == "__all__" else str(key)
                child = name if not path else f"{path}.{name}"
            flat.update(flatten_errors(nested, child))
        return flat
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return {path or "non_field_errors": [str(item) for item in value]}
        flat = {}
        for index, nested in enumerate(value):
            if nested:
                flat.update(flatten_errors(nested, f"{path}[{index}]"))
        return flat
    return {path or "non_field_errors": [str(value)]}


def _summary(errors: dict[str, list[str]]) -> str:
    field, messages = next(iter(errors.items()))
    more = len(errors) - 1
    suffix = f" (and {more} more field error{'s' if more > 1 else ''})" if more else ""
    return f"{field}: {messages[0]}{suffix}"


def _error_type(exc: Exception) -> str:
    for cls, error_type in _TYPES:
        if isinstance(exc, cls):
            return error_type
    return "error"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every failure becomes the one error shape."""
    # Like ATOMIC_REQUESTS: what a failed request wrote inside its tenant transaction is undone.
    # Only that transaction: without a tenant, TenantMiddleware opened none to mark.
    request = context.get("request")
    if getattr(getattr(request, "_request", None), "tenant", None) is not None:
        transaction.set_rollback(True)

    if isinstance(exc, DjangoValidationError):
        # Raised by the domain services (deals.services): field → messages, like a serializer's.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, IntegrityError):
        logger.info("API integrity conflict: %s", exc)
        exc = Conflict()

    if not isinstance(exc, exceptions.APIException):
        logger.error("Unhandled API error", exc_info=exc)
        body = error_body(
            error_type="server_error",
            detail="Something went wrong on our side. Quote the request id when contacting support.",
        )
        return Response(body, status=status.HTTP_500_INTERNAL_SERVER_ERROR)

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))  # type: ignore[attr-defined]

    errors: dict[str, list[str]] = dict(getattr(exc, "errors", {}) or {})
    status_code = exc.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = _summary(errors) if errors else "The data is not valid."
        status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    else:
        detail = str(exc.detail)
        if errors and detail == str(exc.default_detail):
            detail = _summary(errors)
    body = error_body(error_type=_error_type(exc), detail=detail, errors=errors)
    return Response(body, status=status_code, headers=headers)


@csrf_exempt  # an unknown path is a 404 whatever the method; DRF views are exempt too
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Catch-all for unknown paths under /api/, so even they answer in the error shape."""
    body = error_body(error_type="not_found", detail="No such API endpoint.")
    return JsonResponse(body, status=404)
