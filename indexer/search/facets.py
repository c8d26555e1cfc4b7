"""Facet counts and filters as array operations over each segment's tables.

Whoosh's own grouping (`groupedby=`) categorizes every matching document in Python, on every
search, and keeps the collector from skipping low-scoring blocks. Instead each segment's
facet values are its tables (`indexer.index.tables`, written with the segment and mapped, so
server workers share them): single-valued facets, and multi-valued ones with few values (a
study's phases and age groups, as bit sets), are columns of one table of counting slots, so a
page counts all of them with one gather and one `bincount` per segment; a facet of many values
(conditions) and the countries of a study's sites are runs of values per document, read only
for the documents counted. When most documents match, the ones that do not are counted and
taken from the totals. Each segment's ordinals are mapped onto the reader's values once per
generation. Filters become cached document masks.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from whoosh import query
from whoosh.idsets import DocIdSet

from ..catalog.facets import FACETS
from ..errors import QueryError
from ..index.tables import COUNTED, Tables, in_runs
from .caches import LRUCache, remembered
from .filters import Restriction
from .scoring import ArrayScorer
from .sites import SiteCriteria, SiteMatch, SiteTable

FACET_LIMIT = 20  # values returned per facet, most frequent first
FILTER_CACHE_BYTES = 8 * 2**20  # filter masks, and site matches, kept per reader by their size
FILTER_CACHE_SIZE = 64  # country totals (one per set of site statuses) kept per reader
_CHUNK = 65_536  # document numbers read between time-budget checks

Selections = list[np.ndarray]  # per segment, the segment-local documents counted, ascending


class FacetColumns:
    """The facet counts of one reader: each segment's tables (`segments`: its first document
    number and tables) and their values mapped onto the reader's, and the totals over every
    live document."""

    def __init__(self, reader, segments: list[tuple[int, Tables]], live: np.ndarray):
        self.size, self.live = reader.doc_count_all(), live
        self.live_count = int(np.count_nonzero(live))
        self._segments = segments
        names = [facet for facet in COUNTED if facet.field in reader.schema]
        # Each facet's values in the reader: the sorted union of the segments' index terms.
        self.values: dict[str, list[Any]] = {}
        self._ordinals: list[dict[str, np.ndarray]] = [{} for _ in segments]
        for facet in names:
            local = [tables.values(facet.name) for _, tables in segments]
            terms = sorted(set().union(*local))
            number = {term: i for i, term in enumerate(terms)}
            field = reader.schema[facet.field]
            self.values[facet.name] = [field.from_bytes(term) for term in terms]
            for ordinals, values in zip(self._ordinals, local):
                ordinals[facet.name] = np.array([number[v] for v in values], dtype=np.int64)
        self.totals = self._tally(_everyone(live, segments))
        self._country_totals: LRUCache = LRUCache(FILTER_CACHE_SIZE)

    def counts(self, docnums: np.ndarray, sites: SiteTable | None = None, statuses: tuple = (),
               limit: int = FACET_LIMIT) -> dict[str, list[tuple[Any, int]]]:
        """(value, count) pairs per facet over `docnums`, most frequent first (ties in the
        values' order); with `sites`, countries too: each study once per country of its sites
        (in `statuses`, when given)."""
        selected, others = self._selections(docnums)
        tally = self._tally(selected)
        if others:
            tally = {name: self.totals[name] - counts for name, counts in tally.items()}
        out = {name: _most_frequent(self.values[name], counts, limit) for name, counts in tally.items()}
        if sites is not None:
            countries = sites.country_counts(selected, statuses)
            if others:
                countries = remembered(self._country_totals, statuses, lambda: sites.country_counts(
                    _everyone(self.live, self._segments), statuses)) - countries
            out["country"] = _most_frequent(sites.countries, countries, limit)
        return {facet.name: out[facet.name] for facet in FACETS if facet.name in out}

    def _selections(self, docnums: np.ndarray) -> tuple[Selections, bool]:
        """The documents to count, per segment, and whether they are the live documents that
        do not match (when most do: counting those reads less; `study` matches 86% of a
        registry)."""
        if 2 * len(docnums) > self.live_count:
            others = self.live.copy()
            others[docnums] = False
            return _everyone(others, self._segments), True
        docs = docnums if np.all(docnums[1:] > docnums[:-1]) else np.unique(docnums)
        bounds = np.searchsorted(docs, [offset for offset, _ in self._segments] + [self.size])
        return [docs[a:b] - offset for (offset, _), a, b in zip(self._segments, bounds, bounds[1:])], False

    def _tally(self, selected: Selections) -> dict[str, np.ndarray]:
        """Each facet's count per value over the `selected` documents."""
        out = {name: np.zeros(len(values), dtype=np.int64) for name, values in self.values.items()}
        for (_, tables), ordinals, local in zip(self._segments, self._ordinals, selected):
            if not len(local):
                continue
            arrays = tables.arrays
            slots = np.bincount(arrays["table"][local].ravel(), minlength=tables.meta["slots"])
            for name, first, count, bits in tables.columns:
                counts = (slots[first:first + (1 << count)] @ _bit_matrix(count) if bits
                          else slots[first:first + count])
                out[name][ordinals[name]] += counts
            for name in tables.pairs:
                at = in_runs(arrays[f"starts:{name}"], local, tables.documents)
                picked = arrays[f"ordinals:{name}"][at]
                out[name][ordinals[name]] += np.bincount(picked, minlength=len(ordinals[name]))
        return out


def _everyone(mask: np.ndarray, segments: list[tuple[int, Tables]]) -> Selections:
    """The documents `mask` (over the reader) selects, per segment."""
    return [np.flatnonzero(mask[offset:offset + tables.documents]) for offset, tables in segments]


@functools.cache
def _bit_matrix(width: int) -> np.ndarray:
    """Row s, column v: 1 when bit set s holds value v."""
    return (np.arange(1 << width)[:, None] >> np.arange(width)) & 1


def _most_frequent(values: list[Any], counts: np.ndarray, limit: int) -> list[tuple[Any, int]]:
    # Ties in the values' order: sorted index terms, the order of their text (and of years).
    found = np.flatnonzero(counts)
    best = found[np.lexsort((found, -counts[found]))][:limit]
    return [(values[i], int(counts[i])) for i in best]


class MaskSet(DocIdSet):
    """A boolean mask over document numbers as the set Whoosh's collector filters by (a
    Python set of every allowed number took tens of megabytes per cached filter)."""

    def __init__(self, mask: np.ndarray):
        self.mask = mask

    def __contains__(self, docnum: int) -> bool:
        return 0 <= docnum < len(self.mask) and bool(self.mask[docnum])

    def __len__(self) -> int:
        return int(np.count_nonzero(self.mask))

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self.mask).tolist())


class DocSets:
    """Per-reader caches: facet columns and site tables (built on first use from each
    segment's tables), filter document masks and site matches (bounded by their size)."""

    def __init__(self, searcher, scorer: ArrayScorer):
        self.searcher = searcher
        self.scorer = scorer
        self._columns: FacetColumns | None = None
        self._sites: SiteTable | None = None
        self._filters: LRUCache = LRUCache(FILTER_CACHE_BYTES, getsizeof=lambda found: found[1].nbytes)
        self._site_matches: LRUCache = LRUCache(FILTER_CACHE_BYTES, getsizeof=lambda found: found.nbytes)

    def _segments(self) -> list[tuple[int, Tables]]:
        return [(offset, self.scorer.segments.tables(leaf))
                for leaf, offset in self.searcher.reader().leaf_readers()]

    @property
    def columns(self) -> FacetColumns:
        """The facet columns of this reader."""
        if self._columns is None:
            self._columns = FacetColumns(self.searcher.reader(), self._segments(), self.scorer.live)
        return self._columns

    @property
    def sites(self) -> SiteTable:
        """The sites and age limits of this reader's documents."""
        if self._sites is None:
            self._sites = SiteTable(self.searcher.reader().doc_count_all(), self._segments())
        return self._sites

    def site_match(self, criteria: SiteCriteria) -> SiteMatch:
        """The sites meeting `criteria` (cached)."""
        return remembered(self._site_matches, criteria, lambda: self.sites.match(criteria))

    def facet_counts(self, docnums: np.ndarray, restriction: Restriction) -> dict[str, list[tuple[Any, int]]]:
        """Facet counts over `docnums`; countries count the sites in the statuses asked for."""
        statuses = restriction.sites.statuses if restriction.sites else ()
        return self.columns.counts(docnums, self.sites, statuses)

    def filter(self, restriction: Restriction) -> tuple[MaskSet, np.ndarray]:
        """The documents `restriction` allows, as a set (for Whoosh's collector) and a
        boolean mask (for counting); cached under its key. Raises QueryError when the index
        predates a field the restriction reads."""
        schema = self.searcher.schema
        for name, field in restriction.fields:
            if field not in schema:
                raise QueryError(f"this index was built before the '{name}' filter existed; "
                                 "rebuild it (trialsearch build SOURCE) to filter by it", param=name)
        return remembered(self._filters, restriction.key, lambda: self._allowed(restriction))

    def _allowed(self, restriction: Restriction) -> tuple[MaskSet, np.ndarray]:
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
        return MaskSet(mask), mask

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
