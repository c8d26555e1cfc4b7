"""The fixed query mix every engine runs, described once and translated per engine.

Each `QueryCase` says what is asked (words ANDed, a phrase, a field scope, a prefix, a fuzzy
word, a status filter, a page); the engines turn it into their own syntax, so Whoosh, SQLite
FTS5 and tantivy answer the same question. The words come from the real records, so the
generated corpora hold them with realistic frequencies.

`MIX` is what every engine runs (the comparisons with the peers and the `--quick` regression
check use it alone). `FILTER_CASES` add the app's location and eligibility filters (`near` with
a radius, `sort=distance`, `country`, `age`, `sex`, ...), which the peers have no counterpart
for: they are `app_only` and measured for trialsearch alone, beside the plain mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.catalog.fields import DEFAULT_FIELD_BOOSTS

PER_PAGE = 10
# Bare words search the app's fields with the app's weights, so every engine ranks alike.
DEFAULT_FIELDS = dict(DEFAULT_FIELD_BOOSTS)


@dataclass(frozen=True)
class QueryCase:
    """One query of the mix. At most one of words/phrase/prefix/fuzzy is set (none: every
    study, as an empty search box with filters)."""

    kind: str
    words: tuple[str, ...] = ()
    phrase: str = ""
    prefix: str = ""
    fuzzy: str = ""
    field: str = ""  # scope the words to one field instead of DEFAULT_FIELDS
    statuses: tuple[str, ...] = ()  # filter: status is one of these (API v2 enums)
    page: int = 1
    facet_counts: bool = True
    # The app's other filters as (name, value) pairs, in `SearchIndex.search(filters=...)`'s and
    # `/api/search`'s names (near, radius, country, age, sex, ...), and its sort. Peers have no
    # such filters: a case with either is `app_only`.
    filters: tuple[tuple[str, str], ...] = ()
    sort: str = "relevance"

    @property
    def app_only(self) -> bool:
        """Whether only trialsearch can answer this case (the peers skip it)."""
        return bool(self.filters) or self.sort != "relevance"

    def app_filters(self) -> dict[str, list[str]]:
        """The `filters` argument of `SearchIndex.search` (statuses included)."""
        out: dict[str, list[str]] = {"status": list(self.statuses)} if self.statuses else {}
        for name, value in self.filters:
            out.setdefault(name, []).append(value)
        return out

    def http_params(self, per_page: int = PER_PAGE) -> list[tuple[str, str | int]]:
        """The `/api/search` query parameters of this case."""
        params: list[tuple[str, str | int]] = [("q", self.app_text()), ("page", self.page),
                                               ("per_page", per_page)]
        params += [("status", s) for s in self.statuses]
        params += list(self.filters)
        if self.sort != "relevance":
            params.append(("sort", self.sort))
        return params

    def describe(self) -> str:
        """The case as a person reads it: `covid` status=RECRUITING near=42.36,-71.06 ..."""
        parts = [f"`{self.app_text()}`" if self.app_text() else "(no words)"]
        if self.statuses:
            parts.append("status=" + "/".join(self.statuses))
        parts += [f"{name}={value}" for name, value in self.filters]
        if self.sort != "relevance":
            parts.append(f"sort={self.sort}")
        if self.page > 1:
            parts.append(f"page {self.page}")
        return " ".join(parts)

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

BOSTON = "42.36,-71.06"
PARIS = "48.86,2.35"
LONDON = "51.51,-0.13"
# Location and eligibility filters (trialsearch only; see the module docstring). Kept out of MIX
# so the peer comparisons and the baseline's ratios keep their meaning.
FILTER_CASES = (
    QueryCase("near + eligibility", words=("covid",), statuses=("RECRUITING",),
              filters=(("near", BOSTON), ("radius", "100"), ("age", "70"), ("sex", "FEMALE"))),
    QueryCase("near, by distance", statuses=("RECRUITING",),
              filters=(("near", PARIS), ("radius", "50")), sort="distance"),
    QueryCase("near, by distance", words=("treatment",), filters=(("near", LONDON),),
              sort="distance"),
    QueryCase("age", words=("cancer",), filters=(("age", "8"),)),
    QueryCase("country + filter", words=("vaccine",), statuses=("RECRUITING", "NOT_YET_RECRUITING"),
              filters=(("country", "US"),)),
    QueryCase("eligibility flags", words=("patients",),
              filters=(("age_group", "OLDER_ADULT"), ("healthy_volunteers", "true"),
                       ("funder_type", "INDUSTRY"))),
)

FACET_LIMIT = 20  # values counted per facet, as the app (indexer/search.py FACET_LIMIT)
