"""What every API view shares: the body-size limit (413) before any parsing."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request

from api.exceptions import PayloadTooLarge


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
