"""Log lines name the request they belong to: ``%(request_id)s`` ("-" outside requests)."""

from __future__ import annotations

import logging

from api.middleware import current_request_id


class RequestIdFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.request_id = current_request_id() or "-"
        return super().format(record)
