"""Opaque ``NextToken`` values for the stand-in's own list calls, and the ``MaxResults`` check."""

from __future__ import annotations

import base64
import json
from typing import Any

from airflow_provider_nova.sandbox.errors import validation


def token(start: int) -> str:
    """The token of the page that starts at row ``start``."""
    return base64.urlsafe_b64encode(json.dumps({"start": start}).encode()).decode()


def start(next_token: Any) -> int:
    """The first row of the page ``next_token`` names (0 without one); ValidationException when it is not ours."""
    if next_token is None:
        return 0
    try:
        found = json.loads(base64.urlsafe_b64decode(str(next_token).encode()))["start"]
    except (ValueError, KeyError, TypeError):
        raise validation(f"Invalid pagination token {next_token!r}") from None
    if not isinstance(found, int) or found < 0:
        raise validation(f"Invalid pagination token {next_token!r}")
    return found


def window(rows: list[Any], request: dict[str, Any], default: int) -> tuple[list[Any], str | None]:
    """The page of ``rows`` that ``NextToken`` and ``MaxResults`` (1-100, ``default`` when absent) ask for."""
    limit = request.get("MaxResults", default)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise validation(f"Value '{limit}' at 'maxResults' failed to satisfy constraint: 1 <= value <= 100")
    first = start(request.get("NextToken"))
    following = first + limit
    return rows[first:following], token(following) if following < len(rows) else None
