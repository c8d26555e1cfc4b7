"""Whoosh's on-disk postings and field lengths as numpy arrays, kept per segment.

A Whoosh segment never changes once written: an update adds a segment and records deletions in
the index's table of contents, and a merge replaces segments by a new one. So what is decoded
from a segment (a term's document numbers and weights, a field's length bytes, a facet field's
postings, a field's words, where a phrase occurs) stays right for as long as the segment is
part of the index, across the generations that updates create. `SegmentCache` keeps it under
the segment's id, bounded by bytes; callers add each segment's offset and drop deleted
documents with the reader's `live_mask`. After an update of 1,000 studies into a
500,000-study index, a search re-reads the one new segment instead of every posting of its
words.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..whoosh.storage import (
    blocks,
    bytes_column,
    field_runs,
    field_words,
    float_column,
    length_bytes,
    term_matcher,
)
from .caches import LRUCache, remembered

SEGMENT_CACHE_BYTES = 128 * 2**20  # decoded segment data kept per process (as the score cache)
_NO_IDS = np.zeros(0, dtype=np.int32)


class SegmentCache:
    """Arrays decoded from segments, least recently used dropped past `max_bytes`."""

    def __init__(self, max_bytes: int = SEGMENT_CACHE_BYTES):
        self._entries: LRUCache = LRUCache(max_bytes, getsizeof=_nbytes)
        self.decoded = 0  # how many reads went to disk (tests check what an update re-reads)

    def postings(self, leaf, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """A term's document numbers in segment `leaf` (segment-local, deleted documents
        included, ascending) and its weights; empty arrays when the segment lacks it."""
        return self._get(leaf, ("postings", fieldname, btext),
                         lambda: _term_postings(leaf, fieldname, btext))

    def lengths(self, leaf, fieldname: str) -> np.ndarray:
        """Each document's one-byte length of `fieldname` in segment `leaf` (0 when absent)."""
        return self._get(leaf, ("lengths", fieldname), lambda: length_bytes(leaf, fieldname))

    def field_postings(self, leaf, fieldname: str) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """A facet field's values in segment `leaf` (its sortable terms), how many documents
        hold each, and those documents end to end (segment-local)."""
        return self._get(leaf, ("field", fieldname), lambda: field_runs(leaf, fieldname))

    def words(self, leaf, fieldname: str) -> list:
        """The words of `fieldname` in segment `leaf`, sorted (Whoosh's term order)."""
        return self._get(leaf, ("words", fieldname), lambda: field_words(leaf, fieldname))

    def floats(self, leaf, fieldname: str) -> np.ndarray:
        """Each document's value of a float column in segment `leaf` (NaN when it has none)."""
        return self._get(leaf, ("floats", fieldname), lambda: float_column(leaf, fieldname))

    def records(self, leaf, fieldname: str, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """A column of packed `dtype` records (a study's sites) in segment `leaf`: every
        record, and the segment-local document each belongs to (ascending)."""
        def read() -> tuple[np.ndarray, np.ndarray]:
            data, lengths = bytes_column(leaf, fieldname)
            owners = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths // dtype.itemsize)
            return np.frombuffer(data, dtype=dtype), owners

        return self._get(leaf, ("records", fieldname), read)

    def phrase(self, leaf, fieldname: str, words: tuple, find: Callable[[], np.ndarray]) -> np.ndarray:
        """The segment-local documents where `words` stand in a row, as `find()` works them
        out from positions (cached: decoding positions is a phrase's main cost)."""
        return self._get(leaf, ("phrase", fieldname, words), find)

    def keep_only(self, leaves) -> None:
        """Forget segments other than `leaves` (those a merge or a rebuild removed)."""
        kept = {_segment_key(leaf) for leaf in leaves}
        for key in [k for k in self._entries if k[0] not in kept]:
            del self._entries[key]

    def _get(self, leaf, what: tuple, read: Callable[[], Any]) -> Any:
        segment = _segment_key(leaf)
        if segment is None:  # not a stored segment (an in-memory reader): nothing to key on
            return read()
        return remembered(self._entries, (segment, *what), lambda: self._decode(read))

    def _decode(self, read: Callable[[], Any]) -> Any:
        self.decoded += 1
        return read()


def live_mask(reader) -> np.ndarray:
    """A boolean array over the reader's document numbers: False where a document is deleted."""
    live = np.ones(reader.doc_count_all(), dtype=bool)
    for leaf, offset in reader.leaf_readers():
        if leaf.has_deletions():
            live[offset + np.fromiter(leaf.deleted_docs_set, dtype=np.int64)] = False
    return live


def _segment_key(leaf) -> str | None:
    segment = leaf.segment()  # None for readers that are not one stored segment
    return segment.segment_id() if segment is not None else None


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (str, bytes, int)):
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sum(_nbytes(v) + len(k) for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], str):
        return sys.getsizeof(value) + sum(map(len, value)) + 50 * len(value)  # words: roughly
    return sum(_nbytes(v) for v in value)


def _term_postings(leaf, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    matcher = term_matcher(leaf, fieldname, btext)
    if matcher is None:
        return _NO_IDS, np.zeros(0, dtype=np.float64)
    return _decode(matcher)


def _decode(matcher) -> tuple[np.ndarray, np.ndarray]:
    """A posting list's document numbers (int32) and weights."""
    parts = list(blocks(matcher))
    if not parts:
        return _NO_IDS, np.zeros(0, dtype=np.float64)
    return (np.concatenate([ids for ids, _, _ in parts]).astype(np.int32),
            np.concatenate([weights for _, weights, _ in parts]))
