"""The search core's front door: CLI, pages, API and widget all call `SearchIndex.search` and
render the `SearchResult` it returns.

A `SearchIndex` is the live handle on an index folder. It holds one `Snapshot` (a generation's
searcher and caches, see `indexer.search.snapshot`) and checks, cheaply on every call, whether a build
has switched generations (a stat of CURRENT) or an update has committed (Whoosh's TOC
generation); only then does it open a new snapshot and swap it in whole, so servers pick up
new indexes without a restart.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import query
from whoosh.qparser import QueryParser
from whoosh.searching import Results

from ..errors import QueryError
from ..index.analysis import analyze
from ..index.layout import CURRENT_FILE, require_generation
from ..model import Study, normalize_nct_id
from ..whoosh.generation import decode_study
from .dense import MIN_SIMILARITY
from .expansion import bare_compound, bare_word, expand_multiterms
from .expansion import expand_abbreviations as _expand_abbreviations
from .filters import Restriction, parse_filters
from .meaning import MeaningSearch, by_words, with_meaning
from .postings import SegmentCache
from .query import meaning_text, parse_query, split_nct_ids
from .ranking import Ranked, rank, rank_by_words_held
from .results import Hit, SearchResult, facet_dicts, page_of_hits
from .similar import similar_query
from .snapshot import Snapshot
from .vocabulary import VocabularyCorrector

MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page, as Elasticsearch's index.max_result_window
DEFAULT_TIME_BUDGET = 5.0  # seconds; a slower search returns what it found, marked timed_out
# Sort -> the Whoosh field it sorts by (None: by score, or by distance from `near`).
SORTS = {"relevance": None, "last_update": "last_update", "first_posted": "first_posted",
         "distance": None}
# When all the typed words together find fewer studies than this, studies holding most of
# them are shown too (after those holding all).
FEW_MATCHES = 3
# How a search matches: by the words typed (BM25F), by meaning (the studies whose vectors are
# nearest the query's), or both fused (reciprocal rank fusion). The default is hybrid where
# the index has vectors, else keyword.
MODES = ("keyword", "hybrid", "semantic")
# Each side's candidates a hybrid ranking fuses (more when a deeper page is asked for).
FUSION_DEPTH = 100
# Typed syntax that keeps a query strict: quotes, a field scope, an explicit AND.
_STRICT_SYNTAX = re.compile(r'[":]|\bAND\b')
log = logging.getLogger(__name__)

__all__ = ["Hit", "SearchIndex", "SearchResult", "open_index"]


def _check_paging(page: Any, per_page: Any, sort: str) -> None:
    if not isinstance(page, int) or page < 1:
        raise QueryError("page must be a whole number >= 1", param="page")
    if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}", param="per_page")
    if page * per_page > MAX_RESULT_WINDOW:
        raise QueryError(f"results beyond the first {MAX_RESULT_WINDOW} are not served; "
                         "narrow the query", param="page")
    if sort not in SORTS:
        raise QueryError(f"sort must be one of {', '.join(SORTS)}", param="sort")


def _restriction(filters: dict[str, Any], only: Collection[str] | None, sort: str) -> Restriction:
    """The filters' restriction, with `only` (NCT IDs) added as one more filter."""
    restriction = parse_filters(filters)
    if sort == "distance" and restriction.near is None:
        raise QueryError("sort=distance needs near=latitude,longitude", param="sort")
    if only is None:
        return restriction
    listed = query.Or([query.Term("nct_id", nct_id) for nct_id in sorted(only)])
    terms = listed if restriction.terms is None else query.And([restriction.terms, listed])
    return dataclasses.replace(restriction, terms=terms, key=(restriction.key, frozenset(only)))


def _by_distance(snapshot: Snapshot, ranked: Ranked, km: np.ndarray, limit: int) -> Ranked:
    """`ranked`'s matches nearest first (ties by document order); hits have no score."""
    ids = ranked.matched
    order = np.lexsort((ids, km[ids]))[:limit]
    results = Results(snapshot.searcher, ranked.results.q, [(None, int(d)) for d in ids[order]])
    return Ranked(results, ids, ranked.timed_out)


def _prepare(snapshot: Snapshot, query_text: str, fields: list[str] | None, operator: str,
             expand_abbreviations: bool) -> tuple[query.Query, tuple[str, ...], bool, tuple[str, ...]]:
    """The query to run, from the user's text: parsed, bounded, abbreviations, condition
    synonyms and wildcards expanded; the notices about what was capped; whether it may loosen
    (bare words only, ANDed by default: see FEW_MATCHES); and the expansions applied."""
    parsed = parse_query(query_text, snapshot.searcher.schema, fields=fields, operator=operator)
    q = parsed.query
    loosens = (type(q) is query.And and len(q.subqueries) > 1
               and all(bare_word(child) or bare_compound(child) for child in q.subqueries)
               and not _STRICT_SYNTAX.search(query_text))
    applied: list[str] = []
    if expand_abbreviations:
        q = _expand_abbreviations(q, snapshot.expansions, applied)
    q = expand_multiterms(q, snapshot.vocabulary, parsed.notices, snapshot.memo)
    return q, tuple(parsed.notices), loosens and type(q) is query.And, tuple(applied)


def _partial_notice(query_text: str, exact: int) -> str:
    words = ", ".join(word for word in query_text.split() if analyze(word))  # not stop words
    if exact == 0:
        return f"no study has all of {words}; showing the studies with most of them"
    have = "study has" if exact == 1 else "studies have"
    return f"only {exact} {have} all of {words}; studies with most of them follow"


def _suggest(snapshot: Snapshot, query_text: str) -> str | None:
    """"Did you mean": correct words that are not in the index vocabulary. NCT IDs are not
    words to correct, and `word~` already asked for the words near it."""
    _, query_text = split_nct_ids(query_text)
    if not query_text.strip() or "~" in query_text:
        return None
    searcher = snapshot.searcher
    try:
        vocab_query = QueryParser("vocab", searcher.schema).parse(query_text.lower())
        reader = searcher.reader()
        # Only bare words: a field scope's value (`phase:"phase 2"`) is no misspelling.
        unknown = [(token.fieldname, token.text) for token in vocab_query.all_tokens()
                   if token.fieldname == "vocab" and ("vocab", token.text) not in reader]
        correction = searcher.correct_query(
            vocab_query, query_text.lower(), terms=unknown, maxdist=2, prefix=1,
            correctors={"vocab": VocabularyCorrector(snapshot.vocabulary, "vocab")})
    except Exception:  # noqa: BLE001 - a suggestion is optional; never fail the search
        return None
    corrected = correction.string
    return corrected if corrected and corrected != query_text.lower() else None


class SearchIndex:
    """A live, self-refreshing handle on the index at `path` (see `open_index`)."""

    def __init__(self, path: str | os.PathLike, *, time_budget: float = DEFAULT_TIME_BUDGET):
        self.path = Path(path)
        self.time_budget = time_budget
        self._lock = threading.RLock()
        self._segments = SegmentCache()  # kept across generations: segments outlive them
        self._keep_warm = False  # set by warm(): warm each new generation too
        self._snapshot: Snapshot | None = None
        self._closed = False
        # Meaning search: the stored vectors are kept across generations, like the segments.
        self._meaning = MeaningSearch(self.path)
        self.snapshot()

    # -- generations ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The live generation's snapshot, opened anew if the index changed since the last
        call. Raises IndexNotFoundError when no index was built at `path`."""
        with self._lock:
            try:
                st = os.stat(self.path / CURRENT_FILE)
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            except (FileNotFoundError, NotADirectoryError):  # require_generation says so
                stamp = None
            old = self._snapshot
            if old is not None and old.is_current(stamp):
                return old
            folder = require_generation(self.path)
            self._snapshot = Snapshot.open(folder, stamp, self._segments)
            if old is not None:
                old.close()
                if self._keep_warm:
                    self._warm_in_background()
            return self._snapshot

    @property
    def generation(self) -> str:
        """The live generation's folder name."""
        return self.snapshot().generation

    @property
    def abbreviations(self) -> dict[str, list[str]]:
        """The abbreviation pairs the live generation expands (short -> long forms)."""
        return self.snapshot().abbreviations

    def synonyms(self) -> dict[str, list[dict[str, Any]]]:
        """Every pair the live generation expands, with where it came from (see
        `Snapshot.synonyms`)."""
        with self._lock:
            return self.snapshot().synonyms()

    def warm(self) -> None:
        """Read now what searches read on first use (`Snapshot.warm_steps`, then the study
        vectors and the query encoder; seconds on a registry-sized index). `trialsearch serve`
        runs this as each worker starts, so its
        first visitors do not wait for it. Once warmed, the index warms itself again, in a
        background thread, whenever a build or update changes it."""
        with self._lock:
            if self._closed:
                return
            self._keep_warm = True
            steps = len(self.snapshot().warm_steps())
        for step in range(steps):  # one at a time, so a search waits for one step at most
            with self._lock:
                if self._closed:
                    return
                steps_now = self.snapshot().warm_steps()
                if step < len(steps_now):
                    steps_now[step]()
        with self._lock:  # the vectors, their line-up with this generation and the encoder
            if not self._closed:
                self._meaning.view(self.snapshot())

    def _warm_in_background(self) -> None:
        def warm() -> None:
            try:
                self.warm()
            except Exception as error:  # noqa: BLE001 - an optimisation; searches read on demand
                log.warning("warming %s after a change failed: %s", self.path, error)

        threading.Thread(target=warm, name="trialsearch-rewarm", daemon=True).start()

    def searcher(self):
        """The current Whoosh searcher, reopened if the index changed since the last call."""
        return self.snapshot().searcher

    def close(self) -> None:
        """Release the open searcher."""
        with self._lock:
            self._closed = True
            if self._snapshot is not None:
                self._snapshot.close()
                self._snapshot = None
            self._meaning.close()

    # -- queries --------------------------------------------------------------------------
    def search(self, query_text: str = "", *, fields: list[str] | None = None,
               filters: dict[str, Any] | None = None, sort: str = "relevance", page: int = 1,
               per_page: int = 10, operator: str = "and", facets: bool = True,
               highlights: bool = True, expand_abbreviations: bool = True,
               only: Collection[str] | None = None, mode: str | None = None,
               meaning: str | None = None) -> SearchResult:
        """Run a query (see `indexer.search.query` for the language) and return one page of hits with
        highlights, total, facet counts and a spelling suggestion. Abbreviations mined from the
        corpus also match their long forms and back, and condition phrases their mined
        synonyms, ranked lower (`expand_abbreviations=False` turns both off); the result's
        `expansions` lists those the query used. `only` restricts the results
        to these NCT IDs (scores are unchanged: statistics stay index-wide).

        `mode` (see MODES; default: hybrid where the index has vectors, else keyword): keyword
        ranks the studies holding the words; semantic the studies whose meaning is near (at
        least MIN_SIMILARITY alike; plain words only); hybrid fuses the words' ranking with the
        FUSION_DEPTH nearest of those, so the total counts the studies found either way. A
        phrase, field scope, operator or NCT ID keeps hybrid to the words, and date sorts
        order the studies holding the words. Each hit says how it matched. `meaning`: the text
        the meaning side reads instead of the query's words (a patient's whole description,
        where the query is its key terms). Raises QueryError naming the bad parameter."""
        started = time.perf_counter()
        _check_paging(page, per_page, sort)
        if mode is not None and mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}", param="mode")
        restriction = _restriction(filters or {}, only, sort)
        if SORTS[sort] is not None:
            meaning = None
        elif meaning is None or not meaning.strip():
            meaning = meaning_text(query_text)
        if mode == "semantic" and SORTS[sort] is not None:
            raise QueryError("mode=semantic orders by meaning; to sort by date, use mode "
                             "keyword or hybrid", param="mode")
        if mode == "semantic" and meaning is None and query_text.strip():
            raise QueryError("mode=semantic reads plain words: drop the quotes, field scopes, "
                             "operators and NCT IDs, or use mode keyword or hybrid", param="mode")
        deadline = time.monotonic() + self.time_budget
        limit = page * per_page
        with self._lock:
            snap = self.snapshot()
            notices: list[str] = []
            used = "keyword"
            view = None
            if mode != "keyword" and meaning is not None:
                view, why_not = self._meaning.view(snap)
                if view is not None:
                    used = mode or "hybrid"
                elif mode is not None:
                    notices.append(f"meaning search is unavailable ({why_not}); "
                                   "showing the studies that hold the words")
            q, parse_notices, loosens, applied = snap.memo(
                ("query", query_text, tuple(fields or ()), operator, expand_abbreviations),
                lambda: _prepare(snap, query_text, fields, operator, expand_abbreviations))
            notices[:0] = parse_notices
            allowed, allowed_mask = (None, None) if restriction.empty else \
                snap.docsets.filter(restriction)
            depth = max(FUSION_DEPTH, limit) if used == "hybrid" else limit
            if used == "semantic":
                ranked = Ranked(Results(snap.searcher, q, []), np.zeros(0, dtype=np.int64), False)
            else:
                ranked = rank(snap, q, allowed, allowed_mask, limit=depth,
                              sortedby=SORTS[sort], deadline=deadline, time_budget=self.time_budget)
                if loosens and SORTS[sort] is None and len(ranked.matched) < FEW_MATCHES:
                    looser = rank_by_words_held(snap, list(q.subqueries), allowed_mask,
                                                limit=depth, deadline=deadline)
                    if looser is not None and len(looser.matched) > len(ranked.matched):
                        notices.append(_partial_notice(query_text, len(ranked.matched)))
                        ranked = looser
            matched_by = by_words
            if view is not None:
                near_ids, similarity = view.nearest(
                    self._meaning.query_vector(meaning), allowed_mask,
                    None if used == "semantic" else depth, MIN_SIMILARITY)
                ranked, matched_by = with_meaning(snap, ranked, near_ids, similarity, used, limit)
                if view.covered < snap.searcher.doc_count():
                    notices.append(f"meaning matches cover {view.covered:,} of "
                                   f"{snap.searcher.doc_count():,} studies so far; the rest "
                                   "are still being encoded")
            nearest = None
            if restriction.near is not None:
                sites = snap.docsets.site_match(restriction.sites)
                nearest = functools.partial(snap.docsets.sites.nearest_site, sites)
                if sort == "distance":
                    ranked = _by_distance(snap, ranked, snap.docsets.sites.nearest_km(sites), limit)
            hits = page_of_hits(ranked.results, page, per_page, highlights, nearest, matched_by)
            facet_counts = facet_dicts(snap.docsets.facet_counts(ranked.matched, restriction)) \
                if facets else {}
            suggestion = snap.memo(("suggest", query_text), lambda: _suggest(snap, query_text))
        if ranked.timed_out:
            notices.append(f"the search took longer than {self.time_budget:g} s; "
                           "results and counts are incomplete")
        return SearchResult(
            query=query_text, total=len(ranked.matched), page=page, per_page=per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2), hits=hits,
            facets=facet_counts, suggestion=suggestion, notices=notices,
            timed_out=ranked.timed_out, expansions=list(applied), mode=used,
        )

    def similar(self, nct_id: str, *, limit: int = 10) -> SearchResult | None:
        """Studies most like `nct_id` ("more like this"): its key terms in title, conditions,
        interventions and summary (Bo1 weighting) run as one weighted OR query, fused with the
        studies whose vectors are nearest its own when the index has vectors. None when the
        study is not in the index."""
        started = time.perf_counter()
        if not 1 <= limit <= MAX_PER_PAGE:
            raise QueryError(f"limit must be between 1 and {MAX_PER_PAGE}", param="limit")
        study = self.get(nct_id)
        if study is None:
            return None
        with self._lock:
            snap = self.snapshot()
            searcher = snap.searcher
            depth = max(FUSION_DEPTH, limit)
            results = searcher.search(similar_query(searcher, study), limit=depth,
                                      mask=query.Term("nct_id", study.nct_id))
            matched_by = by_words
            view, _ = self._meaning.view(snap)
            own = searcher.document_number(nct_id=study.nct_id)
            vector = view.vector_of(own) if view is not None and own is not None else None
            if vector is not None:
                others = snap.scorer.live.copy()
                others[own] = False
                near_ids, similarity = view.nearest(vector, others, depth, None)
                lexical = Ranked(results, np.array([d for _, d in results.top_n], dtype=np.int64),
                                 False)
                fused, matched_by = with_meaning(snap, lexical, near_ids, similarity, "hybrid",
                                                 limit)
                results = fused.results
            hits = page_of_hits(results, 1, limit, False, None, matched_by)
        return SearchResult(
            query=f"similar:{study.nct_id}", total=len(hits), page=1, per_page=limit,
            took_ms=round((time.perf_counter() - started) * 1000, 2), hits=hits, facets={},
            mode="hybrid" if vector is not None else "keyword",
        )

    # -- records --------------------------------------------------------------------------
    def get(self, nct_id: str) -> Study | None:
        """The full record for `nct_id`, or None when the index does not hold it."""
        canonical = normalize_nct_id(nct_id)
        if canonical is None:
            return None
        with self._lock:
            stored = self.searcher().document(nct_id=canonical)
        return decode_study(stored) if stored else None

    def stats(self) -> dict[str, Any]:
        """Document count, fields, build/update times and size on disk of the live index, and
        its vectors: how many studies have one, from which model, and why meaning search
        cannot run when it cannot (`meaning_unavailable`, else None)."""
        with self._lock:
            snap = self.snapshot()
            view, why = self._meaning.view(snap)
            vectors = {"studies": view.covered if view is not None else 0,
                       "model": self._meaning.model, "meaning_unavailable": why or None}
            return {"path": str(self.path), **snap.stats(), "vectors": vectors}

    def meaning_unavailable(self) -> str | None:
        """Why the hybrid and semantic modes cannot run on this index (no vectors yet, the
        'semantic' extra missing, vectors of another model), or None when they can."""
        with self._lock:
            return self._meaning.view(self.snapshot())[1] or None

    @property
    def vectors_loaded(self) -> int:
        """How many study vectors this handle holds in memory, which a search by meaning
        compares the query with (studies no longer indexed included)."""
        with self._lock:
            return self._meaning.vectors

    def forget_query_vectors(self) -> None:
        """Drop the remembered query vectors, so each query is encoded again (what a query no
        one asked before costs)."""
        with self._lock:
            self._meaning.forget_query_vectors()


def open_index(path: str | os.PathLike, **options) -> SearchIndex:
    """Open the index at `path` for searching. Raises IndexNotFoundError if none was built."""
    return SearchIndex(path, **options)
