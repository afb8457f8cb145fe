"""Request validation the way AWS's front end does it, from botocore's service model.

botocore checks types and required members on the client; AWS checks the rest on the server
(patterns, enums, lengths, ranges) and answers ``ValidationException`` with
``N validation error(s) detected: Value '<v>' at '<path>' failed to satisfy constraint: ...``,
paths in camel case with list members as ``<list>.<1-based index>.member.<field>``. Patterns are
matched whole (the API reference anchors them with ``^...$``).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from airflow_provider_nova.sandbox.errors import ServiceError


@functools.cache
def _model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def check(service: str, operation: str, request: dict[str, Any]) -> None:
    """Raise ``ValidationException`` listing every constraint ``request`` breaks, as AWS words it."""
    shape = _model(service).operation_model(operation).input_shape
    problems = _structure(shape, request, "")
    if problems:
        plural = "error" if len(problems) == 1 else "errors"
        raise ServiceError(
            "ValidationException", f"{len(problems)} validation {plural} detected: " + "; ".join(problems)
        )


def enum(service: str, shape_name: str) -> tuple[str, ...]:
    """The values of an enum shape of ``service``'s model."""
    return tuple(_model(service).shape_for(shape_name).enum)


def violation(value: Any, path: str, constraint: str) -> str:
    return f"Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _structure(shape: Any, value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    problems = []
    for name, member in shape.members.items():
        where = f"{path}.{_camel(name)}" if path else _camel(name)
        if value.get(name) is None:
            if name in shape.required_members:
                problems.append(violation("null", where, "Member must not be null"))
            continue
        problems += _value(member, value[name], where)
    return problems


def _value(shape: Any, value: Any, path: str) -> list[str]:
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure":
        return _structure(shape, value, path)
    if kind == "list" and isinstance(value, list):
        problems = _length(value, meta, path)
        for index, item in enumerate(value, start=1):
            problems += _value(shape.member, item, f"{path}.{index}.member")
        return problems
    if kind == "string" and isinstance(value, str):
        return _string(shape, value, path)
    if kind in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"]:
            return [violation(value, path, f"Member must have value greater than or equal to {meta['min']}")]
        if "max" in meta and value > meta["max"]:
            return [violation(value, path, f"Member must have value less than or equal to {meta['max']}")]
    return []


def _string(shape: Any, value: str, path: str) -> list[str]:
    meta = shape.metadata
    if shape.enum and value not in shape.enum:
        return [violation(value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")]
    problems = _length(value, meta, path)
    pattern = meta.get("pattern")
    if pattern and not _matches(pattern, value):
        problems.append(violation(value, path, f"Member must satisfy regular expression pattern: {pattern}"))
    return problems


def _length(value: str | list[Any], meta: dict[str, Any], path: str) -> list[str]:
    if "min" in meta and len(value) < meta["min"]:
        return [violation(value, path, f"Member must have length greater than or equal to {meta['min']}")]
    if "max" in meta and len(value) > meta["max"]:
        return [violation(value, path, f"Member must have length less than or equal to {meta['max']}")]
    return []


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct: not checked here rather than checked wrongly
        return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None
