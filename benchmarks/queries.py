"""The fixed query mix every engine runs, described once and translated per engine.

Each `QueryCase` says what is asked (words ANDed, a phrase, a field scope, a prefix, a fuzzy
word, a status filter, a page); the engines turn it into their own syntax, so Whoosh, SQLite
FTS5 and tantivy answer the same question. The words come from the real records, so the
generated corpora hold them with realistic frequencies.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.index.schema import DEFAULT_FIELD_BOOSTS

PER_PAGE = 10
# Bare words search the app's fields with the app's weights, so every engine ranks alike.
DEFAULT_FIELDS = dict(DEFAULT_FIELD_BOOSTS)


@dataclass(frozen=True)
class QueryCase:
    """One query of the mix. Exactly one of words/phrase/prefix/fuzzy is set."""

    kind: str
    words: tuple[str, ...] = ()
    phrase: str = ""
    prefix: str = ""
    fuzzy: str = ""
    field: str = ""  # scope the words to one field instead of DEFAULT_FIELDS
    statuses: tuple[str, ...] = ()  # filter: status is one of these (API v2 enums)
    page: int = 1
    facet_counts: bool = True

    def app_text(self) -> str:
        """The query in trialsearch's language (what a user types)."""
        if self.phrase:
            return f'"{self.phrase}"'
        if self.prefix:
            return f"{self.prefix}*"
        if self.fuzzy:
            return f"{self.fuzzy}~"
        scope = f"{self.field}:" if self.field else ""
        return " ".join(scope + w for w in self.words)


MIX = (
    QueryCase("common term", words=("covid",)),
    QueryCase("common term", words=("treatment",)),
    QueryCase("rare term", words=("fluoxetine",)),
    QueryCase("rare term", words=("dutasteride",)),
    QueryCase("two terms", words=("lung", "injury")),
    QueryCase("two terms", words=("breast", "cancer")),
    QueryCase("phrase", phrase="stem cells"),
    QueryCase("phrase", phrase="intensive care unit"),
    QueryCase("field-scoped", words=("vaccine",), field="title"),
    QueryCase("field-scoped", words=("pneumonia",), field="condition"),
    QueryCase("prefix", prefix="immun"),
    QueryCase("prefix", prefix="cardi"),
    QueryCase("fuzzy", fuzzy="vacine"),
    QueryCase("fuzzy", fuzzy="diabetis"),
    QueryCase("faceted + filter", words=("covid",), statuses=("RECRUITING", "NOT_YET_RECRUITING")),
    QueryCase("faceted + filter", words=("pneumonia",), statuses=("COMPLETED",)),
    QueryCase("deep page", words=("patients",), page=100),
    QueryCase("deep page", words=("study",), page=50),
)

FACET_LIMIT = 20  # values counted per facet, as the app (indexer/search.py FACET_LIMIT)
