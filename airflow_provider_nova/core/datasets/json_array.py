"""JSON: one array of objects. Read incrementally, so a large file is never held in memory."""

from __future__ import annotations

import codecs
import json
import re
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_nova.core.datasets._codec import CodecError, encode, out_of_range, parse_float, reject_constant
from airflow_provider_nova.core.datasets._spool import Spool, SpoolWriter, write_lines
from airflow_provider_nova.core.errors import DataPrepError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

_CHUNK_BYTES = 4 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A parse error this close to the end of the buffer may only mean the element continues.
_TAIL_CHARS = 16


def read_json_array(handle: IO[bytes], source: str) -> Spool:
    """Spool the objects of a JSON array file as rows; a row's number is its position (1-based)."""
    writer = SpoolWriter()
    try:
        with handle:
            for number, row in enumerate(_ArrayReader(handle, source).objects(), 1):
                try:
                    writer.add(number, encode(row))
                except CodecError as exc:
                    reason = out_of_range(row) or f"expected JSON text, got {exc}"
                    raise DataPrepError(f"{source}: row {number}: {reason}") from None
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


class _ArrayReader:
    """Decode the elements of a top-level JSON array from a stream, one at a time."""

    def __init__(self, handle: IO[bytes], source: str) -> None:
        self._handle = handle
        self._source = source
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")()
        self._decoder = json.JSONDecoder(parse_float=parse_float, parse_constant=reject_constant)
        self._buf = ""
        self._pos = 0
        self._eof = False

    def _error(self, detail: str) -> DataPrepError:
        return DataPrepError(f"{self._source}: {detail}")

    def _fill(self) -> bool:
        """Append more text to the buffer (dropping what was consumed); False at end of file."""
        if self._eof:
            return False
        data = self._handle.read(max(_CHUNK_BYTES, len(self._buf) - self._pos))
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise self._error(f"expected UTF-8 text ({exc.reason})") from None
        self._eof = not data
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return bool(data) or bool(text)

    def _peek(self) -> str:
        """Skip whitespace and return the next character ('' at end of file)."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or not self._fill():
                return self._buf[self._pos : self._pos + 1]

    def objects(self) -> Iterator[dict[str, Any]]:
        """Yield the array's objects; a DataPrepError naming the row for anything else."""
        first = self._peek()
        if first != "[":
            raise self._error(f"expected a JSON array of objects, got {self._buf[self._pos : self._pos + 20]!r}")
        self._pos += 1
        if self._peek() == "]":
            self._pos += 1
        else:
            yield from self._elements()
        if self._peek():
            raise self._error(
                f"expected the end of the file after the array, got {self._buf[self._pos : self._pos + 20]!r}"
            )

    def _elements(self) -> Iterator[dict[str, Any]]:
        number = 0
        while True:
            number += 1
            if self._peek() != "{":
                raise self._error(
                    f"row {number}: expected a JSON object, got {self._buf[self._pos : self._pos + 20]!r}"
                )
            yield self._decode(number)
            separator = self._peek()
            self._pos += 1
            if separator == "]":
                return
            if separator != ",":
                raise self._error(f"row {number}: expected ',' or ']' after the object, got {separator!r}")

    def _decode(self, number: int) -> dict[str, Any]:
        while True:
            try:
                row, self._pos = self._decoder.raw_decode(self._buf, self._pos)
                return row  # type: ignore[no-any-return]
            except json.JSONDecodeError as exc:
                incomplete = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - _TAIL_CHARS
                if not (incomplete and self._fill()):
                    raise self._error(f"row {number}: malformed JSON ({exc.msg})") from None
            except (ValueError, RecursionError) as exc:
                raise self._error(f"row {number}: malformed JSON ({exc})") from None


def write_json_array(lines: Iterable[bytes], out: IO[bytes]) -> None:
    """Write compact JSON rows as one JSON array, a row a line."""
    rows = iter(lines)
    first = next(rows, None)
    if first is None:
        out.write(b"[]\n")
        return
    out.write(b"[\n" + first)
    write_lines(rows, out, b",\n", leading=True)
    out.write(b"\n]\n")
