"""Split arithmetic: exact sizes from ratios, and a seeded assignment of rows to splits.

The assignment is a partial Fisher-Yates shuffle driven by ``random.Random(seed).random()``,
whose output Python guarantees across versions, so a seed gives the same split everywhere. It
needs one compact array of row positions (8 bytes a row); rows keep their file order within
each split.
"""

from __future__ import annotations

import itertools
import math
import random
from array import array
from numbers import Real
from typing import Any

from airflow_provider_nova.core.errors import DataPrepError

_RATIO_TOLERANCE = 1e-6


def check_ratios(train: Any, val: Any, test: Any) -> tuple[float, float, float]:
    """Return the three ratios as floats; a DataPrepError unless each is in [0, 1] and they sum to 1."""
    ratios = {"train_ratio": train, "val_ratio": val, "test_ratio": test}
    for name, value in ratios.items():
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) <= 1:
            raise DataPrepError(f"{name} must be a number between 0 and 1, got {value!r}")
    total = math.fsum(float(v) for v in ratios.values())
    if abs(total - 1) > _RATIO_TOLERANCE:
        raise DataPrepError(
            f"train_ratio + val_ratio + test_ratio must sum to 1.0, got {total:g} ({train} + {val} + {test})"
        )
    return float(train), float(val), float(test)


def split_sizes(total: int, ratios: tuple[float, float, float]) -> tuple[int, int, int]:
    """Return split sizes adding up to ``total`` exactly (largest remainder; ties go to train, then val)."""
    quotas = [total * r for r in ratios]
    sizes = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(3), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in by_remainder[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes[0], sizes[1], sizes[2]


def assign(total: int, sizes: tuple[int, int, int], seed: int) -> tuple[array[int], array[int], array[int]]:
    """Return the ascending row positions of the train, val and test splits for ``seed``."""
    _, n_val, n_test = sizes
    picked = n_val + n_test
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    order = array("q", range(total))
    for i in range(picked):
        j = i + int(rng.random() * (total - i))
        order[i], order[j] = order[j], order[i]
    val = array("q", sorted(order[:n_val]))
    test = array("q", sorted(order[n_val:picked]))
    in_train = bytearray(b"\x01") * total
    for position in order[:picked]:
        in_train[position] = 0
    del order
    train = array("q", itertools.compress(range(total), in_train))
    return train, val, test
