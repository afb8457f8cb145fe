"""Rows kept on disk: a file of JSON rows and the byte range of each, never a list of dicts.

A :class:`Spool` is immutable once built and holds an open handle to its file, so it keeps
working when the path it came from is replaced (saving over the loaded file, for example). Its
memory cost is three compact integer arrays: row starts, row ends and, when they differ from
``1..n``, the row numbers of the source file (so an error in a split names the source row). A
:class:`RowSet` is a sorted selection of a spool's rows (a split), sharing the spool.
"""

from __future__ import annotations

import os
import tempfile
import weakref
from array import array
from typing import IO, TYPE_CHECKING

from airflow_provider_nova.core.errors import DataPrepError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# Rows are read in blocks of about this many bytes: one read call serves thousands of rows.
_BLOCK_BYTES = 4 << 20
# Rows are written in batches of about this many bytes: one write call per batch, not per row.
_BATCH_BYTES = 1 << 20


def write_lines(lines: Iterable[bytes], out: IO[bytes], separator: bytes = b"\n", leading: bool = False) -> None:
    """Write ``lines``, each followed (or, if ``leading``, preceded) by ``separator``, in large batches."""
    batch: list[bytes] = [b""] if leading else []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= _BATCH_BYTES:
            _write_batch(batch, out, separator, leading)
            batch, size = [b""] if leading else [], 0
    if len(batch) > leading:
        _write_batch(batch, out, separator, leading)


def _write_batch(batch: list[bytes], out: IO[bytes], separator: bytes, leading: bool) -> None:
    if not leading:
        batch.append(b"")
    out.write(separator.join(batch))


def _pread_exact(fd: int, length: int, offset: int) -> bytes:
    """Read exactly ``length`` bytes at ``offset``; a DataPrepError when the file shrank."""
    data = os.pread(fd, length, offset)
    while len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            raise DataPrepError("the loaded file changed on disk after it was loaded: load it again")
        data += more
    return data


class Spool:
    """An immutable file of rows; row ``i`` is the bytes ``starts[i]:ends[i]`` of the file.

    :param handle: an open binary file; the spool closes it when it is garbage collected.
    :param starts: byte offset where each row begins.
    :param ends: byte offset where each row ends.
    :param origin: the source row number of each row, or None when row ``i`` is source row ``i + 1``.
    """

    def __init__(self, handle: IO[bytes], starts: array[int], ends: array[int], origin: array[int] | None) -> None:
        self._fd = handle.fileno()
        self._starts = starts
        self._ends = ends
        self._origin = origin
        self._finalizer = weakref.finalize(self, handle.close)

    def __len__(self) -> int:
        return len(self._starts)

    def close(self) -> None:
        """Release the file now instead of at garbage collection."""
        self._finalizer()

    def row_number(self, index: int) -> int:
        """Return the 1-based source row number of row ``index``."""
        return self._origin[index] if self._origin is not None else index + 1

    def lines(self, indices: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """Yield ``(source row number, row bytes)`` for ``indices`` (ascending), reading in blocks."""
        starts, ends = self._starts, self._ends
        pending: list[int] = []
        block_start = 0
        for index in indices:
            if pending and (starts[index] < block_start or ends[index] - block_start > _BLOCK_BYTES):
                yield from self._read_block(pending, block_start)
                pending = []
            if not pending:
                block_start = starts[index]
            pending.append(index)
        if pending:
            yield from self._read_block(pending, block_start)

    def _read_block(self, indices: list[int], block_start: int) -> Iterator[tuple[int, bytes]]:
        block = _pread_exact(self._fd, self._ends[indices[-1]] - block_start, block_start)
        for index in indices:
            yield self.row_number(index), block[self._starts[index] - block_start : self._ends[index] - block_start]


class RowIndex:
    """The byte ranges and source row numbers of rows as they are found, in compact arrays."""

    def __init__(self) -> None:
        self.starts = array("q")
        self.ends = array("q")
        self._origin = array("q")
        self._identity = True

    def add(self, row_number: int, start: int, end: int) -> None:
        """Record that source row ``row_number`` is the bytes ``start:end``."""
        self.starts.append(start)
        self.ends.append(end)
        self._origin.append(row_number)
        if row_number != len(self._origin):
            self._identity = False

    def spool(self, handle: IO[bytes]) -> Spool:
        """Return the spool of these rows over ``handle`` (which the spool then owns)."""
        return Spool(handle, self.starts, self.ends, None if self._identity else self._origin)


class SpoolWriter:
    """Build a :class:`Spool` in an anonymous temporary file (removed by the OS when closed).

    The file is itself valid JSON Lines: each row is followed by a newline.
    """

    def __init__(self) -> None:
        self._handle: IO[bytes] = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 - owned by the spool it builds
        self._index = RowIndex()
        self._pos = 0
        self._batch: list[bytes] = []
        self._batch_start = 0

    def add(self, row_number: int, line: bytes) -> None:
        """Append one row (compact JSON, no newline) that came from source row ``row_number``."""
        end = self._pos + len(line)
        self._index.add(row_number, self._pos, end)
        self._batch.append(line)
        self._pos = end + 1
        if self._pos - self._batch_start >= _BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._batch.append(b"")
            self._handle.write(b"\n".join(self._batch))
            self._batch = []
            self._batch_start = self._pos

    def finish(self) -> Spool:
        """Return the finished spool; the writer must not be used afterwards."""
        self._flush()
        return self._index.spool(self._handle)

    def abort(self) -> None:
        """Discard what was written."""
        self._handle.close()


class RowSet:
    """An ascending selection of a spool's rows; ``indices=None`` selects them all."""

    def __init__(self, spool: Spool, indices: array[int] | None = None) -> None:
        self.spool = spool
        self._indices = indices

    def __len__(self) -> int:
        return len(self.spool) if self._indices is None else len(self._indices)

    def lines(self, limit: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(source row number, row bytes)`` for the selected rows, at most ``limit`` of them."""
        count = len(self) if limit is None else min(limit, len(self))
        indices: Iterable[int] = range(count) if self._indices is None else self._indices[:count]
        return self.spool.lines(indices)

    def subset(self, positions: Iterable[int]) -> RowSet:
        """Return the rows at ascending ``positions`` of this selection, sharing the spool."""
        if self._indices is None:
            return RowSet(self.spool, array("q", positions))
        own = self._indices
        return RowSet(self.spool, array("q", (own[p] for p in positions)))
