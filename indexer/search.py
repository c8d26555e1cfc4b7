"""The search core: the one place that runs Whoosh queries. CLI, pages, API and widget all call
`SearchIndex.search` and render the `SearchResult` it returns.

A `SearchIndex` keeps one searcher open and checks, cheaply on every call, whether a build has
switched generations (a stat of CURRENT) or an update has committed (Whoosh's TOC generation);
only then does it reopen, so servers pick up new indexes without a restart.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection

import numpy as np
from whoosh import fields, highlight, index as whoosh_index, query
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.qparser import QueryParser
from whoosh.searching import Results

from .abbreviations import Abbreviations
from .analysis import stem
from .errors import IndexNotFoundError, QueryError
from .model import Study, normalize_nct_id
from .query import ExpansionMap, parse_query, split_nct_ids
from .query import expand_abbreviations as _expand_abbreviations
from .facets import DocSets
from .postings import SegmentCache
from .vectorized import OverBudget, VectorScorer, top
from .vocabulary import Vocabulary, VocabularyCorrector
from .registry_values import ENUM_FACETS, canonical_values
from .schema import DEFAULT_FIELD_BOOSTS, FACET_FIELDS, PROSE_FIELDS
from .store import CURRENT_FILE, generation_path, read_meta

MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page, as Elasticsearch's index.max_result_window
MAX_EXPANSIONS = 50  # terms a prefix/wildcard/fuzzy word may expand to (most frequent kept)
MAX_EXPANSION_SCAN = 20_000  # vocabulary entries examined per expanding word
# A fuzzy word's matches weigh less the more edits they are from what was typed, so exact and
# nearer words rank first: exact, one edit, two edits.
FUZZY_DISTANCE_WEIGHTS = (1.0, 0.5, 0.25)
MEMO_SIZE = 2048  # vocabulary expansions and spelling suggestions remembered per generation
DEFAULT_TIME_BUDGET = 5.0  # seconds; a slower search returns what it found, marked timed_out
TEXT_FIELDS = (fields.TEXT, fields.KEYWORD, fields.ID)  # fields whose words are strings
SORTS = {"relevance": None, "last_update": "last_update", "first_posted": "first_posted"}
# What makes two studies alike: shared conditions and title words more than summary words.
SIMILAR_FIELD_WEIGHTS = {"title": 2.0, "condition": 2.0, "intervention": 1.5, "summary": 1.0}

_TITLE_HIGHLIGHTER = highlight.Highlighter(
    fragmenter=highlight.WholeFragmenter(),
    formatter=highlight.HtmlFormatter(tagname="mark", between=" … "),
)
_SNIPPET_HIGHLIGHTER = highlight.Highlighter(
    fragmenter=highlight.ContextFragmenter(maxchars=240, surround=80),
    formatter=highlight.HtmlFormatter(tagname="mark", between=" … "),
)
SNIPPET_FALLBACK_CHARS = 240
log = logging.getLogger(__name__)


@dataclass
class Hit:
    """One result: what a results list shows, with HTML-safe highlights."""

    nct_id: str
    title: str
    score: float | None
    status: str
    sponsor: str
    phases: list[str]
    study_type: str
    conditions: list[str]
    first_posted: str | None
    last_update_posted: str | None
    highlights: dict[str, str]  # field -> HTML: escaped text with <mark> around matches


@dataclass
class SearchResult:
    """What every front end renders."""

    query: str
    total: int
    page: int
    per_page: int
    took_ms: float
    hits: list[Hit]
    facets: dict[str, list[dict[str, Any]]]  # name -> [{"value", "count"}]
    suggestion: str | None = None
    notices: list[str] = field(default_factory=list)
    timed_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API's `results` are the hits)."""
        data = asdict(self)
        data["results"] = data.pop("hits")
        return data


def _display_value(facet: str, value: Any) -> Any:
    # Enums are indexed lowercased for forgiving queries; show them as the registry does.
    return value.upper() if facet in ("status", "phase", "type") else value


def _facet_dicts(counts: dict[str, list[tuple[Any, int]]]) -> dict[str, list[dict[str, Any]]]:
    return {name: [{"value": _display_value(name, v), "count": c} for v, c in pairs]
            for name, pairs in counts.items()}


def _filter_key(filters: dict[str, Any]) -> tuple:
    # Filters as a hashable key for the per-reader filter cache; order does not matter.
    return tuple(sorted((facet, tuple(sorted(map(str, v if isinstance(v, (list, tuple)) else [v]))))
                        for facet, v in filters.items() if v not in (None, "", [])))


def _filter_terms(facet: str, values: list[str]) -> query.Query:
    fieldname = FACET_FIELDS[facet][0]
    if facet == "year":
        try:
            years = [int(v) for v in values]
        except ValueError:
            raise QueryError(f"year must be a number, got {values!r}", param="year") from None
        if not all(1 <= y <= 9999 for y in years):
            raise QueryError(f"year must be between 1 and 9999, got {values!r}", param="year")
        return query.Or([query.NumericRange("year", y, y) for y in years])
    if facet in ENUM_FACETS:  # `not yet recruiting`, `phase 2`, `II` name registry values
        values = [value.lower() for text in values for value in canonical_values(facet, text)]
    return query.Or([query.Term(fieldname, v) for v in dict.fromkeys(values)])


def _expand_bounded(q: query.Query, vocabulary: Vocabulary, notices: list[str],
                    memo=None) -> query.Query:
    """Replace each prefix/wildcard/fuzzy leaf by an OR of at most MAX_EXPANSIONS of its
    most frequent terms, so `a*` over a registry-sized vocabulary stays fast. `memo(key,
    compute)`, when given, remembers each leaf's expansion (a vocabulary scan)."""
    if isinstance(q, query.MultiTerm) and not isinstance(q, query.Term):
        compute = lambda: _expansion(q, vocabulary)  # noqa: E731
        expanded, leaf_notices = memo(("expand", type(q), q), compute) if memo else compute()
        notices.extend(n for n in leaf_notices if n not in notices)
        return expanded
    if q.is_leaf():
        return q
    return q.apply(lambda child: _expand_bounded(child, vocabulary, notices, memo))


def _fuzzy_matches(q: query.FuzzyTerm, vocabulary: Vocabulary) -> dict[str, int]:
    """The terms of `q`'s field a fuzzy word matches, each with its fewest edits. In prose
    fields the word as typed is compared with the records' unstemmed words (the `vocab`
    field), whose stems are then searched, and with the field's stems: `exosomes~2` finds "exosome" and "exosomal", not
    "economic" (whose stem `econom` is two edits from `exosom`)."""
    fieldname, typed = q.field(), getattr(q, "typed", None)
    if typed is None or fieldname not in PROSE_FIELDS or "vocab" not in vocabulary.reader.schema:
        return dict(vocabulary.distances(fieldname, q.text, q.maxdist, q.prefixlength))
    nearest = {q.text: 0}
    # The typed word against the records' words, and against the field's stems (so `exosme~`
    # finds `exosom` even where only "exosomes", two edits away, is written).
    surface = vocabulary.distances("vocab", typed, q.maxdist, q.prefixlength)
    stems = vocabulary.distances(fieldname, typed, q.maxdist, q.prefixlength)
    for term, distance in [(stem(word), distance) for word, distance in surface] + stems:
        nearest[term] = min(distance, nearest.get(term, distance))
    return {term: distance for term, distance in nearest.items()
            if vocabulary.reader.doc_frequency(fieldname, term)}


def _fuzzy_expansion(q: query.FuzzyTerm, vocabulary: Vocabulary) -> tuple[query.Query, list[str]]:
    """An OR of the terms a fuzzy word matches, weighted by their edits from it."""
    reader, fieldname, notices = vocabulary.reader, q.field(), []
    ranked = sorted((distance, -reader.doc_frequency(fieldname, term), term)
                    for term, distance in _fuzzy_matches(q, vocabulary).items())
    if len(ranked) > MAX_EXPANSIONS:
        typed = getattr(q, "typed", q.text)
        notices.append(f"'{typed}~' matches {len(ranked)} words; the {MAX_EXPANSIONS} nearest "
                       "were searched")
        ranked = ranked[:MAX_EXPANSIONS]
    terms = [query.Term(fieldname, term, boost=q.boost * FUZZY_DISTANCE_WEIGHTS[min(distance, 2)])
             for distance, _, term in ranked]
    return (query.Or(terms) if terms else query.NullQuery), notices


def _expansion(q: query.MultiTerm, vocabulary: Vocabulary) -> tuple[query.Query, list[str]]:
    if isinstance(q, query.FuzzyTerm):
        return _fuzzy_expansion(q, vocabulary)
    reader, fieldname, notices = vocabulary.reader, q.field(), []
    field_type = reader.schema[fieldname]
    if type(q) is query.Prefix and isinstance(field_type, TEXT_FIELDS):
        words = vocabulary.starting_with(fieldname, q.text)  # bisection, not a lexicon walk
    else:
        words = q._btexts(reader)  # noqa: SLF001 - Whoosh's expansion hook (bytes)
    expanded = []
    for i, word in enumerate(words):
        if i >= MAX_EXPANSION_SCAN:
            notices.append(f"'{q}' matches too many words; only part of the vocabulary was searched")
            break
        expanded.append((reader.doc_frequency(fieldname, word), word))
    if len(expanded) > MAX_EXPANSIONS:
        notices.append(f"'{q}' matches {len(expanded)} words; the {MAX_EXPANSIONS} most "
                       "frequent were searched")
        expanded = sorted(expanded, reverse=True)[:MAX_EXPANSIONS]
    terms = [query.Term(fieldname, field_type.from_bytes(t) if isinstance(t, bytes) else t,
                        boost=q.boost) for _, t in expanded]
    return (query.Or(terms) if terms else query.NullQuery), notices


class SearchIndex:
    """A live, self-refreshing handle on the index at `path` (see `open_index`)."""

    def __init__(self, path: str | os.PathLike, *, time_budget: float = DEFAULT_TIME_BUDGET):
        self.path = Path(path)
        self.time_budget = time_budget
        self._lock = threading.RLock()
        self._pointer_stamp: tuple | None = None
        self._searcher = None
        self._docsets: DocSets | None = None
        self._scorer: VectorScorer | None = None
        self._vocabulary: Vocabulary | None = None
        self._segments = SegmentCache()  # kept across generations: segments outlive them
        self._keep_warm = False  # set by warm(): warm each new generation too
        self._memo: OrderedDict[Any, Any] = OrderedDict()
        self.meta: dict = {}
        self.generation: str = ""
        self.abbreviations: dict[str, list[str]] = {}
        self._expansions = ExpansionMap()
        self._refresh()

    # -- generations ----------------------------------------------------------------------
    def _refresh(self) -> None:
        pointer = self.path / CURRENT_FILE
        try:
            st = os.stat(pointer)
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if (self._searcher is not None and stamp == self._pointer_stamp
                and self._searcher.up_to_date()):
            return
        generation = generation_path(self.path)
        if generation is None:
            raise IndexNotFoundError(
                f"no index at {self.path}; run `trialsearch build SOURCE --index {self.path}`"
            )
        # A fresh searcher, not Searcher.refresh(): reusing segment readers can miss
        # deletions committed by an update.
        searcher = whoosh_index.open_dir(str(generation)).searcher()
        old, self._searcher = self._searcher, searcher
        self._segments.keep_only(leaf for leaf, _ in searcher.reader().leaf_readers())
        self._scorer = VectorScorer(searcher, segments=self._segments)
        self._docsets = DocSets(searcher, self._scorer)
        self._vocabulary = Vocabulary(searcher.reader(), self._segments)
        self._memo = OrderedDict()
        self._pointer_stamp, self.generation = stamp, generation.name
        self._load_sidecars()
        if old is not None:
            old.close()
            if self._keep_warm:
                self._warm_in_background()

    def _load_sidecars(self) -> None:
        # Files a build or update writes beside the Whoosh index of a generation.
        generation = self.path / self.generation
        self.meta = read_meta(generation)
        self.abbreviations = Abbreviations.load(generation).effective()
        self._expansions = ExpansionMap.from_pairs(self.abbreviations)

    def _memoized(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, remembered under `key` until the index changes (LRU, MEMO_SIZE)."""
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        value = self._memo[key] = compute()
        if len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return value

    def warm(self) -> None:
        """Read now what searches read on first use: the facet columns, every scored field's
        lengths and the words of the spelling and default fields (seconds on a registry-sized
        index). `trialsearch serve` runs this as each worker starts, so its first visitors do
        not wait for it. Once warmed, the index warms itself again, in a background thread,
        whenever a build or update changes it."""
        with self._lock:
            if self._searcher is None:  # closed: nothing to warm
                return
            self._keep_warm = True
            self._refresh()
            schema = self._searcher.schema
        steps = [lambda: self._docsets.columns]
        steps += [lambda name=name: self._scorer.lengths(name) for name in schema.scorable_names()]
        # The words that "did you mean" and the default fields' fuzzy and prefix words read.
        steps += [lambda name=name: self._vocabulary.segment_words(name)
                  for name in ["vocab", *DEFAULT_FIELD_BOOSTS] if name in schema]
        for step in steps:  # one at a time, so a search waits for one step at most
            with self._lock:
                if self._searcher is None:  # closed meanwhile: nothing to warm
                    return
                self._refresh()
                step()

    def _warm_in_background(self) -> None:
        def warm() -> None:
            try:
                self.warm()
            except Exception as error:  # noqa: BLE001 - an optimisation; searches read on demand
                log.warning("warming %s after a change failed: %s", self.path, error)

        threading.Thread(target=warm, name="trialsearch-rewarm", daemon=True).start()

    def searcher(self):
        """The current Whoosh searcher, reopened if the index changed since the last call."""
        with self._lock:
            self._refresh()
            return self._searcher

    def close(self) -> None:
        """Release the open searcher."""
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    # -- queries --------------------------------------------------------------------------
    def search(self, query_text: str = "", *, fields: list[str] | None = None,
               filters: dict[str, Any] | None = None, sort: str = "relevance", page: int = 1,
               per_page: int = 10, operator: str = "and", facets: bool = True,
               highlights: bool = True, expand_abbreviations: bool = True,
               only: Collection[str] | None = None) -> SearchResult:
        """Run a query (see `indexer.query` for the language) and return one page of hits with
        highlights, total, facet counts and a spelling suggestion. Abbreviations mined from the
        corpus also match their long forms and back, ranked lower. `only` restricts the results
        to these NCT IDs (scores are unchanged: statistics stay index-wide). Raises QueryError
        naming the bad parameter."""
        started = time.perf_counter()
        if not isinstance(page, int) or page < 1:
            raise QueryError("page must be a whole number >= 1", param="page")
        if not isinstance(per_page, int) or not 1 <= per_page <= MAX_PER_PAGE:
            raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}", param="per_page")
        if page * per_page > MAX_RESULT_WINDOW:
            raise QueryError(f"results beyond the first {MAX_RESULT_WINDOW} are not served; "
                             "narrow the query", param="page")
        if sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}", param="sort")
        filter_query = self._filter_query(filters or {})
        filter_key = _filter_key(filters or {})
        if only is not None:
            listed = query.Or([query.Term("nct_id", nct_id) for nct_id in sorted(only)])
            filter_query = listed if filter_query is None else query.And([filter_query, listed])
            filter_key = (filter_key, frozenset(only))
        deadline = time.monotonic() + self.time_budget
        with self._lock:
            self._refresh()
            searcher, docsets, scorer = self._searcher, self._docsets, self._scorer
            q, notices = self._memoized(
                ("query", query_text, tuple(fields or ()), operator, expand_abbreviations),
                lambda: self._prepare(searcher, query_text, fields, operator, expand_abbreviations))
            notices = list(notices)
            allowed, allowed_mask = (None, None) if filter_query is None else \
                docsets.filter(filter_key, filter_query)
            if allowed is not None and not allowed:
                q = query.NullQuery  # Whoosh reads an empty filter set as no filter at all
            sortedby = SORTS[sort]
            if sortedby is None and scorer.supports(q):
                results, matched, timed_out = self._vectorized(searcher, scorer, q, allowed_mask,
                                                               page * per_page, deadline)
            else:
                results, matched, timed_out = self._collected(searcher, docsets, q, allowed,
                                                              allowed_mask, page * per_page,
                                                              sortedby, deadline)
            if timed_out:
                notices.append(f"the search took longer than {self.time_budget:g} s; "
                                      "results and counts are incomplete")
            total = len(matched)
            first = (page - 1) * per_page
            # Whoosh's highlighter asks the query for its terms again for every hit and field,
            # a walk over every leaf (thousands for an OR of fuzzy words); ask once per field.
            results.query_terms = functools.lru_cache(maxsize=None)(results.query_terms)
            hits = [self._hit(results, i, highlights)
                    for i in range(first, min(first + per_page, results.scored_length()))]
            facet_counts = _facet_dicts(docsets.columns.counts(matched)) if facets else {}
            suggestion = self._memoized(("suggest", query_text),
                                        lambda: self._suggest(searcher, query_text))
        return SearchResult(
            query=query_text, total=total, page=page, per_page=per_page,
            took_ms=round((time.perf_counter() - started) * 1000, 2), hits=hits,
            facets=facet_counts, suggestion=suggestion, notices=notices, timed_out=timed_out,
        )

    def _prepare(self, searcher, query_text: str, fields: list[str] | None, operator: str,
                 expand_abbreviations: bool) -> tuple[query.Query, tuple[str, ...]]:
        """The query to run, from the user's text: parsed, bounded, abbreviations and
        wildcards expanded; and the notices about what was capped."""
        parsed = parse_query(query_text, searcher.schema, fields=fields, operator=operator)
        q = parsed.query
        if expand_abbreviations:
            q = _expand_abbreviations(q, self._expansions)
        q = _expand_bounded(q, self._vocabulary, parsed.notices, self._memoized)
        return q, tuple(parsed.notices)

    @staticmethod
    def _vectorized(searcher, scorer: VectorScorer, q: query.Query, allowed_mask, limit: int,
                    deadline: float) -> tuple[Results, np.ndarray, bool]:
        """Score every match with numpy (see `indexer.vectorized`): the top `limit` hits, all
        matching document numbers, and whether the time budget ran out."""
        try:
            ids, scores = scorer.evaluate(q, deadline)
        except OverBudget:
            return Results(searcher, q, []), np.zeros(0, dtype=np.int64), True
        if allowed_mask is not None:
            keep = allowed_mask[ids]
            ids, scores = ids[keep], scores[keep]
        return Results(searcher, q, top(ids, scores, limit)), ids, False

    def _collected(self, searcher, docsets: DocSets, q: query.Query, allowed, allowed_mask,
                   limit: int, sortedby: str | None, deadline: float):
        """Whoosh's own collector, for sorts and query shapes `_vectorized` does not handle."""
        # Only the top `limit` are scored in full: with no grouping and no matched-term
        # tracking, Whoosh may skip blocks that cannot reach the top.
        collector = searcher.collector(limit=limit, sortedby=sortedby, reverse=bool(sortedby),
                                       filter=allowed)
        timed = TimeLimitCollector(collector, timelimit=self.time_budget,
                                   use_alarm=threading.current_thread() is threading.main_thread())
        timed_out = False
        try:
            searcher.search_with_collector(q, timed)
        except TimeLimit:
            timed_out = True
        # Total and facets come from one unscored pass over the matches.
        matched, cut = docsets.matching(q, allowed_mask, deadline)
        return timed.results(), matched, timed_out or cut

    @staticmethod
    def _filter_query(filters: dict[str, Any]) -> query.Query | None:
        clauses = []
        for facet, value in filters.items():
            if value in (None, "", []):
                continue
            if facet not in FACET_FIELDS:
                raise QueryError(f"unknown filter '{facet}'; filters: {', '.join(FACET_FIELDS)}",
                                 param=facet)
            values = value if isinstance(value, (list, tuple)) else [value]
            clauses.append(_filter_terms(facet, [str(v) for v in values]))
        return query.And(clauses) if clauses else None

    def _hit(self, results, rank: int, with_highlights: bool) -> Hit:
        hit = results[rank]
        study = json.loads(hit["record"])
        marks = {}
        if with_highlights:
            title = _TITLE_HIGHLIGHTER.highlight_hit(hit, "title", text=study["title"], top=1)
            summary = _SNIPPET_HIGHLIGHTER.highlight_hit(hit, "summary", text=study["brief_summary"], top=2)
            marks["title"] = title or html.escape(study["title"])
            marks["summary"] = summary or html.escape(_clip(study["brief_summary"]))
        return Hit(
            nct_id=study["nct_id"], title=study["title"],
            score=round(hit.score, 4) if hit.score is not None else None,
            status=study["status"], sponsor=study["sponsor"], phases=study["phases"],
            study_type=study["study_type"], conditions=study["conditions"],
            first_posted=study["first_posted"], last_update_posted=study["last_update_posted"],
            highlights=marks,
        )

    def _suggest(self, searcher, query_text: str) -> str | None:
        """"Did you mean": correct words that are not in the index vocabulary. NCT IDs are
        not words to correct, and `word~` already asked for the words near it."""
        _, query_text = split_nct_ids(query_text)
        if not query_text.strip() or "~" in query_text:
            return None
        try:
            vocab_query = QueryParser("vocab", searcher.schema).parse(query_text.lower())
            reader = searcher.reader()
            # Only bare words: a field scope's value (`phase:"phase 2"`) is no misspelling.
            unknown = [(token.fieldname, token.text) for token in vocab_query.all_tokens()
                       if token.fieldname == "vocab" and ("vocab", token.text) not in reader]
            correction = searcher.correct_query(
                vocab_query, query_text.lower(), terms=unknown, maxdist=2, prefix=1,
                correctors={"vocab": VocabularyCorrector(self._vocabulary, "vocab")})
        except Exception:  # noqa: BLE001 - a suggestion is optional; never fail the search
            return None
        corrected = correction.string
        return corrected if corrected and corrected != query_text.lower() else None

    def similar(self, nct_id: str, *, limit: int = 10) -> SearchResult | None:
        """Studies most like `nct_id` ("more like this"): its key terms in title, conditions,
        interventions and summary (Bo1 weighting) run as one weighted OR query. None when the
        study is not in the index."""
        started = time.perf_counter()
        if not 1 <= limit <= MAX_PER_PAGE:
            raise QueryError(f"limit must be between 1 and {MAX_PER_PAGE}", param="limit")
        study = self.get(nct_id)
        if study is None:
            return None
        texts = {
            "title": " ".join([study.brief_title, study.official_title]),
            "condition": " ; ".join(study.conditions),
            "intervention": " ; ".join(study.interventions),
            "summary": study.brief_summary,
        }
        with self._lock:
            searcher = self.searcher()
            terms = [
                query.Term(fieldname, word, boost=weight * SIMILAR_FIELD_WEIGHTS[fieldname])
                for fieldname, text in texts.items() if text.strip()
                for word, weight in searcher.key_terms_from_text(fieldname, text, numterms=8)
            ]
            results = searcher.search(query.Or(terms), limit=limit,
                                      mask=query.Term("nct_id", study.nct_id))
            hits = [self._hit(results, i, False) for i in range(results.scored_length())]
        return SearchResult(
            query=f"similar:{study.nct_id}", total=len(hits), page=1, per_page=limit,
            took_ms=round((time.perf_counter() - started) * 1000, 2), hits=hits, facets={},
        )

    # -- records --------------------------------------------------------------------------
    def get(self, nct_id: str) -> Study | None:
        """The full record for `nct_id`, or None when the index does not hold it."""
        canonical = normalize_nct_id(nct_id)
        if canonical is None:
            return None
        with self._lock:
            self._refresh()
            stored = self._searcher.document(nct_id=canonical)
        return Study.from_dict(json.loads(stored["record"])) if stored else None

    def stats(self) -> dict[str, Any]:
        """Document count, fields, build/update times and size on disk of the live index."""
        with self._lock:
            self._refresh()
            generation = self.path / self.generation
            size = sum(f.stat().st_size for f in generation.iterdir() if f.is_file())
            return {
                "path": str(self.path),
                "generation": self.generation,
                "documents": self._searcher.doc_count(),
                "fields": sorted(self._searcher.schema.names()),
                "built_at": self.meta.get("built_at"),
                "updated_at": self.meta.get("updated_at"),
                "size_bytes": size,
            }


def _clip(text: str, limit: int = SNIPPET_FALLBACK_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def open_index(path: str | os.PathLike, **options) -> SearchIndex:
    """Open the index at `path` for searching. Raises IndexNotFoundError if none was built."""
    return SearchIndex(path, **options)
