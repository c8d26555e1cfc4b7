"""Facet counts and filters as array operations over per-reader caches.

Whoosh's own grouping (`groupedby=`) categorizes every matching document in Python, on every
search, and keeps the collector from skipping low-scoring blocks. Instead, once per index
reader, each facet's value of every document is put into numpy arrays (one ordinal per
document, or (document, ordinal) pairs for multi-valued facets such as phases and conditions)
from the facet postings, which are decoded once per segment (see `indexer.search.postings`); a
search then counts facets with one `bincount` over the matching document numbers, and filters
become cached document sets. Countries are counted from the study's sites
(`indexer.search.sites`), in the statuses a search asks for.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from whoosh import query

from ..catalog.facets import FACETS
from ..errors import QueryError
from .caches import LRUCache, remembered
from .filters import Restriction
from .postings import SegmentCache
from .scoring import ArrayScorer
from .sites import SiteCriteria, SiteMatch, SiteTable

FACET_LIMIT = 20  # values returned per facet, most frequent first
BIT_SET_VALUES = 8  # a multi-valued facet with at most this many values is counted as bit sets
FILTER_CACHE_SIZE = 64  # distinct filter combinations (and site criteria) kept per reader
_CHUNK = 65_536  # document numbers read between time-budget checks


class FacetColumns:
    """Every document's facet values for one reader, built from its segments' postings.

    Single-valued facets, and multi-valued ones with few values (a study's phases and age
    groups, kept as one bit set per study), are columns of one table of counting slots, so
    a page counts all of them with one gather and one `bincount` instead of one pass per
    facet. Multi-valued facets with many values (conditions) are (document, ordinal) pairs."""

    def __init__(self, reader, segments: SegmentCache, live: np.ndarray):
        self.size = reader.doc_count_all()
        self.columns: list[tuple[str, list[Any], int, bool]] = []  # name, values, first slot, bits
        self.pairs: dict[str, tuple[np.ndarray, np.ndarray, list[Any]]] = {}
        slots, table = 0, []
        for facet in FACETS:
            name, fieldname = facet.name, facet.field
            if not facet.counted or facet.kind.role != "terms" or fieldname not in reader.schema:
                continue
            doc, ordinal, values = _postings_of(reader, segments, fieldname)
            keep = live[doc]  # deleted documents count nowhere
            doc, ordinal = doc[keep], ordinal[keep]
            if facet.multi and len(values) > BIT_SET_VALUES:
                self.pairs[name] = (doc, ordinal, values)
                continue
            if facet.multi:  # slot: the set of values, as bits
                width = 1 << len(values)
                column = np.zeros(self.size, dtype=np.int64)
                np.bitwise_or.at(column, doc, np.left_shift(1, ordinal, dtype=np.int64))
            else:  # slot: the value; documents without one go to a spare slot past the values
                width = len(values) + 1
                column = np.full(self.size, len(values), dtype=np.int64)
                column[doc] = ordinal
            self.columns.append((name, values, slots, facet.multi))
            table.append(column + slots)
            slots += width
        self.slots = slots
        dtype = np.min_scalar_type(max(slots - 1, 0))
        self.table = (np.stack(table, axis=1).astype(dtype) if table
                      else np.zeros((self.size, 0), dtype=dtype))
        self.live, self.live_count = live, int(np.count_nonzero(live))
        self.totals = np.bincount(self.table[live].ravel(), minlength=slots)
        self.pair_totals = {name: np.bincount(ordinal, minlength=len(values))
                            for name, (_, ordinal, values) in self.pairs.items()}

    def counts(self, docnums: np.ndarray, countries: tuple | None = None,
               limit: int = FACET_LIMIT) -> dict[str, list[tuple[Any, int]]]:
        """(value, count) pairs per facet over `docnums`, most frequent first (ties by value).
        `countries` are (document, ordinal, values) pairs from `SiteTable.country_pairs`."""
        out: dict[str, list[tuple[Any, int]]] = {}
        # When most documents match, counting the others and taking them from the totals
        # reads less (`study` matches 86% of a registry).
        others = None
        if 2 * len(docnums) > self.live_count:
            others = self.live.copy()
            others[docnums] = False
            tally = self.totals - np.bincount(self.table[others].ravel(), minlength=self.slots)
        else:
            tally = np.bincount(self.table[docnums].ravel(), minlength=self.slots)
        for name, values, first, bits in self.columns:
            if bits:  # each value's count: the counts of the bit sets holding it
                counts = tally[first:first + (1 << len(values))] @ _bit_matrix(len(values))
            else:
                counts = tally[first:first + len(values)]
            out[name] = _most_frequent(values, counts, limit)
        matched = (self._matched(docnums)
                   if countries is not None or (self.pairs and others is None) else None)
        for name, (doc, ordinal, values) in self.pairs.items():
            if others is not None:
                counts = self.pair_totals[name] - np.bincount(ordinal[others[doc]], minlength=len(values))
            else:
                counts = np.bincount(ordinal[matched[doc]], minlength=len(values))
            out[name] = _most_frequent(values, counts, limit)
        if countries is not None:  # per status set, so no totals kept
            doc, ordinal, values = countries
            counts = np.bincount(ordinal[matched[doc]], minlength=len(values))
            out["country"] = _most_frequent(values, counts, limit)
        return {facet.name: out[facet.name] for facet in FACETS if facet.name in out}

    def _matched(self, docnums: np.ndarray) -> np.ndarray:
        matched = np.zeros(self.size, dtype=bool)
        matched[docnums] = True
        return matched


def _postings_of(reader, segments: SegmentCache, fieldname: str) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Each posting of `fieldname` as (document, value ordinal), and the values in order."""
    field = reader.schema[fieldname]
    per_segment = [(offset, segments.field_postings(leaf, fieldname))
                   for leaf, offset in reader.leaf_readers()]
    btexts = sorted(set().union(*(runs[0] for _, runs in per_segment)))
    ordinal_of = {btext: i for i, btext in enumerate(btexts)}
    docs, ordinals = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for offset, (terms, counts, ids) in per_segment:
        ordinal = np.fromiter((ordinal_of[t] for t in terms), dtype=np.int64, count=len(terms))
        docs.append(offset + ids.astype(np.int64))
        ordinals.append(np.repeat(ordinal, counts))
    return np.concatenate(docs), np.concatenate(ordinals), [field.from_bytes(b) for b in btexts]


@functools.cache
def _bit_matrix(width: int) -> np.ndarray:
    """Row s, column v: 1 when bit set s holds value v."""
    return (np.arange(1 << width)[:, None] >> np.arange(width)) & 1


def _most_frequent(values: list[Any], counts: np.ndarray, limit: int) -> list[tuple[Any, int]]:
    pairs = [(values[i], int(counts[i])) for i in np.flatnonzero(counts)]
    return sorted(pairs, key=lambda vc: (-vc[1], str(vc[0])))[:limit]


class DocSets:
    """Per-reader caches: facet columns and site tables (built on first use), filter
    document sets and site matches."""

    def __init__(self, searcher, scorer: ArrayScorer):
        self.searcher = searcher
        self.scorer = scorer
        self._columns: FacetColumns | None = None
        self._sites: SiteTable | None = None
        self._filters: LRUCache = LRUCache(FILTER_CACHE_SIZE)
        self._site_matches: LRUCache = LRUCache(FILTER_CACHE_SIZE)
        self._country_pairs: LRUCache = LRUCache(FILTER_CACHE_SIZE)

    @property
    def columns(self) -> FacetColumns:
        """The facet columns of this reader."""
        if self._columns is None:
            self._columns = FacetColumns(self.searcher.reader(), self.scorer.segments,
                                         self.scorer.live)
        return self._columns

    @property
    def sites(self) -> SiteTable:
        """The sites and age limits of this reader's documents."""
        if self._sites is None:
            self._sites = SiteTable(self.searcher.reader(), self.scorer.segments, self.scorer.live)
        return self._sites

    def site_match(self, criteria: SiteCriteria) -> SiteMatch:
        """The sites meeting `criteria` (cached)."""
        return remembered(self._site_matches, criteria, lambda: self.sites.match(criteria))

    def facet_counts(self, docnums: np.ndarray, restriction: Restriction) -> dict[str, list[tuple[Any, int]]]:
        """Facet counts over `docnums`; countries count the sites in the statuses asked for."""
        statuses = restriction.sites.statuses if restriction.sites else ()
        return self.columns.counts(docnums, self.country_pairs(statuses))

    def country_pairs(self, statuses: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Each document's countries (of its sites in `statuses`, when given), cached."""
        return remembered(self._country_pairs, statuses, lambda: self.sites.country_pairs(statuses))

    def filter(self, restriction: Restriction) -> tuple[set[int], np.ndarray]:
        """The documents `restriction` allows, as a set (for Whoosh's collector) and a
        boolean mask (for counting); cached under its key. Raises QueryError when the index
        predates a field the restriction reads."""
        schema = self.searcher.schema
        for name, field in restriction.fields:
            if field not in schema:
                raise QueryError(f"this index was built before the '{name}' filter existed; "
                                 "rebuild it (trialsearch build SOURCE) to filter by it", param=name)
        return remembered(self._filters, restriction.key, lambda: self._allowed(restriction))

    def _allowed(self, restriction: Restriction) -> tuple[set[int], np.ndarray]:
        mask = self.scorer.live.copy()
        if restriction.terms is not None:
            terms = restriction.terms
            if self.scorer.supports(terms):
                ids = self.scorer.evaluate(terms)[0]
            else:
                ids = np.fromiter(self.searcher.docs_for_query(terms), dtype=np.int64)
            term_mask = np.zeros(len(mask), dtype=bool)
            term_mask[ids] = True
            mask &= term_mask
        if restriction.sites is not None and restriction.sites.places:
            mask &= self.sites.documents(self.site_match(restriction.sites))
        if restriction.age is not None:
            mask &= self.sites.ages_include(restriction.age)
        return set(np.flatnonzero(mask).tolist()), mask

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
