"""CSV: a header row naming the columns, then one row per record (UTF-8, comma-separated).

Every value is read as a string; blank lines are skipped. A row's number counts records, not
physical lines (a quoted value may span lines); errors name both. A value may be of any length
(long-context rows): ``csv``'s 128 KiB field limit is lifted while a file is read.
"""

from __future__ import annotations

import contextlib
import csv
import io
import threading
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_nova.core.datasets._codec import encode
from airflow_provider_nova.core.datasets._spool import Spool, SpoolWriter
from airflow_provider_nova.core.errors import DataPrepError

if TYPE_CHECKING:
    from collections.abc import Iterator

# The largest value csv.field_size_limit accepts everywhere (it is a C long, 32 bits on Windows).
_FIELD_LIMIT = 2**31 - 1


class _FieldLimit:
    """Lift ``csv``'s field size limit while CSV files are read, then put it back.

    The limit is process-wide and read by every csv reader as it parses, so readers in other
    threads share it. Readers count themselves in and out under a lock: the first raises the limit
    (never lowering one already higher), the last restores the previous value, unless other code
    set a new one meanwhile, which is then kept.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers = 0
        self._previous = 0

    @contextlib.contextmanager
    def lifted(self) -> Iterator[None]:
        """Hold the limit lifted for the duration of the ``with`` block."""
        with self._lock:
            if self._readers == 0:
                self._previous = csv.field_size_limit()
                csv.field_size_limit(max(self._previous, _FIELD_LIMIT))
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1
                if self._readers == 0 and csv.field_size_limit() == max(self._previous, _FIELD_LIMIT):
                    csv.field_size_limit(self._previous)


_LONG_FIELDS = _FieldLimit()


def read_csv(handle: IO[bytes], source: str) -> Spool:
    """Spool the records of a CSV file as JSON objects keyed by the header's column names."""
    writer = SpoolWriter()
    try:
        with handle, io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text, _LONG_FIELDS.lifted():
            _spool_records(csv.reader(text, strict=True), source, writer)
    except BaseException:
        writer.abort()
        raise
    return writer.finish()


def _spool_records(reader: Any, source: str, writer: SpoolWriter) -> None:
    try:
        header = next(reader, None)
        if header is None:
            return
        _check_header(header, source)
        number = 0
        for record in reader:
            if not record:
                continue
            number += 1
            if len(record) != len(header):
                raise DataPrepError(
                    f"{source}: row {number} (line {reader.line_num}): expected {len(header)} fields "
                    f"like the header, got {len(record)}"
                )
            writer.add(number, encode(dict(zip(header, record, strict=True))))
    except csv.Error as exc:
        raise DataPrepError(f"{source}: line {reader.line_num}: malformed CSV ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataPrepError(f"{source}: expected UTF-8 text ({exc.reason})") from None


def _check_header(header: list[str], source: str) -> None:
    if any(not name.strip() for name in header):
        raise DataPrepError(f"{source}: line 1: expected a header row naming every column, got {header!r}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataPrepError(f"{source}: line 1: expected distinct column names, got duplicates {duplicates!r}")
