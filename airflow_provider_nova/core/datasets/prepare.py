"""Prepare a dataset in one call: load, convert, split and save; shared by the command line and Airflow.

::

    targets = split_targets("s3://my-bucket/prepared/", (0.8, 0.1, 0.1), "output")
    loader = loader_class("s3://my-bucket/raw/chats.csv")(clients=clients, question="user_query")
    counts = prepare(loader, "s3://my-bucket/raw/chats.csv", TrainingMethod.SFT_LORA, Model.NOVA_LITE_2,
                     (0.8, 0.1, 0.1), 42, targets)

Every argument is checked before anything is read; every split is checked to have rows before the
first file is written.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow_provider_nova.core.datasets._split import check_ratios
from airflow_provider_nova.core.datasets._storage import check_source, check_target
from airflow_provider_nova.core.datasets.loader import (
    CSVDatasetLoader,
    DatasetLoader,
    JSONDatasetLoader,
    JSONLDatasetLoader,
)
from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.s3 import S3Uri

if TYPE_CHECKING:
    from airflow_provider_nova.core.enums import Model, TrainingMethod

LOADERS: dict[str, type[DatasetLoader]] = {
    "jsonl": JSONLDatasetLoader,
    "json": JSONDatasetLoader,
    "csv": CSVDatasetLoader,
}
SPLITS = ("train", "val", "test")
__all__ = ["LOADERS", "SPLITS", "check_ratios", "loader_class", "prepare", "split_targets"]


def loader_class(source: str, data_format: str | None = None, what: str = "input") -> type[DatasetLoader]:
    """The loader for ``data_format`` (``jsonl``, ``json``, ``csv``), or for ``source``'s extension when None."""
    source = check_source(source, what)
    if data_format is not None:
        if data_format.lower() not in LOADERS:
            raise ConfigurationError(f"the data format must be jsonl, json or csv, got {data_format!r}")
        return LOADERS[data_format.lower()]
    extension = next((ext for ext in LOADERS if source.lower().endswith("." + ext)), None)
    if extension is None:
        raise ConfigurationError(f"{what} must end in .jsonl, .json or .csv, got {source!r}")
    return LOADERS[extension]


def split_targets(
    folder: str, ratios: tuple[float, float, float], what: str = "output", file_format: str = "jsonl"
) -> dict[str, str]:
    """The file each split of positive ratio is saved to in ``folder`` (local or ``s3://``), checked writable."""
    folder = check_source(folder, what)
    if folder.lower().rstrip("/").endswith((".jsonl", ".json")):
        raise ConfigurationError(f"{what} is a folder for the split files, got the file {folder!r}")
    if file_format not in ("jsonl", "json"):
        raise ConfigurationError(f"the split files' format must be jsonl or json, got {file_format!r}")
    names = [f"{name}.{file_format}" for name, ratio in zip(SPLITS, ratios, strict=True) if ratio]
    if folder.startswith("s3://"):
        paths = [str(S3Uri.parse(folder, what).join(name)) for name in names]
    else:
        paths = [os.path.join(folder, name) for name in names]
    return {name.partition(".")[0]: check_target(path, what) for name, path in zip(names, paths, strict=True)}


def prepare(
    loader: DatasetLoader,
    source: str,
    method: TrainingMethod,
    model: Model,
    ratios: tuple[float, float, float] | None,
    seed: int,
    targets: dict[str, str],
) -> dict[str, tuple[str, int]]:
    """Load ``source``, convert it, split it and save each split to its target; return ``{split: (path, rows)}``.

    Without ``ratios`` the whole dataset goes to ``targets["all"]``.

    :raises DataPrepError: a row that cannot be converted (named), or a file that cannot be read or written.
    :raises ConfigurationError: a split of positive ratio that would get no rows; nothing is written then.
    """
    loader.load(source).transform(method, model)
    if ratios is None:
        return {"all": (loader.save_data(targets["all"]), len(loader))}
    parts = dict(zip(SPLITS, loader.split_data(*ratios, seed=seed), strict=True))
    for name in targets:
        if not len(parts[name]):
            ratio = ratios[SPLITS.index(name)]
            raise ConfigurationError(
                f"the {name} split would be empty: {ratio:g} of {len(loader):,} rows is less than one row; "
                f"give it a larger ratio, or 0 to write no {name} file"
            )
    return {name: (parts[name].save_data(path), len(parts[name])) for name, path in targets.items()}
