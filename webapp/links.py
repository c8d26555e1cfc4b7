"""Links from one search to the next: pagination, sorts, facet toggles, the page's form
fields. Templates call these as globals with the page's `SearchRequest`."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, url_for

from indexer.catalog.facets import FACETS_BY_NAME
from indexer.search import SORTS, SearchRequest

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


def init_app(app: Flask) -> None:
    """Make the helpers, and the facets by name, template globals."""
    for helper in (query_url, search_url, toggle_url, unfiltered_url, sort_choices, mode_choice,
                   form_value):
        app.add_template_global(helper)
    app.add_template_global(FACETS_BY_NAME, "facets_by_name")
