"""JSON Lines: one JSON object a line. Reading indexes the file in place; it is never copied."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from airflow_provider_nova.core.datasets._codec import CodecError, decode, explain_out_of_range
from airflow_provider_nova.core.datasets._spool import RowIndex, Spool, write_lines
from airflow_provider_nova.core.errors import DataPrepError

if TYPE_CHECKING:
    from collections.abc import Iterable

_CHUNK_BYTES = 8 << 20
_BOM = b"\xef\xbb\xbf"


def read_jsonl(handle: IO[bytes], source: str) -> Spool:
    """Index the rows of a JSONL file, checking each non-blank line is one JSON object.

    The spool reads rows straight from ``handle``, which it owns from now on. Blank lines are
    skipped; a row's number is its line number.
    """
    index = RowIndex()
    try:
        _index_lines(handle, source, index)
    except BaseException:
        handle.close()
        raise
    return index.spool(handle)


def _index_lines(handle: IO[bytes], source: str, index: RowIndex) -> None:
    pos = 0
    number = 0
    carry = b""
    while chunk := handle.read(_CHUNK_BYTES):
        lines = (carry + chunk).split(b"\n")
        carry = lines.pop()
        for line in lines:
            number += 1
            _index_line(line, pos, number, source, index)
            pos += len(line) + 1
    if carry:
        _index_line(carry, pos, number + 1, source, index)


def _index_line(line: bytes, pos: int, number: int, source: str, index: RowIndex) -> None:
    body = line.strip()
    if not body:
        return
    if number == 1 and body.startswith(_BOM):
        body = body[len(_BOM) :].lstrip()
        if not body:
            return
    try:
        row = decode(body)
    except CodecError as exc:
        reason = explain_out_of_range(body) or f"expected one JSON object, got malformed JSON ({exc})"
        raise DataPrepError(f"{source}: line {number}: {reason}") from None
    if not isinstance(row, dict):
        raise DataPrepError(f"{source}: line {number}: expected a JSON object, got {type(row).__name__} {body[:40]!r}")
    start = pos + line.index(b"{")  # only whitespace or a BOM comes before the object's brace
    index.add(number, start, start + len(body))


def write_jsonl(lines: Iterable[bytes], out: IO[bytes]) -> None:
    """Write compact JSON rows as JSON Lines."""
    write_lines(lines, out)
