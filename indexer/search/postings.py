"""Whoosh's on-disk postings and each segment's tables as numpy arrays, kept per segment.

A Whoosh segment never changes once written: an update adds a segment and records deletions in
the index's table of contents, and a merge replaces segments by a new one. So what is read from
a segment (a term's document numbers and weights, its tables, a facet field's postings, a
field's words, where a phrase occurs) stays right for as long as the segment is part of the
index, across the generations that updates create. `SegmentCache` keeps it under the segment's
id, bounded by the memory it holds: views of mapped files (trialsearch's postings and tables)
cost none, what had to be decoded (Whoosh's own format) or computed counts its bytes. Callers
add each segment's offset and drop deleted documents with the reader's `live_mask`. After an
update of 1,000 studies into a 500,000-study index, a search re-reads the one new segment
instead of every posting of its words.
"""

from __future__ import annotations

import mmap
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..index.tables import Tables, load_tables
from ..whoosh.storage import field_runs, field_words, term_arrays
from .caches import LRUCache, remembered

SEGMENT_CACHE_BYTES = 16 * 2**20  # decoded or computed segment data kept per process
_NO_IDS = np.zeros(0, dtype=np.int32)


class SegmentCache:
    """Arrays decoded from segments, least recently used dropped past `max_bytes`."""

    def __init__(self, max_bytes: int = SEGMENT_CACHE_BYTES):
        self._entries: LRUCache = LRUCache(max_bytes, getsizeof=_nbytes)
        # Tables are kept whole per segment, outside the bounded cache: mapped ones cost
        # nothing to keep, and computed ones (a segment written before the tables file) cost
        # seconds to compute again (at 100k, evicted by the next query's postings, a patient
        # search computed them each time: 5 s).
        self._tables: dict[Any, Tables] = {}
        self.decoded = 0  # how many reads went to disk (tests check what an update re-reads)

    def postings(self, leaf, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """A term's document numbers in segment `leaf` (segment-local, deleted documents
        included, ascending) and its weights (float32 as trialsearch's format stores them,
        float64 decoded from Whoosh's); empty arrays when the segment lacks it."""
        return self._get(leaf, ("postings", fieldname, btext),
                         lambda: term_arrays(leaf, fieldname, btext) or _NO_POSTINGS)

    def tables(self, leaf) -> Tables:
        """Segment `leaf`'s tables: facet values, sites, ages and field lengths per document
        (`indexer.index.tables`)."""
        segment = _segment_key(leaf)
        if segment is None:  # not a stored segment (an in-memory reader): nothing to key on
            return load_tables(leaf)
        if segment not in self._tables:
            self._tables[segment] = self._decode(lambda: load_tables(leaf))
        return self._tables[segment]

    def field_postings(self, leaf, fieldname: str) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """A facet field's values in segment `leaf` (its sortable terms), how many documents
        hold each, and those documents end to end (segment-local)."""
        return self._get(leaf, ("field", fieldname), lambda: field_runs(leaf, fieldname))

    def words(self, leaf, fieldname: str) -> Sequence[str]:
        """The words of `fieldname` in segment `leaf`, sorted (Whoosh's term order): a
        `LexiconWords` over trialsearch's mapped lexicon, else a list."""
        def read() -> Sequence[str]:
            found = field_words(leaf, fieldname)
            return LexiconWords(found) if isinstance(found, np.ndarray) else found

        return self._get(leaf, ("words", fieldname), read)

    def phrase(self, leaf, fieldname: str, words: tuple, find: Callable[[], np.ndarray]) -> np.ndarray:
        """The segment-local documents where `words` stand in a row, as `find()` works them
        out from positions (cached: decoding positions is a phrase's main cost)."""
        return self._get(leaf, ("phrase", fieldname, words), find)

    def keep_only(self, leaves) -> None:
        """Forget segments other than `leaves` (those a merge or a rebuild removed)."""
        kept = {_segment_key(leaf) for leaf in leaves}
        for key in [k for k in self._entries if k[0] not in kept]:
            del self._entries[key]
        for segment in [s for s in self._tables if s not in kept]:
            del self._tables[segment]

    def _get(self, leaf, what: tuple, read: Callable[[], Any]) -> Any:
        segment = _segment_key(leaf)
        if segment is None:  # not a stored segment (an in-memory reader): nothing to key on
            return read()
        return remembered(self._entries, (segment, *what), lambda: self._decode(read))

    def _decode(self, read: Callable[[], Any]) -> Any:
        self.decoded += 1
        return read()


class LexiconWords(Sequence[str]):
    """A segment's sorted words of one field as its lexicon holds them: UTF-8, NUL-separated,
    a view of the mapped file, and where each word ends. A word is decoded when it is read
    (a bisection reads a few dozen; a slice, one decode for all of it), so a process keeps
    four bytes per word instead of a Python string (a registry's words took 40 MB a worker)."""

    def __init__(self, lexicon: np.ndarray):
        self._lexicon = lexicon
        ends = np.flatnonzero(lexicon == 0)
        self._ends = np.append(ends, len(lexicon)).astype(np.int32) if len(lexicon) else ends

    @property
    def nbytes(self) -> int:
        """The memory it holds of its own (the lexicon is the mapped file's)."""
        return self._ends.nbytes

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, at):
        if isinstance(at, slice):
            start, stop, step = at.indices(len(self))
            if step != 1:
                return list(self)[at]
            if start >= stop:
                return []
            first = int(self._ends[start - 1]) + 1 if start else 0
            return self._lexicon[first:int(self._ends[stop - 1])].tobytes().decode("utf-8").split("\0")
        if at < 0:
            at += len(self)
        if not 0 <= at < len(self):
            raise IndexError(at)
        first = int(self._ends[at - 1]) + 1 if at else 0
        return self._lexicon[first:int(self._ends[at])].tobytes().decode("utf-8")


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
    """The memory `value` holds in this process: nothing for views of a mapped file."""
    if isinstance(value, np.ndarray):
        return 0 if _mapped(value) else value.nbytes
    if isinstance(value, (Tables, LexiconWords)):
        return value.private_bytes if isinstance(value, Tables) else value.nbytes
    if isinstance(value, (str, bytes, int)):
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sum(_nbytes(v) + len(k) for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], str):
        return sys.getsizeof(value) + sum(map(len, value)) + 50 * len(value)  # words: roughly
    return sum(_nbytes(v) for v in value)


def _mapped(array: np.ndarray) -> bool:
    """Whether `array` is a view of a memory-mapped file (its pages are the page cache's)."""
    base = array
    while isinstance(base, np.ndarray) and not base.flags.owndata:
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


_NO_POSTINGS = (_NO_IDS, np.zeros(0, dtype=np.float64))
