"""The library's one memo (:mod:`i2vlib.lru`): bounded by a count or by bytes, least recently used forgotten first."""

import numpy as np

from i2vlib.lru import LRU, nbytes


def test_a_count_bound_forgets_the_least_recently_used_first():
    memo = LRU(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1                       # "a" is now the most recently used
    memo.put("c", 3)
    assert list(memo) == ["a", "c"] and "b" not in memo and memo.get("b", "gone") == "gone"
    memo.put("a", 10)                               # a new value under a kept key counts once
    assert len(memo) == 2 and memo.total == 2 and list(memo) == ["c", "a"] and memo.get("a") == 10


def test_a_byte_bound_counts_each_entry_by_its_bytes_and_zero_keeps_nothing():
    memo = LRU(3000, nbytes)
    for k in range(4):
        memo.put(k, np.zeros(1000, np.uint8))
    assert list(memo) == [1, 2, 3] and memo.total == 3000
    memo.put("big", np.zeros(3001, np.uint8))       # more than the bound alone: not kept, nothing else either
    assert len(memo) == 0 and memo.total == 0
    nothing = LRU(0, nbytes)
    nothing.put("x", np.zeros(1, np.uint8))
    assert len(nothing) == 0


def test_remember_makes_each_missing_entry_once_none_included():
    made = []

    def make(value):
        made.append(value)
        return value

    memo = LRU(4)
    assert memo.remember("x", lambda: make(None)) is None
    assert memo.remember("x", lambda: make("again")) is None      # None is a remembered entry
    assert memo.remember("y", lambda: make(2)) == 2 and made == [None, 2]
    zero = LRU(0)                                                   # nothing kept: made every time
    assert [zero.remember("z", lambda: make(3)) for _ in range(2)] == [3, 3] and made == [None, 2, 3, 3]
