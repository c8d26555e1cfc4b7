"""BM25F scoring with numpy over cached posting arrays: Whoosh's scores, without its per-posting
Python loop.

Whoosh scores a query by walking every posting of every term through a tree of matcher objects,
a few microseconds of Python per posting per field; a common word over six fields of a
registry-sized index is millions of steps, and the search then walks them again to count
facets. `ArrayScorer` takes each term's postings as arrays (decoded once per segment, see
`indexer.search.postings`), turns them into BM25F scores (cached per reader, bounded by bytes), and
evaluates the query tree with array operations: OR sums scores over the union, AND over the
intersection, NOT removes; a phrase decodes positions only for the documents holding all its
words. Other leaves (date and number ranges, sloppy phrases) run through Whoosh's own
matcher once and are cached the same way, so every score is Whoosh's own; shapes it does not
know (coordination-scaled OR, DisjunctionMax, ...) are not `supports`ed and the caller uses
Whoosh's collector. Tests check totals, order and scores against Whoosh's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from whoosh import query, scoring
from whoosh.util.numeric import byte_to_length

from ..whoosh.storage import field_b, term_positions
from .caches import LRUCache, remembered
from .postings import SegmentCache, live_mask

CACHE_BYTES = 16 * 2**20  # scored leaves kept per reader (per server process)
# Whole queries' matches kept per reader, by count: a search with a facet filter scores its
# query again to count that facet without the filter (and the next page scores it again), and
# at 500k a query such as `covid` has more scored leaves than CACHE_BYTES holds.
QUERIES_KEPT = 2
_DEADLINE_EVERY = 4096  # matches read between time-budget checks in the matcher loop
# Whoosh keeps each document's field length as one byte; this decodes all 256 at once.
_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

Scored = tuple[np.ndarray, np.ndarray]  # ascending document numbers, and their scores


class OverBudget(Exception):
    """A leaf took longer than the search's time budget to read."""


def _scored_bytes(scored: Scored) -> int:
    return scored[0].nbytes + scored[1].nbytes


class ArrayScorer:
    """Per-searcher caches and the array evaluation of a query (see the module docstring)."""

    def __init__(self, searcher, cache_bytes: int = CACHE_BYTES,
                 segments: SegmentCache | None = None):
        self.searcher = searcher
        # Decoded postings outlive this scorer: the next generation reuses unchanged segments.
        self.segments = segments if segments is not None else SegmentCache()
        self.size = searcher.doc_count_all()
        self.weighting = searcher.weighting
        reader = searcher.reader()
        self._leaf_readers = reader.leaf_readers()
        self.live = live_mask(reader)
        self._leaves: LRUCache = LRUCache(cache_bytes, getsizeof=_scored_bytes)
        self._queries: LRUCache = LRUCache(QUERIES_KEPT)

    def supports(self, q: query.Query) -> bool:
        """Whether `evaluate` can score `q` (else use Whoosh's collector)."""
        if type(self.weighting) is not scoring.BM25F:
            return False
        if isinstance(q, (query.And, query.Or)):
            if isinstance(q, query.Or) and (q.scale or q.minmatch):
                return False  # coordination bonus: CoordMatcher's arithmetic, not a sum
            if type(q) not in (query.And, query.Or):
                return False
            if isinstance(q, query.And) and all(isinstance(c, query.Not) for c in q.subqueries):
                return False  # only NOTs: Whoosh's InverseMatcher, rare enough to leave to it
            return all(self.supports(child.query if isinstance(child, query.Not) else child)
                       for child in q.subqueries)
        if isinstance(q, query.AndNot):
            return self.supports(q.a) and self.supports(q.b)
        return q.is_leaf() and not isinstance(q, query.Not)

    def matches(self, q: query.Query, deadline: float | None = None) -> Scored:
        """`evaluate(q)`, remembered for the QUERIES_KEPT latest queries (filters apply after)."""
        return remembered(self._queries, q, lambda: self.evaluate(q, deadline))

    def evaluate(self, q: query.Query, deadline: float | None = None) -> Scored:
        """Every live document `q` matches, ascending, with its score as Whoosh computes it.
        Call `supports(q)` first. Raises OverBudget past `deadline` (time.monotonic)."""
        if q is query.NullQuery or isinstance(q, type(query.NullQuery)):
            return _EMPTY
        if isinstance(q, query.And):
            return self._and(q, deadline)
        if isinstance(q, query.Or):
            scored = [self.evaluate(child, deadline) for child in q.subqueries]
            ids, scores = _union(scored, self.size)
            return ids, scores * q.boost if q.boost != 1.0 else scores
        if isinstance(q, query.AndNot):
            ids, scores = self.evaluate(q.a, deadline)
            keep = ~np.isin(ids, self.evaluate(q.b, deadline)[0], assume_unique=True)
            return ids[keep], scores[keep]
        return self._leaf(q, deadline)

    # -- compound queries ------------------------------------------------------------------
    def _and(self, q: query.And, deadline: float | None) -> Scored:
        required = [c for c in q.subqueries if not isinstance(c, query.Not)]
        excluded = [c.query for c in q.subqueries if isinstance(c, query.Not)]
        ids, scores = _intersection([self.evaluate(child, deadline) for child in required])
        for child in excluded:
            keep = ~np.isin(ids, self.evaluate(child, deadline)[0], assume_unique=True)
            # Whoosh intersects with an InverseMatcher, which scores each document 1.0.
            ids, scores = ids[keep], scores[keep] + 1.0
        return ids, scores * q.boost if q.boost != 1.0 else scores

    # -- leaves ----------------------------------------------------------------------------
    def _score_leaf(self, q: query.Query, is_term: bool, deadline: float | None) -> Scored:
        if deadline is not None and time.monotonic() > deadline:
            raise OverBudget(str(q))
        if isinstance(q, query.Every):
            ids = np.flatnonzero(self.live)
            return ids, np.full(len(ids), float(q.boost))
        if is_term:
            return self._term(q.fieldname, q.text)
        if self._is_plain_phrase(q):
            return self._phrase(q, deadline)
        return _whoosh_scores(self.searcher, q, deadline)

    def _leaf(self, q: query.Query, deadline: float | None) -> Scored:
        # A term is cached unboosted: one word runs at several weights (per field, expanded).
        is_term = type(q) is query.Term and q.fieldname in self.searcher.schema
        key = (query.Term, q.fieldname, q.text) if is_term else (type(q), q)
        scored = remembered(self._leaves, key, lambda: self._score_leaf(q, is_term, deadline))
        if is_term and q.boost != 1.0:
            return scored[0], scored[1] * q.boost
        return scored

    def _term(self, fieldname: str, text: Any) -> Scored:
        """One term's BM25F scores: Whoosh's `bm25()` over arrays of weights and lengths (or,
        in a field that is not scorable, such as a status, the weights as Whoosh does), a
        segment at a time over its postings and its tables' length bytes (mapped, shared)."""
        field = self.searcher.schema[fieldname]
        try:
            btext = field.to_bytes(text)
        except ValueError:
            return _EMPTY
        if field.scorable:
            B = field_b(self.weighting, fieldname)
            K1 = self.weighting.K1
            idf = self.searcher.idf(fieldname, btext)
            avgfl = self.searcher.avg_field_length(fieldname) or 1
            # The length part of bm25()'s denominator for each of the 256 length bytes.
            norm = K1 * ((1 - B) + B * _LENGTH_OF_BYTE / avgfl)
        id_parts, score_parts = [], []
        for leaf, offset in self._leaf_readers:
            ids, weights = self.segments.postings(leaf, fieldname, btext)
            if not len(ids):
                continue
            keep = self.live[offset:offset + leaf.doc_count_all()][ids]
            ids, weights = ids[keep], weights[keep].astype(np.float64)
            if field.scorable:
                lengths = self.segments.tables(leaf).lengths(fieldname)[ids]
                weights = idf * ((weights * (K1 + 1)) / (weights + norm[lengths]))
            # Index-wide numbers as int32 (half the memory of every cached score's ids).
            id_parts.append(ids.astype(np.int32) + np.int32(offset))
            score_parts.append(weights)
        if not id_parts:
            return _EMPTY
        return np.concatenate(id_parts), np.concatenate(score_parts)

    def _is_plain_phrase(self, q: query.Query) -> bool:
        schema = self.searcher.schema
        return (type(q) is query.Phrase and q.slop == 1 and q.fieldname in schema
                and bool(schema[q.fieldname].format) and schema[q.fieldname].format.supports("positions"))

    def _phrase(self, q: query.Phrase, deadline: float | None) -> Scored:
        """Words at consecutive positions: the documents holding every word, kept where the
        words' positions line up, scored as Whoosh scores a phrase (the sum of its words'
        BM25F scores). Positions are decoded only for those documents, once per segment."""
        fieldname, words = q.fieldname, tuple(q.words)
        ids, scores = _intersection([self._leaf(query.Term(fieldname, word), deadline)
                                     for word in words])
        found = []
        for leaf, offset in self._leaf_readers:
            inside = ids[(ids >= offset) & (ids < offset + leaf.doc_count_all())] - offset
            if len(inside):
                # Cached per segment: its documents only lose candidates (deletions) later,
                # and the intersection above keeps the live ones.
                in_a_row = self.segments.phrase(
                    leaf, fieldname, words,
                    lambda leaf=leaf, inside=inside: _in_a_row(leaf, fieldname, words, inside, deadline, q))
                found.append(in_a_row.astype(np.int64) + offset)
        keep = _sorted_isin(ids, np.concatenate(found)) if found else np.zeros(len(ids), dtype=bool)
        ids, scores = ids[keep], scores[keep]
        return ids, scores * q.boost if q.boost != 1.0 else scores


def _whoosh_scores(searcher, q: query.Query, deadline: float | None) -> Scored:
    """Any other leaf (a sloppy phrase, a range, ...), scored by Whoosh's own matcher."""
    matcher = q.matcher(searcher, searcher.context())
    ids, scores = [], []
    while matcher.is_active():
        ids.append(matcher.id())
        scores.append(matcher.score())
        matcher.next()
        if deadline is not None and len(ids) % _DEADLINE_EVERY == 0 \
                and time.monotonic() > deadline:
            raise OverBudget(str(q))
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    return (np.asarray(ids, dtype=np.int64)[order],
            np.asarray(scores, dtype=np.float64)[order])


_POSITION_BITS = 33  # a (document, position) key: positions are below 2**32, shifted by k


def _in_a_row(leaf, fieldname: str, words: tuple, ids: np.ndarray, deadline: float | None,
              q: query.Query) -> np.ndarray:
    """Of the segment-local documents `ids` (each holding every word), those where `words`
    stand at consecutive positions: each word's (document, position - k) pairs, as one
    integer key each, intersected word by word."""
    field = leaf.schema[fieldname]
    starts: np.ndarray | None = None
    for k, word in enumerate(words):
        if not len(ids):
            break
        docs, positions = term_positions(leaf, fieldname, field.to_bytes(word), ids)
        # The phrase starts where word k stands k positions further on.
        # Ascending, as documents and each one's positions are: merged without sorting.
        keys = (docs.astype(np.int64) << _POSITION_BITS) + positions.astype(np.int64) - k + len(words)
        starts = keys if starts is None else starts[_sorted_isin(starts, keys)]
        docs = starts >> _POSITION_BITS
        ids = docs[np.concatenate(([True], docs[1:] != docs[:-1]))] if len(docs) else docs
        if deadline is not None and time.monotonic() > deadline:
            raise OverBudget(str(q))
    return ids


def _sorted_isin(values: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Which of `values` are in `within` (both ascending): a binary search each, no sort."""
    if not len(within):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(within, values), len(within) - 1)
    return within[at] == values


def _intersection(scored: list[Scored]) -> Scored:
    """AND: the documents every child matches, each scored with the sum of its scores. Every
    side's documents ascend, so the smaller side is looked up in the larger by binary search:
    `np.intersect1d` sorts both together, 90 ms a search for `covid` at 500k studies."""
    ids, scores = scored[0]
    for other_ids, other_scores in scored[1:]:
        if len(other_ids) < len(ids):
            ids, scores, other_ids, other_scores = other_ids, other_scores, ids, scores
        if not len(other_ids):
            return _EMPTY
        at = np.minimum(np.searchsorted(other_ids, ids), len(other_ids) - 1)
        found = other_ids[at] == ids
        ids, scores = ids[found], scores[found] + other_scores[at[found]]
    return ids, scores


def _union(scored: list[Scored], size: int) -> Scored:
    """OR: the union of the children's documents, each scored with the sum of its matches."""
    scored = [s for s in scored if len(s[0])]
    if not scored:
        return _EMPTY
    if len(scored) == 1:
        return scored[0]
    all_ids = np.concatenate([ids for ids, _ in scored])
    totals = np.bincount(all_ids, weights=np.concatenate([s for _, s in scored]), minlength=size)
    hits = np.bincount(all_ids, minlength=size)
    ids = np.flatnonzero(hits)
    return ids, totals[ids]


def top(ids: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[float, int]]:
    """The best `limit` (score, docnum) pairs in Whoosh's order: score descending, then
    document number ascending."""
    if len(ids) > limit:
        threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        above = np.flatnonzero(scores > threshold)
        # ids ascend, so the first documents tied at the threshold are the ones Whoosh keeps
        # (and browsing everything, all tied, sorts no more than a page).
        tied = np.flatnonzero(scores == threshold)[:limit - len(above)]
        candidates = np.concatenate([above, tied])
        ids, scores = ids[candidates], scores[candidates]
    order = np.lexsort((ids, -scores))[:limit]
    return [(float(scores[i]), int(ids[i])) for i in order]
