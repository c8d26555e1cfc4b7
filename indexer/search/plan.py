"""Planning a search: what one request asks of one snapshot, decided before anything is ranked.

The plan holds the parsed and expanded query (remembered per generation), the filters as the
documents they allow, which sides run (words, meaning or both: a phrase, field scope, operator
or NCT ID keeps hybrid to the words, and date sorts order the studies holding the words), how
deep each side ranks, and the notices gathered on the way. `ranking.rank_words`, then
`meaning.fuse`, then `answer.answer` carry it out.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from whoosh import query

from ..index.analysis import analyze
from ..semantic.store import filling_progress
from .conditions import Condition
from .dense import DenseView
from .expansion import bare_compound, bare_word, expand_abbreviations, expand_multiterms
from .filters import Restriction, parse_filters
from .query import parse_query
from .request import SORTS, SearchRequest
from .snapshot import Snapshot

if TYPE_CHECKING:  # meaning.py imports the plan; the plan only calls what it is given
    from .meaning import MeaningSearch

# Each side's candidates a hybrid ranking fuses (more when a deeper page is asked for).
FUSION_DEPTH = 100
# When all the typed words together find fewer studies than this, studies holding most of
# them are shown too (after those holding all).
FEW_MATCHES = 3
# Typed syntax that keeps a query strict: quotes, a field scope, an explicit AND.
_STRICT_SYNTAX = re.compile(r'[":]|\bAND\b')


@dataclass
class Plan:
    """How one request runs over one snapshot."""

    request: SearchRequest
    query: query.Query  # the words side's query: parsed, bounded, expanded
    loosens: bool  # bare words ANDed: may fall back to the studies holding most of them
    expansions: tuple[tuple[str, str], ...]  # (typed, added): abbreviations and synonyms
    restriction: Restriction
    allowed: set[int] | None  # the documents the filters allow (None: all)
    allowed_mask: np.ndarray | None
    mode: str  # what runs: keyword, hybrid or semantic
    view: DenseView | None  # the study vectors, when the meaning side runs
    meaning: str | None  # the text the meaning side reads
    deadline: float  # time.monotonic() by which ranking must stop
    notices: list[str] = field(default_factory=list)
    words_only: str = ""  # why a search that could use meaning ranks by words alone
    conditions: tuple[Condition, ...] = ()  # the conditions the query names (meaning modes)

    @property
    def whole_condition(self) -> bool:
        """Whether the query is one condition's name and nothing more (a lone word too)."""
        text = self.request.meaning or self.request.q
        return len(self.conditions) == 1 and analyze(self.conditions[0].words) == analyze(text)

    @property
    def limit(self) -> int:
        """How many hits the requested page needs ranked."""
        return self.request.page * self.request.per_page

    @property
    def depth(self) -> int:
        """How deep the words side ranks: a hybrid search fuses FUSION_DEPTH of each side."""
        return max(FUSION_DEPTH, self.limit) if self.mode == "hybrid" else self.limit

    @property
    def sortedby(self) -> str | None:
        """The field a date sort orders by, or None (by score or distance)."""
        return SORTS[self.request.sort]


def plan_search(snap: Snapshot, request: SearchRequest, meaning: MeaningSearch,
                deadline: float) -> Plan:
    """The plan for `request` over `snap`. `meaning` gives the study vectors, or why meaning
    search cannot run; it is asked only when the request could use them. Raises QueryError
    naming a bad filter or query."""
    restriction = _restriction(request)
    text = request.meaning_text
    notices: list[str] = []
    mode, view, words_only = "keyword", None, ""
    if request.mode != "keyword" and text is not None:
        view, why_not = meaning.view(snap)
        if view is not None:
            mode = request.mode or "hybrid"
        elif request.mode is not None:
            notices.append(f"meaning search is unavailable ({why_not}); "
                           "showing the studies that hold the words")
        elif (filling := meaning.filling()) is not None:  # the default mode, vectors on their way
            words_only = f"study vectors are being computed ({filling_progress(filling)})"
    elif request.mode != "keyword" and request.q.strip():
        words_only = ("a date order ranks the studies holding the words" if request.by_date else
                      "quotes, field scopes, operators and NCT IDs ask for exact words")
    q, parse_notices, loosens, expansions = snap.memo(
        ("query", request.q, request.fields, request.operator, request.expand_abbreviations),
        lambda: _prepare(snap, request))
    allowed, allowed_mask = (None, None) if restriction.empty else snap.docsets.filter(restriction)
    conditions = named_conditions(snap, request) if view is not None else ()
    return Plan(request, q, loosens, expansions, restriction, allowed, allowed_mask, mode, view,
                _with_expansions(text, expansions), deadline, [*parse_notices, *notices], words_only,
                conditions)


def named_conditions(snap: Snapshot, request: SearchRequest) -> tuple[Condition, ...]:
    """The conditions the request's words name (its `meaning` text's, where it has one: a
    patient's description), but for one word a word before it qualifies ("hay fever" is not
    fever, "knee osteoarthritis" not every osteoarthritis): the records know no name for the
    pair, so the one word would put the wrong studies first."""
    text = request.meaning or request.q
    named = snap.memo(("conditions", text), lambda: tuple(snap.conditions.named_conditions(text)))
    words = [word.lower() for word in re.findall(r"[^\W_]+", text)]
    kept = []
    for condition in named:
        own = [word.lower() for word in re.findall(r"[^\W_]+", condition.words)]
        at = next((i for i in range(len(words)) if words[i:i + len(own)] == own), None)
        before = words[at - 1] if at else None
        if len(own) == 1 and before is not None and analyze(before):
            continue
        kept.append(condition)
    return tuple(kept)


def _with_expansions(text: str | None, expansions: tuple[tuple[str, str], ...]) -> str | None:
    """What the meaning side reads: the query's words and the long forms and condition names
    the words side expanded them to ("PRP osteoarthritis (platelet-rich plasma)"). The model
    cannot know that PRP is platelet-rich plasma; the index's mined pairs do."""
    added = list(dict.fromkeys(long_form for _, long_form in expansions
                               if " " in long_form and long_form.lower() not in (text or "").lower()))
    return f"{text} ({'; '.join(added)})" if text and added else text


def _restriction(request: SearchRequest) -> Restriction:
    """The filters' restriction, with `only` (NCT IDs) added as one more filter."""
    restriction = parse_filters(request.filters)
    if request.only is None:
        return restriction
    listed = query.Or([query.Term("nct_id", nct_id) for nct_id in sorted(request.only)])
    terms = listed if restriction.terms is None else query.And([restriction.terms, listed])
    return dataclasses.replace(restriction, terms=terms, key=(restriction.key, request.only))


def _prepare(snap: Snapshot, request: SearchRequest
             ) -> tuple[query.Query, tuple[str, ...], bool, tuple[tuple[str, str], ...]]:
    """The query to run, from the user's text: parsed, bounded, abbreviations, condition
    synonyms and wildcards expanded; the notices about what was capped; whether it may loosen
    (bare words only, ANDed by default: see FEW_MATCHES); and the expansions applied."""
    parsed = parse_query(request.q, snap.searcher.schema, fields=list(request.fields) or None,
                         operator=request.operator)
    q = parsed.query
    loosens = (type(q) is query.And and len(q.subqueries) > 1
               and all(bare_word(child) or bare_compound(child) for child in q.subqueries)
               and not _STRICT_SYNTAX.search(request.q))
    applied: list[tuple[str, str]] = []
    if request.expand_abbreviations:
        q = expand_abbreviations(q, snap.expansions, applied)
    q = expand_multiterms(q, snap.vocabulary, parsed.notices, snap.memo)
    return q, tuple(parsed.notices), loosens and type(q) is query.And, tuple(applied)


def partial_notice(query_text: str, exact: int) -> str:
    """What a loosened search says: how many studies hold every word, and that those
    holding most of them follow."""
    words = ", ".join(word for word in query_text.split() if analyze(word))  # not stop words
    if exact == 0:
        return f"no study has all of {words}; showing the studies with most of them"
    have = "study has" if exact == 1 else "studies have"
    return f"only {exact} {have} all of {words}; studies with most of them follow"
