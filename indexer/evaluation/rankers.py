"""The rankers of trialsearch's own search: BM25F through `SearchIndex.search` with and without
abbreviations (the key terms OR-ed, as the BM25F rows run them), the live search in each of
its modes (keyword, hybrid, semantic), on typed queries or on the key terms with the
description for the meaning side, and patient mode (`SearchIndex.match`) on the description
itself, with and without its age and sex filters. Every ranker is a `Ranker`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import QueryError, TrialsearchError
from ..search import (
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    MODES,
    MatchRequest,
    SearchIndex,
    SearchRequest,
    SearchResult,
)
from ..search.keyterms import KeyQuery

FULL_DEPTH = 100  # results kept per topic in full-corpus mode (enough for recall@100)

# A ranker takes a topic's query and, in pool mode, the NCT IDs judged for it, and returns NCT
# IDs best first: in pool mode only judged ones (all it can find), else the top FULL_DEPTH.
Ranker = Callable[[KeyQuery, "set[str] | None"], list[str]]


def ranked_ids(index: SearchIndex, q: str, judged: set[str] | None, **options) -> list[str]:
    """The NCT IDs the search `q` (with the SearchRequest `options`) ranks, best first: in
    pool mode (`judged` given) every judged trial it finds, the search itself keeping only
    those, so a few pages hold them all; else the first FULL_DEPTH of the whole index."""
    request = SearchRequest(q=q, per_page=MAX_PER_PAGE, facets=False, highlights=False,
                            only=judged, **options)
    return _paged(lambda page: index.search(request.replace(page=page)), judged)


def _paged(search: Callable[[int], SearchResult], judged: set[str] | None) -> list[str]:
    """The NCT IDs of the pages `search(page)` gives, best first, as `ranked_ids` keeps them."""
    ranked: list[str] = []
    for page in range(1, MAX_RESULT_WINDOW // MAX_PER_PAGE + 1):
        result = search(page)
        ranked += [hit.nct_id for hit in result.hits]
        if judged is None or page * MAX_PER_PAGE >= result.total:
            break
    return ranked[:FULL_DEPTH] if judged is None else ranked


def bm25f_ranker(index: SearchIndex, *, expand_abbreviations: bool) -> Ranker:
    """Rank with `SearchIndex.search` (what users get), the key terms OR-ed."""

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        return ranked_ids(index, key_query.text(), judged, operator="or", mode="keyword",
                          expand_abbreviations=expand_abbreviations)

    return rank


def live_ranker(index: SearchIndex, mode: str = "keyword", *, operator: str = "and"
                ) -> Callable[..., list[str]]:
    """Rank a typed query exactly as the search box does in `mode` (see MODES):
    `SearchIndex.search` with its defaults (AND, abbreviations, loosening when few studies
    match), 100 per page. The ranker takes the query, the judged NCT IDs in pool mode (else
    None) and optionally `meaning`, the text the meaning side reads instead of the query. A
    query the language rejects finds nothing, as it would for the user."""

    def rank(text: str, judged: set[str] | None, meaning: str | None = None) -> list[str]:
        try:
            return ranked_ids(index, text, judged, operator=operator, mode=mode, meaning=meaning)
        except QueryError:
            return []

    return rank


def live_modes(index: SearchIndex) -> tuple[list[str], str]:
    """The live search modes `index` can run (MODES' order), and why the meaning modes (hybrid,
    semantic) cannot run when they cannot ("" when they can)."""
    why = index.meaning_unavailable()
    return (["keyword"], why) if why else (list(MODES), "")


def check_modes(index: SearchIndex, modes: Sequence[str] | None) -> tuple[list[str], str]:
    """The live modes to score: `modes` (all the index supports when None), checked; and why
    the meaning modes are left out, when they are. Raises TrialsearchError for an unknown mode,
    or one the index cannot run."""
    unknown = [mode for mode in modes or () if mode not in MODES]
    if unknown:
        raise TrialsearchError(f"unknown search mode {unknown[0]!r}: the modes are "
                               + ", ".join(MODES))
    supported, why = live_modes(index)
    if modes is None:
        return supported, why
    missing = [mode for mode in modes if mode not in supported]
    if missing:
        raise TrialsearchError(f"the live {' and '.join(missing)} "
                               f"mode{'s' if len(missing) > 1 else ''} cannot run on this "
                               f"index: meaning search is unavailable ({why}); give --modes "
                               "keyword, or leave --modes out to score what the index supports")
    return [mode for mode in MODES if mode in modes], ""


def live_key_terms_ranker(index: SearchIndex, mode: str) -> Ranker:
    """A long query through the live search in `mode`: the weighted key terms (`word^1.87`,
    the query the BM25F rows run), OR-ed, and the whole description as the text the meaning
    side reads, so the live hybrid and the eval-only one differ only in their vector side.
    Key terms are letters or digits only (compound parts, lower-cased), so they never read as
    query syntax."""
    live = live_ranker(index, mode, operator="or")

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        return live(key_query.text(), judged, meaning=key_query.topic or None)

    return rank


def patient_ranker(index: SearchIndex, *, eligibility: bool, key_terms: int) -> Ranker:
    """A long query through patient mode, as a clinician pastes it: `SearchIndex.match` on the
    whole description (its `key_terms` heaviest words and the conditions it names on the words
    side, the description on the meaning side), filtered by the age and sex it gives when
    `eligibility` is True."""

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        try:
            request = MatchRequest(description=key_query.topic, per_page=MAX_PER_PAGE,
                                   highlights=False, reasons=False, age_filter=eligibility,
                                   sex_filter=eligibility, key_terms=key_terms, only=judged)
        except QueryError:  # an empty description finds nothing, as it would for the user
            return []
        return _paged(lambda page: index.match(request.replace(page=page)).search, judged)

    return rank
