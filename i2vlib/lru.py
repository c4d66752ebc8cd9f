"""The one memo of the library: remember what was costly to make, forget the least recently used.

Encoder features, rendered and drawn videos, measured frames, motion maps and slider images are all
remembered here, each under its own bound: a count (``size`` is 1 per entry) or bytes (``size`` is an
entry's ``nbytes``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


def one(value: Any) -> int:
    """Every entry counts 1: the bound is a number of entries."""
    return 1


def nbytes(value: Any) -> int:
    """An entry counts its ``nbytes`` (arrays, clips): the bound is a number of bytes."""
    return int(value.nbytes)


class LRU:
    """Entries by key, the least recently used forgotten while their total ``size`` passes ``limit``
    (``limit=0`` keeps nothing)."""

    def __init__(self, limit: int, size: Callable[[Any], int] = one):
        self.limit, self.size, self.total = int(limit), size, 0
        self._entries: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __iter__(self):
        """The keys, the least recently used first."""
        return iter(self._entries)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The entry of ``key`` (now the most recently used), or ``default``."""
        if key not in self._entries:
            return default
        self._entries.move_to_end(key)
        return self._entries[key]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember ``value`` under ``key`` as the most recently used entry."""
        if key in self._entries:
            self.total -= self.size(self._entries.pop(key))
        self._entries[key] = value
        self.total += self.size(value)
        while self.total > self.limit:
            self.total -= self.size(self._entries.popitem(last=False)[1])

    def remember(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The entry of ``key``; else ``make()``, remembered (None is an entry too)."""
        if key in self._entries:
            return self.get(key)
        value = make()
        self.put(key, value)
        return value
