"""What a search returns: hits with HTML-safe highlights, the page of results, facet counts
as every front end (CLI, page, API, widget) renders them."""

from __future__ import annotations

import functools
import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from whoosh import highlight

from ..index.schema import FACETS_BY_NAME

_TITLE_HIGHLIGHTER = highlight.Highlighter(
    fragmenter=highlight.WholeFragmenter(),
    formatter=highlight.HtmlFormatter(tagname="mark", between=" … "),
)
_SNIPPET_HIGHLIGHTER = highlight.Highlighter(
    fragmenter=highlight.ContextFragmenter(maxchars=240, surround=80),
    formatter=highlight.HtmlFormatter(tagname="mark", between=" … "),
)
SNIPPET_FALLBACK_CHARS = 240


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
    return value.upper() if FACETS_BY_NAME[facet].kind == "enum" else value


def facet_dicts(counts: dict[str, list[tuple[Any, int]]]) -> dict[str, list[dict[str, Any]]]:
    """Facet counts as `{name: [{"value", "count"}]}`, values spelled as the registry does."""
    return {name: [{"value": _display_value(name, v), "count": c} for v, c in pairs]
            for name, pairs in counts.items()}


def page_of_hits(results, page: int, per_page: int, highlights: bool) -> list[Hit]:
    """Page `page` of Whoosh `results` (ranked at least that deep) as hits."""
    # Whoosh's highlighter asks the query for its terms again for every hit and field,
    # a walk over every leaf (thousands for an OR of fuzzy words); ask once per field.
    results.query_terms = functools.lru_cache(maxsize=None)(results.query_terms)
    first = (page - 1) * per_page
    return [make_hit(results, i, highlights)
            for i in range(first, min(first + per_page, results.scored_length()))]


def make_hit(results, rank: int, with_highlights: bool) -> Hit:
    """The `rank`-th hit of Whoosh `results`, with title and summary highlights when asked."""
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


def _clip(text: str, limit: int = SNIPPET_FALLBACK_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
