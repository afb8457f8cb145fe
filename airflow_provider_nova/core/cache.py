"""A small thread-safe cache whose entries expire, for what the recipe hub answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

HUB_TTL_SECONDS = 3600.0


class RecipeCache:
    """What the hub answered, kept ``ttl_seconds`` (an hour) per key; safe to share between threads.

    One belongs to each ``AwsClients`` (and so to the Airflow hook that holds them); pass one
    explicitly to share answers between several sets of clients: keys name the endpoint, region
    and account, so they never mix.
    """

    def __init__(self, ttl_seconds: float = HUB_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``load()``'s (kept until it expires)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] > self._clock():
                return found[1]
        value = load()
        with self._lock:
            self._items[key] = (self._clock() + self.ttl_seconds, value)
        return value

    def entries(self) -> list[Hashable]:
        """The keys held now."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
