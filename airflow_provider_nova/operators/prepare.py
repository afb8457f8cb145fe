"""``NovaPrepareDatasetOperator``: load raw rows, convert them for a Nova method and model, split and save."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.operators.base import NovaBaseOperator, aws_template_fields
from airflow_provider_nova.operators.values import as_float, as_int, member, optional_text

if TYPE_CHECKING:
    from airflow.sdk import Context

XCOM_SPLITS = {"train": "train", "val": "validation", "test": "test"}


class NovaPrepareDatasetOperator(NovaBaseOperator):
    """Load a JSONL, JSON or CSV dataset, convert every row for ``method`` on ``model``, split it and save it.

    Every argument is checked before anything is read. Each row is checked as it is converted, and
    the first bad one fails the task with a ``DataPrepError`` naming the row and the field; every
    split is checked to have rows before the first file is written. S3 is reached through the
    task's ``aws`` connection.

    The splits go to ``train.jsonl``, ``val.jsonl`` and ``test.jsonl`` in ``output_s3_path`` (a
    split of ratio 0 is not written). Returns ``{"train_s3_path", "validation_s3_path",
    "test_s3_path", "rows": {"train": n, "validation": n, "test": n}}`` (keys of written splits
    only); an ``Asset`` in ``outlets`` gets the same values as its event's extra, so a DAG
    scheduled on it sees the row counts.

    :param source_path: the raw data: a local path or ``s3://`` URI (templated).
    :param output_s3_path: the folder (``s3://`` or local) the split files go to (templated).
    :param method: the training method, a ``TrainingMethod`` or its name (templated).
    :param model: the Nova model, a ``Model`` or its name (templated).
    :param data_format: ``jsonl``, ``json`` or ``csv``; from ``source_path``'s extension when omitted (templated).
    :param column_mappings: standard column name to yours, e.g. ``{"question": "user_query"}``, or its
        JSON text (templated).
    :param train_ratio: share of the rows for training, 0 to 1 (templated).
    :param val_ratio: share for validation (templated).
    :param test_ratio: share for testing; the three sum to 1 (templated).
    :param seed: the split's random seed; the same seed gives the same split (templated).
    :param output_format: ``jsonl`` or ``json``, the split files' format (templated).
    """

    template_fields = aws_template_fields(
        "source_path",
        "output_s3_path",
        "method",
        "model",
        "data_format",
        "column_mappings",
        "train_ratio",
        "val_ratio",
        "test_ratio",
        "seed",
        "output_format",
    )
    template_fields_renderers = {"column_mappings": "json"}
    ui_color = "#d3e4f4"

    def __init__(
        self,
        *,
        source_path: str,
        output_s3_path: str,
        method: Any,
        model: Any,
        data_format: str | None = None,
        column_mappings: Mapping[str, str] | str | None = None,
        train_ratio: float | str = 1.0,
        val_ratio: float | str = 0.0,
        test_ratio: float | str = 0.0,
        seed: int | str = 42,
        output_format: str = "jsonl",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_path = source_path
        self.output_s3_path = output_s3_path
        self.method = method
        self.model = model
        self.data_format = data_format
        self.column_mappings = column_mappings
        self.train_ratio = train_ratio
        self.val_ratio = val_ratio
        self.test_ratio = test_ratio
        self.seed = seed
        self.output_format = output_format

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_nova.core.datasets.prepare import check_ratios, loader_class, prepare, split_targets
        from airflow_provider_nova.core.datasets.transform import row_converter
        from airflow_provider_nova.core.enums import Model, TrainingMethod

        method = member(TrainingMethod, self.method, "method")
        model = member(Model, self.model, "model")
        mappings = self._mappings()
        row_converter(method, model, mappings)  # an unsupported method and model pair, before any read
        ratios = check_ratios(*(as_float(getattr(self, f), f) for f in ("train_ratio", "val_ratio", "test_ratio")))
        seed = as_int(self.seed, "seed")
        loader = loader_class(self.source_path, optional_text(self.data_format), "source_path")
        targets = split_targets(self.output_s3_path, ratios, "output_s3_path", str(self.output_format).lower())
        written = prepare(
            loader(clients=self.hook.clients, **mappings), self.source_path, method, model, ratios, seed, targets
        )
        xcom = self._xcom(written)
        self.log.info("Prepared %s rows: %s", sum(xcom["rows"].values()), xcom["rows"])
        self.publish_outlets(context, xcom)
        return xcom

    def _mappings(self) -> dict[str, str]:
        from airflow_provider_nova.core.datasets.transform import validate_mappings
        from airflow_provider_nova.core.errors import ConfigurationError

        value: Any = self.column_mappings
        if value is None or (isinstance(value, str) and optional_text(value) is None):
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise ConfigurationError(f"column_mappings must be a mapping or its JSON text, got {value!r}") from exc
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"column_mappings must be a mapping of standard to your column names, got {value!r}"
            )
        return validate_mappings({str(key): column for key, column in value.items()})

    def _xcom(self, written: dict[str, tuple[str, int]]) -> dict[str, Any]:
        xcom: dict[str, Any] = {f"{XCOM_SPLITS[name]}_s3_path": path for name, (path, _) in written.items()}
        xcom["rows"] = {XCOM_SPLITS[name]: rows for name, (_, rows) in written.items()}
        return xcom
