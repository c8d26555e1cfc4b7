"""Filter words in a query, offered as filters: `breast cancer recruiting` searches the word
"recruiting" as typed, and suggests the filter status=RECRUITING with the word taken out of
the query. Which phrases name which values is the catalog's (each facet's kind and its
spoken forms); this module finds them in a query and says what applying one means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from ..catalog.facets import FACETS
from .request import SearchRequest

MAX_PHRASE_WORDS = 4  # "not yet recruiting", "united states of america"
MAX_SUGGESTIONS = 4
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


@dataclass(frozen=True)
class SuggestedFilter:
    """A filter named by words of the query: `name=value`, its label ("Status:
    Recruiting"), the words that name it, and `query`: the query-string of the request that
    applies it with those words taken out."""

    name: str
    value: str
    label: str
    words: str
    query: str


def suggest_filters(request: SearchRequest) -> list[SuggestedFilter]:
    """The filters the words of `request.q` name (longest phrases first, each word used once),
    leaving out filters the request already applies. Only queries of plain words are read:
    a phrase, field scope or operator says the words are meant as typed."""
    if request.meaning_text is None or request.meaning is not None or request.fields:
        return []
    words = [(match.group(), match.span()) for match in _WORD.finditer(request.q)]
    used: set[int] = set()
    found: list[SuggestedFilter] = []
    for size in range(min(MAX_PHRASE_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            span = range(start, start + size)
            if used.intersection(span):
                continue
            phrase = " ".join(word.lower() for word, _ in words[start:start + size])
            named = _named(phrase, request)
            if named is None:
                continue
            used.update(span)
            facet, value = named
            first, last = words[start][1][0], words[start + size - 1][1][1]
            rest = " ".join((request.q[:first] + " " + request.q[last:]).split())
            applied = [*request.filters.get(facet.name, ()), value]
            query = request.query_pairs(q=rest, page=None, **{facet.name: applied})
            found.append(SuggestedFilter(facet.name, value, f"{facet.label}: {facet.kind.label(value)}",
                                         request.q[first:last], urlencode(query)))
    order = {facet.name: i for i, facet in enumerate(FACETS)}
    return sorted(found, key=lambda s: order[s.name])[:MAX_SUGGESTIONS]


def _named(phrase: str, request: SearchRequest):
    """The (facet, value) `phrase` names that the request does not apply yet, or None."""
    for facet in FACETS:
        value = facet.kind.named_by(facet, phrase)
        if value is not None and value not in request.filters.get(facet.name, ()):
            return facet, value
    return None
