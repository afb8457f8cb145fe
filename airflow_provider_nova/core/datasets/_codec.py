"""The JSON codec of the dataset loaders: msgspec, strict and fast.

Chosen on measurement (100,000 support-chat rows of ~900 bytes, the shape ``benchmarks/dataset_prep.py``
generates, on the project's 2-core machine): decode ~1.9M rows/s with msgspec, ~1.7M with orjson, ~0.38M with
``json``; encode of a Bedrock conversation record ~1.1M rows/s with msgspec, ~1.3M with orjson,
~0.14M with ``json``. A row is decoded twice and encoded once, so msgspec and orjson tie; msgspec
is already installed with Apache Airflow 3 (airflow-core depends on it) and rejects what the
service rejects (``NaN``, invalid UTF-8, lone surrogates, trailing garbage, out-of-range
numbers), so it is the one used.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

# A number literal is quoted in full in an error up to this many characters.
_LITERAL_CHARS = 40


class CodecError(Exception):
    """A value that is not valid JSON, or cannot be written as JSON."""


def decode(data: bytes | str) -> Any:
    """Parse one JSON document; raise CodecError with the parser's reason when it is malformed."""
    try:
        return msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise CodecError(str(exc)) from exc


def encode(value: Any) -> bytes:
    """Serialise ``value`` as compact UTF-8 JSON; raise CodecError when that is impossible."""
    try:
        return msgspec.json.encode(value)
    except (msgspec.EncodeError, TypeError, ValueError, RecursionError) as exc:
        raise CodecError(str(exc)) from exc


class _OutOfRange:
    """A JSON number too large for a 64-bit float, kept as its literal."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal


def parse_float(literal: str) -> Any:
    """``json`` hook: the float of ``literal``, or a marker (see :func:`out_of_range`) when it overflows.

    ``json`` turns ``1e400`` into ``inf``, which would be written as ``null``; msgspec rejects it.
    """
    value = float(literal)
    return value if math.isfinite(value) else _OutOfRange(literal)


def out_of_range(value: Any) -> str | None:
    """Describe the first number of ``value`` (decoded with :func:`parse_float`) that is out of range."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _OutOfRange):
            literal = (
                item.literal if len(item.literal) <= _LITERAL_CHARS else item.literal[: _LITERAL_CHARS - 3] + "..."
            )
            where = f"field {path!r}: " if path else ""
            return f"{where}number {literal} is out of range (a JSON number must fit a 64-bit float)"
        if isinstance(item, dict):
            stack.extend((f"{path}.{key}" if path else key, v) for key, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None


def reject_constant(name: str) -> Any:
    """``json`` hook: refuse ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def explain_out_of_range(text: bytes | str) -> str | None:
    """Describe the out-of-range number that made msgspec reject ``text``, or None if there is none."""
    try:
        value = json.loads(text, parse_float=parse_float, parse_constant=reject_constant)
    except (ValueError, RecursionError):
        return None
    return out_of_range(value)
