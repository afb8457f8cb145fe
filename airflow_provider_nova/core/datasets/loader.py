"""The dataset loaders: load, show, split, transform and save a dataset without holding it in memory.

A loader keeps its rows in a spool (see ``_spool``): the loaded JSONL file itself, or a temporary
file of compact JSON rows, plus the byte range of each row in compact arrays. ``transform``
checks and converts every row at once, so a bad row is reported before anything is trained;
``split_data`` returns loaders that share the spool and hold only their row positions.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_nova.core.datasets import _split
from airflow_provider_nova.core.datasets._codec import decode
from airflow_provider_nova.core.datasets._spool import RowSet, Spool, SpoolWriter
from airflow_provider_nova.core.datasets._storage import Storage, to_path
from airflow_provider_nova.core.datasets._table import format_table
from airflow_provider_nova.core.datasets.csv_file import read_csv
from airflow_provider_nova.core.datasets.json_array import read_json_array, write_json_array
from airflow_provider_nova.core.datasets.jsonl import read_jsonl, write_jsonl
from airflow_provider_nova.core.datasets.transform import row_converter, validate_mappings
from airflow_provider_nova.core.errors import DataPrepError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from typing_extensions import Self

    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.enums import Model, TrainingMethod

_WRITERS: dict[str, Callable[[Iterable[bytes], IO[bytes]], None]] = {
    ".jsonl": write_jsonl,
    ".json": write_json_array,
}


class DatasetLoader(ABC):
    """Load, inspect, split, transform and save a training or evaluation dataset.

    :param clients: keyword only: an :class:`~airflow_provider_nova.core.aws.AwsClients` or a boto3
        S3 client for ``s3://`` paths; ``AwsClients()`` is built on first use when omitted.
        (``clients`` is not a standard column name, so it never collides with a mapping.)
    :param column_mappings: standard column name to your column name, e.g.
        ``question="user_query", answer="bot_response"``; see
        :mod:`airflow_provider_nova.core.datasets.transform` for the standard names.
    :raises DataPrepError: for an unknown standard name (``clients="my_column"`` included) or an
        empty column name.
    """

    def __init__(self, *, clients: AwsClients | Any | None = None, **column_mappings: str) -> None:
        if isinstance(clients, str):  # a column name, not a client: refused as an unknown standard column
            validate_mappings({"clients": clients, **column_mappings})
        self.column_mappings = validate_mappings(column_mappings)
        self._storage = Storage(clients)
        self._rows: RowSet | None = None
        self._label = "no data loaded"

    @abstractmethod
    def _read(self, handle: IO[bytes], source: str) -> Spool:
        """Read the rows of ``handle`` (owning it from now on) into a spool."""

    def __repr__(self) -> str:
        rows = "no data loaded" if self._rows is None else f"{len(self._rows):,} rows from {self._label}"
        return f"{type(self).__name__}({rows})"

    def __len__(self) -> int:
        return 0 if self._rows is None else len(self._rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield the rows as dicts, one at a time."""
        for _, line in self._require_rows().lines():
            row: dict[str, Any] = decode(line)
            yield row

    def _require_rows(self) -> RowSet:
        if self._rows is None:
            raise DataPrepError(f"{type(self).__name__} has no data: call load(path) first")
        return self._rows

    def load(self, path: str) -> Self:
        """Load the dataset at ``path`` (a local path or ``s3://`` URI), replacing any loaded data.

        Every row is checked to be a JSON object (JSON, JSONL) or a complete record (CSV).

        :raises DataPrepError: when the file cannot be read or a row is malformed (naming the row).
        """
        source = to_path(path, "path")
        handle = self._storage.open_source(source)
        self._rows = RowSet(self._read(handle, source))
        self._label = source
        return self

    def show(self, n: int = 10) -> None:
        """Print the total row count and a table of the first ``n`` rows (long values are cut)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise DataPrepError(f"n must be a non-negative integer, got {n!r}")
        rows = self._require_rows()
        shown = [(number, decode(line)) for number, line in rows.lines(limit=n)]
        span = f"showing the first {len(shown)}" if shown else "showing none"
        print(format_table(f"{type(self).__name__}: {len(rows):,} rows from {self._label} ({span})", shown))

    def split_data(
        self,
        train_ratio: float = 0.8,
        val_ratio: float = 0.1,
        test_ratio: float = 0.1,
        seed: int = 42,
    ) -> tuple[Self, Self, Self]:
        """Split the rows at random into train, validation and test loaders.

        Sizes follow the ratios and add up to the row count exactly (largest remainder); the same
        seed gives the same split. Rows keep their order within each split. The three loaders
        share this loader's spool; each can be shown, transformed, split or saved.

        :raises DataPrepError: when the ratios do not sum to 1, one is outside [0, 1], the seed is
            not an integer, or there is no data.
        """
        ratios = _split.check_ratios(train_ratio, val_ratio, test_ratio)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise DataPrepError(f"seed must be an integer, got {seed!r}")
        rows = self._require_rows()
        if len(rows) == 0:
            raise DataPrepError(f"cannot split {self._label}: the dataset is empty")
        positions = _split.assign(len(rows), _split.split_sizes(len(rows), ratios), seed)
        train, val, test = (
            self._derive(rows.subset(p), name) for p, name in zip(positions, ("train", "val", "test"), strict=True)
        )
        return train, val, test

    def _derive(self, rows: RowSet, name: str) -> Self:
        clone = copy.copy(self)
        clone.column_mappings = dict(self.column_mappings)
        clone._rows = rows
        clone._label = f"{self._label} [{name}]"
        return clone

    def transform(self, method: TrainingMethod, model: Model) -> Self:
        """Convert every row into the record format of ``method`` on ``model``, checking each.

        Rows already in the target format are checked and kept byte for byte. On any error the
        loader keeps its previous rows.

        :raises ValueError: (ConfigurationError) for an unknown or unsupported method/model pair;
            RFT is published for ``NOVA_LITE_2`` only.
        :raises DataPrepError: for the first row that cannot be converted, naming the row number,
            the field and what was expected.
        """
        rows = self._require_rows()
        convert = row_converter(method, model, self.column_mappings)
        writer = SpoolWriter()
        try:
            for number, line in rows.lines():
                writer.add(number, convert(number, line))
        except BaseException:
            writer.abort()
            raise
        self._rows = RowSet(writer.finish())
        return self

    def save_data(self, save_path: str) -> str:
        """Write the rows to ``save_path`` (local or ``s3://``; ``.jsonl`` or ``.json``) and return it.

        The file appears only once complete: a failed save leaves no partial file.

        :raises DataPrepError: for another extension, an empty dataset, or a failed write.
        """
        path = to_path(save_path, "save_path")
        extension = next((ext for ext in _WRITERS if path.lower().endswith(ext)), None)
        if extension is None:
            raise DataPrepError(f"save_path must end in .jsonl or .json, got {path!r}")
        rows = self._require_rows()
        if len(rows) == 0:
            raise DataPrepError(f"nothing to save to {path}: {self._label} has no rows")
        write = _WRITERS[extension]
        self._storage.save(path, lambda out: write((line for _, line in rows.lines()), out))
        return path


class JSONLDatasetLoader(DatasetLoader):
    """Load a JSON Lines file (one JSON object a line) from a local path or ``s3://`` URI."""

    def _read(self, handle: IO[bytes], source: str) -> Spool:
        return read_jsonl(handle, source)


class JSONDatasetLoader(DatasetLoader):
    """Load a JSON file holding one array of objects from a local path or ``s3://`` URI."""

    def _read(self, handle: IO[bytes], source: str) -> Spool:
        return read_json_array(handle, source)


class CSVDatasetLoader(DatasetLoader):
    """Load a UTF-8 CSV file with a header row from a local path or ``s3://`` URI."""

    def _read(self, handle: IO[bytes], source: str) -> Spool:
        return read_csv(handle, source)
