"""``python -m airflow_provider_nova.core.datasets``: prepare a dataset from the command line.

Loads a JSONL, JSON or CSV file (local or ``s3://``), converts it for a training method and
model, and saves it whole or split into train, validation and test files::

    python -m airflow_provider_nova.core.datasets s3://my-bucket/raw/chats.csv s3://my-bucket/prepared/ \\
        --method SFT_LORA --model NOVA_LITE_2 --column question=user_query --column answer=bot_response \\
        --split 0.8 0.1 0.1 --seed 42

Prints where each file went; exits 2 with the error (naming the row) when the data is bad.
"""

from __future__ import annotations

import argparse
import sys

from airflow_provider_nova.core.datasets.loader import (
    CSVDatasetLoader,
    DatasetLoader,
    JSONDatasetLoader,
    JSONLDatasetLoader,
)
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import ConfigurationError

LOADERS: dict[str, type[DatasetLoader]] = {
    ".jsonl": JSONLDatasetLoader,
    ".json": JSONDatasetLoader,
    ".csv": CSVDatasetLoader,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_nova.core.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("input", help="the raw data: a .jsonl, .json or .csv path or s3:// URI")
    parser.add_argument("output", help="a .jsonl/.json file, or with --split a folder (local or s3://) for three files")
    parser.add_argument("--method", required=True, choices=[m.name for m in TrainingMethod])
    parser.add_argument("--model", required=True, choices=[m.name for m in Model])
    parser.add_argument("--column", action="append", default=[], metavar="STANDARD=YOURS",
                        help="map a standard column to yours, e.g. question=user_query (repeatable)")  # fmt: skip
    parser.add_argument("--split", nargs=3, type=float, metavar=("TRAIN", "VAL", "TEST"), help="split ratios")
    parser.add_argument("--seed", type=int, default=42, help="split seed (default 42)")
    parser.add_argument("--format", choices=["jsonl", "json"], default="jsonl", help="split file format")
    return parser


def _mappings(pairs: list[str]) -> dict[str, str]:
    mappings = {}
    for pair in pairs:
        standard, sep, yours = pair.partition("=")
        if not sep or not standard or not yours:
            raise ConfigurationError(f"--column takes STANDARD=YOURS, got {pair!r}")
        mappings[standard] = yours
    return mappings


def run(argv: list[str] | None = None) -> list[str]:
    """Prepare the dataset as the arguments say; return the paths written."""
    args = _parser().parse_args(argv)
    extension = next((ext for ext in LOADERS if args.input.lower().endswith(ext)), None)
    if extension is None:
        raise ConfigurationError(f"input must end in .jsonl, .json or .csv, got {args.input!r}")
    loader = LOADERS[extension](**_mappings(args.column))
    loader.load(args.input).transform(TrainingMethod[args.method], Model[args.model])
    if not args.split:
        return [loader.save_data(args.output)]
    train, val, test = args.split
    parts = loader.split_data(train, val, test, seed=args.seed)
    folder = args.output.rstrip("/")
    return [
        part.save_data(f"{folder}/{name}.{args.format}")
        for part, name in zip(parts, ("train", "val", "test"), strict=True)
    ]


def main(argv: list[str] | None = None) -> int:
    try:
        written = run(argv)
    except ValueError as exc:  # ConfigurationError and DataPrepError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
