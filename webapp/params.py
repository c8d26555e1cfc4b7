"""Turn query-string parameters into one validated search request (shared by page and API).

Every bad value raises `QueryError` naming its parameter, and no error message echoes a huge
value back: the API turns it into a 400, the page into a notice above the search box.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from indexer.errors import QueryError
from indexer.index.schema import FACETS_BY_NAME, FIELD_ALIASES
from indexer.search import MAX_RESULT_WINDOW, SORTS
from indexer.search.live import MODES
from indexer.search.query import MAX_QUERY_LENGTH, resolve_field

from .config import DEFAULT_PER_PAGE

# The page's field selector; the API's `field` takes any field name the query language knows.
FIELD_CHOICES = [("", "All fields"), ("title", "Title"), ("summary", "Summary"),
                 ("description", "Description"), ("sponsor", "Sponsor"),
                 ("condition", "Condition"), ("intervention", "Intervention")]
# The page's "Match" selector. Its first option is the server's default, sent as no mode at all:
# words and meaning where the index has study vectors, else words alone (asking for hybrid
# there would add a notice to every search).
MODE_CHOICES = [("", "Words and meaning"), ("keyword", "Words only"), ("semantic", "Meaning only")]
SORT_CHOICES = [("relevance", "Relevance"), ("last_update", "Last update"),
                ("first_posted", "First posted"), ("distance", "Distance")]  # distance: with `near`
# Filters the page's "near me and for me" fields set (the others are facet links).
FORM_FILTERS = ("near", "radius", "age", "sex")
MAX_FILTER_VALUES = 20  # per facet; more is a crafted URL, not a person ticking boxes
MAX_FILTER_LENGTH = 200
# Patterns a whole value must match; the OpenAPI document states them too. A study ID: NCT and
# 8 digits, in any case (nct05871463 is forgiven). A `year` filter: four digits but 0000, or empty.
NCT_ID_PATTERN = "[Nn][Cc][Tt][0-9]{8}"
YEAR_PATTERN = "((?!0000)[0-9]{4})?"


@dataclass
class SearchRequest:
    """A validated search: what the user asked for, ready for `SearchIndex.search`."""

    q: str = ""
    field: str = ""
    filters: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    operator: str = "and"
    mode: str = ""  # one of MODES, or "" for the server's default

    def search_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `SearchIndex.search`."""
        return {"fields": [resolve_field(self.field)] if self.field else None,
                "filters": self.filters, "sort": self.sort, "page": self.page,
                "per_page": self.per_page, "operator": self.operator, "mode": self.mode or None}

    def url_args(self, **changes: Any) -> list[tuple[str, str]]:
        """This request as query-string pairs (defaults left out), with `changes` applied;
        a change to None drops the parameter. Used for pagination, sort and facet links."""
        values: dict[str, Any] = {"q": self.q, "field": self.field, "sort": self.sort,
                                  "per_page": self.per_page, "operator": self.operator,
                                  "mode": self.mode, "page": self.page, **self.filters}
        values.update(changes)
        defaults = {"sort": "relevance", "per_page": DEFAULT_PER_PAGE, "operator": "and", "page": 1}
        pairs = []
        for name, value in values.items():
            if value is None or value == "" or value == [] or defaults.get(name) == value:
                continue
            for item in value if isinstance(value, list) else [value]:
                pairs.append((name, str(item)))
        return pairs

    def mode_choice(self) -> str:
        """The MODE_CHOICES value the page's selector shows (mode=hybrid: the default's)."""
        return "" if self.mode == "hybrid" else self.mode

    def sort_choices(self) -> list[tuple[str, str]]:
        """The orders this search can be sorted in (distance only from a `near` point; no date
        order for meaning alone, which ranks by meaning)."""
        return [(value, text) for value, text in SORT_CHOICES
                if (value != "distance" or "near" in self.filters)
                and (SORTS[value] is None or self.mode != "semantic")]

    def without_filters(self) -> list[tuple[str, str]]:
        """URL pairs for this request with no filter (back to page 1)."""
        sort = None if self.sort == "distance" else self.sort
        return self.url_args(**dict.fromkeys(self.filters), sort=sort, page=None)

    def form_value(self, name: str) -> str:
        """The value a form field for filter `name` shows ('' when not given)."""
        return (self.filters.get(name) or [""])[0]

    def toggle_filter(self, facet: str, value: str) -> list[tuple[str, str]]:
        """URL pairs for this request with `facet=value` switched on or off (back to page 1)."""
        current = self.filters.get(facet, [])
        values = [v for v in current if v != value] if value in current else [*current, value]
        return self.url_args(**{facet: values, "page": None})


def plain_words(text: str) -> str:
    """The words of a query with its syntax removed: what the page searches when the query
    itself cannot be parsed (`"liver (cirrhosis` -> `liver cirrhosis`)."""
    words = re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", text)
    return " ".join(w for w in words if w.upper() not in ("AND", "OR", "NOT", "TO"))


def canonical_nct_id(value: str) -> str:
    """A study ID from a URL as `NCT########`; QueryError naming `nct_id` when it is none."""
    if not re.fullmatch(NCT_ID_PATTERN, value):
        raise QueryError("not an NCT ID (expected NCT followed by 8 digits)", param="nct_id")
    return value.upper()


def whole_number(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    """The integer parameter `name` of `args` between `low` and `high`; `default` when it is
    absent or empty."""
    raw = args.get(name, "")
    if raw == "":
        return default
    # isdigit alone admits digits int() refuses ("²") and other scripts' digits ("٣").
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise QueryError(f"{name} must be a whole number between {low} and {high}", param=name)
    value = int(raw)
    if not low <= value <= high:
        raise QueryError(f"{name} must be between {low} and {high}", param=name)
    return value


def _choice(args: MultiDict, name: str, default: str, allowed) -> str:
    value = args.get(name, default) or default
    if value not in allowed:
        raise QueryError(f"{name} must be one of: {', '.join(allowed)}", param=name)
    return value


def parse_search_args(args: MultiDict, *, max_per_page: int) -> SearchRequest:
    """Validate `args` (a request's query string) into a SearchRequest."""
    q = args.get("q", "")
    if len(q) > MAX_QUERY_LENGTH:
        raise QueryError(f"q is {len(q)} characters long; the limit is {MAX_QUERY_LENGTH}", param="q")
    field_name = args.get("field", "")
    if field_name and field_name not in FIELD_ALIASES:  # exactly the documented names
        resolve_field(field_name)  # an unknown name: QueryError(param="field") listing them
        raise QueryError(f"field names are lower case: field={field_name.lower()}", param="field")
    filters = {}
    for facet in FACETS_BY_NAME:
        given = args.getlist(facet)
        if len(given) > MAX_FILTER_VALUES:
            raise QueryError(f"at most {MAX_FILTER_VALUES} values of {facet} may be given", param=facet)
        if any(len(v) > MAX_FILTER_LENGTH for v in given):
            raise QueryError(f"{facet} values are at most {MAX_FILTER_LENGTH} characters", param=facet)
        if FACETS_BY_NAME[facet].kind == "year" and not all(re.fullmatch(YEAR_PATTERN, v)
                                                            for v in given):
            raise QueryError(f"{facet} must be a four-digit year (0001 to 9999)", param=facet)
        values = [v.strip() for v in given if v.strip()]  # a form's empty field filters nothing
        if values:
            filters[facet] = list(dict.fromkeys(values))
    per_page = whole_number(args, "per_page", min(DEFAULT_PER_PAGE, max_per_page), 1, max_per_page)
    page = whole_number(args, "page", 1, 1, MAX_RESULT_WINDOW // per_page)
    return SearchRequest(
        q=q, field=field_name, filters=filters,
        sort=_choice(args, "sort", "relevance", list(SORTS)),
        page=page, per_page=per_page,
        operator=_choice(args, "operator", "and", ["and", "or"]),
        mode=_mode(args),
    )


def _mode(args: MultiDict) -> str:
    """`mode`: one of MODES, or "" (absent or empty) for the server's default."""
    value = args.get("mode", "")
    if value and value not in MODES:
        raise QueryError(f"mode must be one of: {', '.join(MODES)}", param="mode")
    return value
