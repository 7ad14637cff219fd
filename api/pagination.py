"""Cursor pagination: stable under concurrent writes and O(page) at any depth, even at 1M rows."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from api.exceptions import InvalidRequest


class ApiCursorPagination(CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    page_size_query_description = "Items per page, 1–1000 (default 100)."
    max_page_size = 1000
    cursor_query_description = "Opaque cursor from `next` or `previous` of the previous page."

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            # A bad cursor is a malformed request, not a missing object.
            raise InvalidRequest(
                "The cursor is not valid.", errors={"cursor": [str(error.detail)]}
            ) from error

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise InvalidRequest(
                "limit must be a whole number from 1 to 1000.",
                errors={"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]},
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["next"]["description"] = "URL of the next page; null on the last page."
        response["properties"]["previous"]["description"] = "URL of the previous page; null on the first."
        response["required"] = ["next", "previous", "results"]
        return response


class NewestFirstCursorPagination(ApiCursorPagination):
    """For logs and inboxes: newest first, ties broken by id."""

    ordering = ("-created_at", "-id")
