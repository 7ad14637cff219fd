"""What every API view shares: the body-size limit (413) and query-parameter validation (400)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.fields import ListField
from rest_framework.request import Request
from rest_framework.serializers import Serializer

from api.exceptions import InvalidRequest, PayloadTooLarge, flatten_errors


class BodyLimitMixin:
    """Refuse bodies above ``max_body_bytes`` (default ``settings.API_MAX_JSON_BYTES``) with 413."""

    max_body_bytes: int | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        limit = self.max_body_bytes or settings.API_MAX_JSON_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge(f"The body is {length} bytes; at most {limit} are accepted.")
        super().initial(request, *args, **kwargs)  # type: ignore[misc]


def query_params_validate(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters, or 400 naming each bad parameter."""
    data: dict[str, Any] = {}
    fields = serializer_class().fields
    for name, field in fields.items():
        if name not in request.query_params:
            continue
        if isinstance(field, ListField):
            data[name] = request.query_params.getlist(name)
        else:
            data[name] = request.query_params[name]
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidRequest("A query parameter is not valid.", errors=flatten_errors(serializer.errors))
    return dict(serializer.validated_data)
