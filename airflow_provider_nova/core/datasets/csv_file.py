"""CSV: a header row naming the columns, then one row per record (UTF-8, comma-separated).

Every value is read as a string; blank lines are skipped. A row's number counts records, not
physical lines (a quoted value may span lines); errors name both.
"""

from __future__ import annotations

import csv
import io
from typing import IO, Any

from airflow_provider_nova.core.datasets._codec import encode
from airflow_provider_nova.core.datasets._spool import Spool, SpoolWriter
from airflow_provider_nova.core.errors import DataPrepError


def read_csv(handle: IO[bytes], source: str) -> Spool:
    """Spool the records of a CSV file as JSON objects keyed by the header's column names."""
    writer = SpoolWriter()
    try:
        with handle, io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text:
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
