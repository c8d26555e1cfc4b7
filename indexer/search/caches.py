"""Bounded caches for what searches compute once and read again: cachetools' least-recently-used
caches, bounded by entries or by bytes, and the one way they are filled.

Every cache of the search core (decoded segment data, scored leaves, filter document sets,
prepared queries, query vectors) is one of these, used under `SearchIndex`'s lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, MutableMapping
from typing import TypeVar

from cachetools import LRUCache

__all__ = ["LRUCache", "remembered"]

T = TypeVar("T")


def remembered(cache: MutableMapping, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, kept in `cache` under `key`: the kept value when there is one. A value
    larger than a byte-bounded cache's whole size is returned without being kept."""
    try:
        return cache[key]
    except KeyError:
        pass
    value = compute()
    with contextlib.suppress(ValueError):  # cachetools: larger than the whole cache
        cache[key] = value
    return value
