"""Links from one search to the next (pagination, sorts, facet toggles, filter chips) and what
the page shows of a request and its result. Templates call these as globals with the page's
`SearchRequest`."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, url_for

from indexer.catalog.facets import FACETS_BY_NAME
from indexer.search import SORTS, SearchRequest
from indexer.search.reasons import age_range

from .params import SORT_CHOICES


def query_url(pairs: list[tuple[str, str]]) -> str:
    """A link to the search page for these query-string pairs."""
    base = url_for("pages.search")
    return f"{base}?{urlencode(pairs)}" if pairs else base


def search_url(request: SearchRequest, **changes) -> str:
    """A link to `request` with `changes` (see `SearchRequest.query_pairs`)."""
    return query_url(request.query_pairs(**changes))


def toggle_url(request: SearchRequest, facet: str, value: str) -> str:
    """A link to `request` with `facet=value` switched on or off (back to page 1)."""
    current = list(request.filters.get(facet, ()))
    values = [v for v in current if v != value] if value in current else [*current, value]
    return search_url(request, **{facet: values, "page": None})


def unfiltered_url(request: SearchRequest) -> str:
    """A link to `request` without any filter (back to page 1)."""
    sort = None if request.sort == "distance" else request.sort
    return search_url(request, **dict.fromkeys(request.filters), sort=sort, page=None)


def sort_choices(request: SearchRequest) -> list[tuple[str, str]]:
    """The orders `request` can be sorted in (distance only from a `near` point; no date
    order for meaning alone, which ranks by meaning)."""
    return [(value, text) for value, text in SORT_CHOICES
            if (value != "distance" or "near" in request.filters)
            and (SORTS[value] is None or request.mode != "semantic")]


def mode_choice(request: SearchRequest) -> str:
    """The value the page's Match selector shows (mode=hybrid: the default's)."""
    return "" if request.mode in (None, "hybrid") else request.mode


def form_value(request: SearchRequest, name: str) -> str:
    """The value a form field for filter `name` shows ('' when not given)."""
    return (request.filters.get(name) or ("",))[0]


def active_filters(request: SearchRequest, result=None) -> list[dict[str, str]]:
    """Each filter value `request` applies, as a chip: its label ("Status: Recruiting", "Near:
    Boston, Massachusetts, US", "Within 50 km") and a link to the search without it."""
    place = getattr(result, "place", None) or {}
    chips = []
    for name, values in request.filters.items():
        facet = FACETS_BY_NAME[name]
        for value in values:
            shown = value if facet.kind.role != "terms" else facet.kind.label(value)
            if name == "near":
                shown = place.get("label") or value
            label = f"Within {value} km" if name == "radius" else f"{facet.label}: {shown}"
            remaining = [v for v in values if v != value]
            dropped = {"sort": None} if name == "near" and request.sort == "distance" else {}
            if name == "near":  # the distance means nothing without the place
                dropped["radius"] = None
            chips.append({"label": label, "remove": search_url(request, **{name: remaining, "page": None},
                                                                **dropped)})
    return chips


def facet_items(request: SearchRequest, result, name: str) -> list[dict]:
    """A facet's values as the page lists them: the counted ones, and the chosen ones the
    search found none of (so each chosen box can be unticked), each marked `active`."""
    chosen = list(request.filters.get(name, ()))
    items = [{**item, "active": str(item["value"]) in chosen} for item in result.facets.get(name, [])]
    listed = {str(item["value"]) for item in items}
    facet = FACETS_BY_NAME[name]
    return items + [{"value": value, "count": 0, "label": facet.kind.label(value), "active": True}
                    for value in chosen if value not in listed]


def study_url(nct_id: str, result) -> str:
    """A hit's study page; with the point the search measured distances from, so the page
    lists the study's sites nearest first."""
    place = getattr(result, "place", None)
    if place:
        return url_for("pages.study", nct_id=nct_id, near=f"{place['lat']:.4f},{place['lon']:.4f}")
    return url_for("pages.study", nct_id=nct_id)


def init_app(app: Flask) -> None:
    """Make the helpers, and the facets by name, template globals."""
    for helper in (query_url, search_url, toggle_url, unfiltered_url, sort_choices, mode_choice,
                   form_value, active_filters, facet_items, study_url, age_range):
        app.add_template_global(helper)
    app.add_template_global(FACETS_BY_NAME, "facets_by_name")
