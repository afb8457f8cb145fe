"""``python -m airflow_provider_nova.core.datasets``: prepare a dataset from the command line.

Loads a JSONL, JSON or CSV file (local or ``s3://``), converts it for a training method and
model, and saves it whole or split into train, validation and test files::

    python -m airflow_provider_nova.core.datasets s3://my-bucket/raw/chats.csv s3://my-bucket/prepared/ \\
        --method SFT_LORA --model NOVA_LITE_2 --column question=user_query --column answer=bot_response \\
        --split 0.8 0.1 0.1 --seed 42

Every argument is checked before anything is read or written. Prints where each file went;
on an error prints one line starting with "error:" (naming the row when the data is bad), writes
nothing and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from airflow_provider_nova.core.datasets import _split
from airflow_provider_nova.core.datasets._storage import check_source, check_target
from airflow_provider_nova.core.datasets.prepare import loader_class, prepare, split_targets
from airflow_provider_nova.core.datasets.transform import STANDARD_COLUMNS, validate_mappings
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import ConfigurationError, NovaError

_SPLIT_HELP = (
    "split ratios, each from 0 to 1, summing to 1, for the files train, val and test in OUTPUT (see "
    "--format); a split of ratio 0 is not written (--split 0.9 0.1 0 writes train and val only); a "
    "split of positive ratio that would get no rows is an error, and then nothing is written"
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Exit 2 with one line, as every other error of this command does."""
        self.exit(2, f"error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m airflow_provider_nova.core.datasets", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("input", help="the raw data: a .jsonl, .json or .csv path or s3:// URI")
    parser.add_argument("output", help="a .jsonl/.json file, or with --split a folder (local or s3://) for the files")
    parser.add_argument("--method", required=True, choices=[m.name for m in TrainingMethod])
    parser.add_argument("--model", required=True, choices=[m.name for m in Model])
    parser.add_argument("--column", action="append", default=[], metavar="STANDARD=YOURS",
                        help="map a standard column to yours, e.g. question=user_query (repeatable); "
                             f"standard columns: {', '.join(STANDARD_COLUMNS)}")  # fmt: skip
    parser.add_argument("--split", nargs=3, type=float, metavar=("TRAIN", "VAL", "TEST"), help=_SPLIT_HELP)
    parser.add_argument("--seed", type=int, default=42, help="split seed (default 42)")
    parser.add_argument("--format", choices=["jsonl", "json"], help="format of the split files (default jsonl)")
    return parser


def _mappings(pairs: list[str]) -> dict[str, str]:
    mappings: dict[str, str] = {}
    for pair in pairs:
        standard, sep, yours = pair.partition("=")
        if not sep or not standard or not yours:
            raise ConfigurationError(f"--column takes STANDARD=YOURS, got {pair!r}")
        if standard in mappings:
            raise ConfigurationError(f"--column maps {standard} twice: to {mappings[standard]!r} and {yours!r}")
        mappings[standard] = yours
    return validate_mappings(mappings)


def _outputs(args: argparse.Namespace) -> dict[str, str]:
    """Return the file to write for each split ("all" without --split), each checked writable."""
    if not args.split:
        if args.format is not None:
            raise ConfigurationError("--format applies to --split files; otherwise OUTPUT's extension sets it")
        if not args.output.lower().endswith((".jsonl", ".json")):
            raise ConfigurationError(f"output must end in .jsonl or .json, got {args.output!r}")
        return {"all": check_target(args.output, "output")}
    folder = check_source(args.output, "output")
    if folder.lower().rstrip("/").endswith((".jsonl", ".json")):
        raise ConfigurationError(f"with --split, output is a folder for the split files, got the file {folder!r}")
    return split_targets(folder, tuple(args.split), "output", args.format or "jsonl")


def run(argv: list[str] | None = None) -> list[str]:
    """Prepare the dataset as the arguments say; return the paths written.

    Every argument is checked first; the data is then loaded, converted and split, and each split
    checked to have rows, before the first file is written.
    """
    args = _parser().parse_args(argv)
    loader = loader_class(args.input)(**_mappings(args.column))
    ratios = _split.check_ratios(*args.split) if args.split else None
    outputs = _outputs(args)
    method, model = TrainingMethod[args.method], Model[args.model]
    written = prepare(loader, args.input, method, model, ratios, args.seed, outputs)
    return [path for path, _ in written.values()]


def main(argv: list[str] | None = None) -> int:
    try:
        written = run(argv)
    except NovaError as exc:  # every error raised on purpose, bad data included
        print("error: " + " ".join(str(exc).split("\n")), file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
