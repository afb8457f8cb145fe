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

from typing import Any

import msgspec


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
