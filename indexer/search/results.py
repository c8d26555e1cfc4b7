"""What a search returns: hits with HTML-safe highlights, the page of results, facet counts
as every front end (CLI, page, API, widget) renders them."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..catalog.facets import FACETS_BY_NAME
from ..whoosh.generation import stored_record
from .highlights import SNIPPET, TITLE, PageHighlighter

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
    # With `near`: the study's nearest matching site and its distance (facility, city,
    # state, country, status, distance_km; geocoded when placed by its city's name).
    nearest_site: dict[str, Any] | None = None
    # How the study matched: "words" (it holds the query's words), "meaning" (its vector is
    # near the query's), or "both".
    matched_by: str = "words"
    # Who can join and where, as a results list shows it: the age limits as written ("18
    # Years"; "" for none), the sex it enrols (ALL, FEMALE, MALE; "" when not given), how
    # many sites it lists and their countries as the registry names them.
    minimum_age: str = ""
    maximum_age: str = ""
    sex: str = ""
    sites: int = 0
    countries: list[str] = field(default_factory=list)


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
    # What the query also searched: "MSC → mesenchymal stem cells", "breast cancer → breast
    # neoplasms" (abbreviations and condition synonyms the typed words were expanded with).
    expansions: list[str] = field(default_factory=list)
    mode: str = "keyword"  # how it was ranked: keyword, hybrid or semantic (see live.MODES)
    mode_note: str = ""  # why a search that could use meaning was matched by words only
    # Filters the query's words name, each with the request applying it (see suggestions.py).
    suggested_filters: list[dict[str, str]] = field(default_factory=list)
    unknown_nct_ids: list[str] = field(default_factory=list)  # typed, but not in the index
    # With `near`: where distances are measured from, as `NearKind.shown` gives it (the text
    # as typed, the place it names by label, name, admin1, country and population, lat, lon).
    place: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the API's `results` are the hits)."""
        data = asdict(self)
        data["results"] = data.pop("hits")
        return data


def facet_dicts(counts: dict[str, list[tuple[Any, int]]]) -> dict[str, list[dict[str, Any]]]:
    """Facet counts as `{name: [{"value", "count", "label"}]}`: values spelled as the registry
    does (statuses in capitals, countries as ISO codes), labels as a page shows them
    (`Recruiting`, `Germany`, `Yes`)."""
    return {name: [{"value": FACETS_BY_NAME[name].kind.shown(value), "count": count,
                    "label": FACETS_BY_NAME[name].kind.label(value)} for value, count in pairs]
            for name, pairs in counts.items()}


def page_of_hits(results, page: int, per_page: int, highlights: bool,
                 nearest: Callable[[int], tuple[int, float] | None] | None = None,
                 matched_by: Callable[[int], str] | None = None) -> list[Hit]:
    """Page `page` of Whoosh `results` (ranked at least that deep) as hits; `nearest` gives
    a document's nearest site (its place in the record's sites, km) when a search has `near`,
    `matched_by` how a document matched (default: by its words)."""
    # Whoosh asks the query for its terms again for every hit and field, a walk over every
    # leaf (thousands for an OR of fuzzy words); ask once per field.
    results.query_terms = functools.lru_cache(maxsize=None)(results.query_terms)
    first = (page - 1) * per_page
    ranks = range(first, min(first + per_page, results.scored_length()))
    highlighter = PageHighlighter(results, map(results.docnum, ranks)) if highlights else None
    hits = [make_hit(results, i, highlighter, nearest) for i in ranks]
    if matched_by is not None:
        for i, hit in enumerate(hits, start=first):
            hit.matched_by = matched_by(results.docnum(i))
    return hits


def _nearest_site(study: dict[str, Any], found: tuple[int, float] | None) -> dict[str, Any] | None:
    if found is None:
        return None
    index, km = found
    site = study.get("sites", [])[index]
    return {**{name: site.get(name, "") for name in ("facility", "city", "state", "country", "status")},
            "distance_km": round(km, 1), "geocoded": bool(site.get("geocoded"))}


def make_hit(results, rank: int, highlighter: PageHighlighter | None,
             nearest: Callable[[int], tuple[int, float] | None] | None = None) -> Hit:
    """The `rank`-th hit of Whoosh `results`, with title and summary highlights when given a
    highlighter of its page and its nearest site when `nearest` is given."""
    hit = results[rank]
    study = stored_record(hit)
    sites = study.get("sites", ())  # records stored before sites existed have none
    marks = {}
    if highlighter is not None:
        # A study with neither title is shown by its NCT ID, which the title field lacks.
        title = highlighter.html(hit, "title", study["title"], TITLE,
                                 indexed=study["title"] != study["nct_id"])
        summary = highlighter.html(hit, "summary", study["brief_summary"], SNIPPET)
        marks["title"] = title or html.escape(study["title"])
        marks["summary"] = summary or html.escape(_clip(study["brief_summary"]))
    return Hit(
        nct_id=study["nct_id"], title=study["title"],
        score=round(hit.score, 4) if hit.score is not None else None,
        status=study["status"], sponsor=study["sponsor"], phases=study["phases"],
        study_type=study["study_type"], conditions=study["conditions"],
        first_posted=study["first_posted"], last_update_posted=study["last_update_posted"],
        highlights=marks,
        nearest_site=_nearest_site(study, nearest(hit.docnum)) if nearest else None,
        minimum_age=study.get("minimum_age", ""), maximum_age=study.get("maximum_age", ""),
        sex=study.get("sex", ""), sites=len(sites),
        countries=list(dict.fromkeys(site["country"] for site in sites if site.get("country"))),
    )


def _clip(text: str, limit: int = SNIPPET_FALLBACK_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"
