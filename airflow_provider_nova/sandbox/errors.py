"""Errors the stand-in answers with, in the shape of the AWS JSON protocol, and the JSON request body they guard."""

from __future__ import annotations

import json
from typing import Any


class ServiceError(Exception):
    """An error response: ``code`` becomes ``__type``, HTTP status 400 unless given."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


def json_body(environ: dict[str, Any]) -> dict[str, Any]:
    """A WSGI request's JSON object body (``{}`` when empty); a ValidationException when it is not one."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise validation(f"request body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise validation("request body must be a JSON object")
    return data
