"""Facet counts and filters as array operations over per-reader caches.

Whoosh's own grouping (`groupedby=`) categorizes every matching document in Python, on every
search, and keeps the collector from skipping low-scoring blocks. Instead, once per index
reader, each facet's value of every document is put into a numpy array (one ordinal per
document, or a mask per value for the multi-valued phase) from the facet postings, which are
decoded once per segment (see `indexer.search.postings`); a search then counts facets with one
`bincount` over the matching document numbers, and filters become cached document sets.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np
from whoosh import query

from ..index.schema import FACETS, FACETS_BY_NAME
from .postings import SegmentCache
from .scoring import ArrayScorer

FACET_LIMIT = 20  # values returned per facet, most frequent first
FILTER_CACHE_SIZE = 64  # distinct filter combinations kept per reader
_CHUNK = 65_536  # document numbers read between time-budget checks


class FacetColumns:
    """Every document's facet values for one reader, built from its segments' postings."""

    def __init__(self, reader, segments: SegmentCache, live: np.ndarray):
        self.size = reader.doc_count_all()
        self.single: dict[str, tuple[np.ndarray, list[Any]]] = {}
        self.multi: dict[str, list[tuple[Any, np.ndarray]]] = {}
        for facet in FACETS:
            name, fieldname, multi = facet.name, facet.field, facet.multi
            if fieldname not in reader.schema:
                continue
            field = reader.schema[fieldname]
            per_segment = [(offset, segments.field_postings(leaf, fieldname))
                           for leaf, offset in reader.leaf_readers()]
            btexts = sorted(set().union(*(postings for _, postings in per_segment)))
            ordinal_of = {btext: i for i, btext in enumerate(btexts)}
            values = [field.from_bytes(b) for b in btexts]
            if multi:
                masks = [np.zeros(self.size, dtype=bool) for _ in btexts]
                for offset, postings in per_segment:
                    for btext, ids in postings.items():
                        masks[ordinal_of[btext]][offset + ids] = True
                self.multi[name] = [(value, mask & live) for value, mask in zip(values, masks)]
            else:
                ordinals = np.full(self.size, -1, dtype=np.int32)
                for offset, postings in per_segment:
                    for btext, ids in postings.items():
                        ordinals[offset + ids] = ordinal_of[btext]
                ordinals[~live] = -1
                self.single[name] = (ordinals, values)

    def counts(self, docnums: np.ndarray, limit: int = FACET_LIMIT) -> dict[str, list[tuple[Any, int]]]:
        """(value, count) pairs per facet over `docnums`, most frequent first (ties by value)."""
        out: dict[str, list[tuple[Any, int]]] = {}
        for name in FACETS_BY_NAME:
            if name in self.single:
                ordinals, values = self.single[name]
                picked = ordinals[docnums]
                tally = np.bincount(picked[picked >= 0], minlength=len(values))
                present = np.flatnonzero(tally)
                pairs = [(values[i], int(tally[i])) for i in present]
            elif name in self.multi:
                pairs = [(value, int(np.count_nonzero(mask[docnums])))
                         for value, mask in self.multi[name]]
                pairs = [(v, c) for v, c in pairs if c]
            else:
                continue
            out[name] = sorted(pairs, key=lambda vc: (-vc[1], str(vc[0])))[:limit]
        return out


class DocSets:
    """Per-reader caches: facet columns (built on first use) and filter document sets."""

    def __init__(self, searcher, scorer: ArrayScorer):
        self.searcher = searcher
        self.scorer = scorer
        self._columns: FacetColumns | None = None
        self._filters: OrderedDict[Any, tuple[set[int], np.ndarray]] = OrderedDict()

    @property
    def columns(self) -> FacetColumns:
        """The facet columns of this reader."""
        if self._columns is None:
            self._columns = FacetColumns(self.searcher.reader(), self.scorer.segments,
                                         self.scorer.live)
        return self._columns

    def filter(self, key: Any, filter_query: query.Query) -> tuple[set[int], np.ndarray]:
        """The documents `filter_query` matches, as a set (for Whoosh's collector) and a
        boolean mask (for counting); cached under `key`."""
        if key in self._filters:
            self._filters.move_to_end(key)
            return self._filters[key]
        if self.scorer.supports(filter_query):
            docnums = set(self.scorer.evaluate(filter_query)[0].tolist())
        else:
            docnums = set(self.searcher.docs_for_query(filter_query))
        mask = np.zeros(self.searcher.doc_count_all(), dtype=bool)
        mask[np.fromiter(docnums, dtype=np.int64, count=len(docnums))] = True
        self._filters[key] = (docnums, mask)
        if len(self._filters) > FILTER_CACHE_SIZE:
            self._filters.popitem(last=False)
        return docnums, mask

    def matching(self, q: query.Query, mask: np.ndarray | None, deadline: float) -> tuple[np.ndarray, bool]:
        """Document numbers matching `q` (and `mask`), unscored; stops at `deadline`
        (time.monotonic) and then says it was cut short."""
        if isinstance(q, query.Every):
            docnums: Iterable[int] = self.searcher.reader().all_doc_ids()
        else:
            docnums = self.searcher.docs_for_query(q)
        docnums = iter(docnums)
        chunks, cut = [], False
        while True:
            chunk = np.fromiter(itertools.islice(docnums, _CHUNK), dtype=np.int64)
            chunks.append(chunk)
            if len(chunk) < _CHUNK:
                break
            if time.monotonic() > deadline:
                cut = True
                break
        ids = np.concatenate(chunks)
        if mask is not None:
            ids = ids[mask[ids]]
        return ids, cut
