"""Parameter values as Jinja leaves them: ``"2"`` and ``"5e-6"`` where a number is meant, names of enum members.

Templated fields render to strings unless the DAG renders native objects, so every numeric parameter
and every number inside ``overrides`` accepts its string form. Errors name the parameter.
Pure standard library: operators import this at DAG parse time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


def _config_error(message: str) -> Exception:
    from airflow_provider_nova.core.errors import ConfigurationError

    return ConfigurationError(message)


def as_int(value: Any, field: str, *, minimum: int | None = None) -> int:
    """An integer from an int or its string form (``"2"``); ``minimum`` is checked too."""
    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _config_error(f"{field} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise _config_error(f"{field} must be at least {minimum}, got {value}")
    return value


def as_float(value: Any, field: str, *, minimum: float | None = None) -> float:
    """A finite number from an int, a float or its string form (``"5e-6"``)."""
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _config_error(f"{field} must be a number, got {value!r}")
    if minimum is not None and value < minimum:
        raise _config_error(f"{field} must be at least {minimum}, got {value}")
    return float(value)


def as_bool(value: Any, field: str) -> bool:
    """A boolean from a bool or ``"true"``/``"false"`` (as Jinja renders ``True``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _config_error(f"{field} must be true or false, got {value!r}")


def number_or_text(value: Any) -> Any:
    """``"2"`` -> 2 and ``"5e-6"`` -> 5e-06; any other value unchanged."""
    if isinstance(value, str):
        text = value.strip()
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
    return value


def overrides_of(value: Any, field: str = "overrides") -> dict[str, Any] | None:
    """An overrides mapping with numbers in their string forms turned into numbers (JSON text accepted)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError as exc:
            raise _config_error(f"{field} must be a mapping or its JSON text, got {value!r}") from exc
    if not isinstance(value, Mapping):
        raise _config_error(f"{field} must be a mapping of recipe keys to values, got {type(value).__name__}")
    return {str(key): number_or_text(item) for key, item in value.items()}


def member(enum: type[E], value: Any, field: str) -> E:
    """An enum member from itself or its name (``"NOVA_MICRO"``, case-insensitive)."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        for item in enum:
            if item.name.lower() == value.strip().lower():
                return item
    names = ", ".join(item.name for item in enum)
    raise _config_error(f"{field} must be one of {names}, got {value!r}")


def optional_text(value: Any) -> str | None:
    """``None`` for None or an empty rendering (``""``, ``"None"``), else the text."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "None") else text
