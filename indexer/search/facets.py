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

import itertools
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np
from whoosh import query

from ..errors import QueryError
from ..index.schema import FACETS
from .filters import Restriction
from .postings import SegmentCache
from .scoring import ArrayScorer
from .sites import SiteCriteria, SiteMatch, SiteTable

FACET_LIMIT = 20  # values returned per facet, most frequent first
FILTER_CACHE_SIZE = 64  # distinct filter combinations (and site criteria) kept per reader
_CHUNK = 65_536  # document numbers read between time-budget checks


class FacetColumns:
    """Every document's facet values for one reader, built from its segments' postings:
    one ordinal per document for single-valued facets, (document, ordinal) pairs for
    multi-valued ones (a study's phases, conditions, age groups)."""

    def __init__(self, reader, segments: SegmentCache, live: np.ndarray):
        self.size = reader.doc_count_all()
        self.single: dict[str, tuple[np.ndarray, list[Any]]] = {}
        self.multi: dict[str, tuple[np.ndarray, np.ndarray, list[Any]]] = {}
        for facet in FACETS:
            name, fieldname = facet.name, facet.field
            if not facet.counted or facet.kind == "country" or fieldname not in reader.schema:
                continue
            field = reader.schema[fieldname]
            per_segment = [(offset, segments.field_postings(leaf, fieldname))
                           for leaf, offset in reader.leaf_readers()]
            btexts = sorted(set().union(*(runs[0] for _, runs in per_segment)))
            ordinal_of = {btext: i for i, btext in enumerate(btexts)}
            values = [field.from_bytes(b) for b in btexts]
            # Each posting's document and value ordinal, segment by segment.
            docs, ordinals = [], []
            for offset, (terms, counts, ids) in per_segment:
                ordinal = np.fromiter((ordinal_of[t] for t in terms), dtype=np.int32, count=len(terms))
                docs.append(offset + ids.astype(np.int64))
                ordinals.append(np.repeat(ordinal, counts))
            doc = np.concatenate(docs) if docs else np.zeros(0, dtype=np.int64)
            ordinal = np.concatenate(ordinals) if ordinals else np.zeros(0, dtype=np.int32)
            if facet.multi:
                keep = live[doc]
                self.multi[name] = (doc[keep], ordinal[keep], values)
            else:
                single = np.full(self.size, -1, dtype=np.int32)
                single[doc] = ordinal
                single[~live] = -1
                self.single[name] = (single, values)

    def counts(self, docnums: np.ndarray, countries: tuple | None = None,
               limit: int = FACET_LIMIT) -> dict[str, list[tuple[Any, int]]]:
        """(value, count) pairs per facet over `docnums`, most frequent first (ties by value).
        `countries` are (document, ordinal, values) pairs from `SiteTable.country_pairs`."""
        out: dict[str, list[tuple[Any, int]]] = {}
        matched = np.zeros(self.size, dtype=bool)
        matched[docnums] = True
        for facet in FACETS:
            name = facet.name
            if name in self.single:
                ordinals, values = self.single[name]
                picked = ordinals[docnums]
                tally = np.bincount(picked[picked >= 0], minlength=len(values))
            elif name in self.multi or (facet.kind == "country" and countries is not None):
                doc, ordinal, values = self.multi.get(name) or countries
                tally = np.bincount(ordinal[matched[doc]], minlength=len(values))
            else:
                continue
            pairs = [(values[i], int(tally[i])) for i in np.flatnonzero(tally)]
            out[name] = sorted(pairs, key=lambda vc: (-vc[1], str(vc[0])))[:limit]
        return out


class DocSets:
    """Per-reader caches: facet columns and site tables (built on first use), filter
    document sets and site matches."""

    def __init__(self, searcher, scorer: ArrayScorer):
        self.searcher = searcher
        self.scorer = scorer
        self._columns: FacetColumns | None = None
        self._sites: SiteTable | None = None
        self._filters: OrderedDict[Any, tuple[set[int], np.ndarray]] = OrderedDict()
        self._site_matches: OrderedDict[SiteCriteria, SiteMatch] = OrderedDict()
        self._country_pairs: OrderedDict[tuple[int, ...], tuple] = OrderedDict()

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
        return _cached(self._site_matches, criteria, lambda: self.sites.match(criteria))

    def facet_counts(self, docnums: np.ndarray, restriction: Restriction) -> dict[str, list[tuple[Any, int]]]:
        """Facet counts over `docnums`; countries count the sites in the statuses asked for."""
        statuses = restriction.sites.statuses if restriction.sites else ()
        return self.columns.counts(docnums, self.country_pairs(statuses))

    def country_pairs(self, statuses: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Each document's countries (of its sites in `statuses`, when given), cached."""
        return _cached(self._country_pairs, statuses, lambda: self.sites.country_pairs(statuses))

    def filter(self, restriction: Restriction) -> tuple[set[int], np.ndarray]:
        """The documents `restriction` allows, as a set (for Whoosh's collector) and a
        boolean mask (for counting); cached under its key. Raises QueryError when the index
        predates a field the restriction reads."""
        schema = self.searcher.schema
        for name, field in restriction.fields:
            if field not in schema:
                raise QueryError(f"this index was built before the '{name}' filter existed; "
                                 "rebuild it (trialsearch build SOURCE) to filter by it", param=name)
        return _cached(self._filters, restriction.key, lambda: self._allowed(restriction))

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


def _cached(cache: OrderedDict, key: Any, compute):
    """`compute()`, kept in `cache` under `key` (least recently used dropped past
    FILTER_CACHE_SIZE)."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = compute()
    if len(cache) > FILTER_CACHE_SIZE:
        cache.popitem(last=False)
    return value
