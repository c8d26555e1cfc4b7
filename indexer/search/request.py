"""One search as every front end asks for it: `SearchRequest`, with its defaults, its bounds and
the validation that names the bad parameter.

The web app builds one from a query string (`from_query_string`), the CLI from its options and
evaluation from its topics; `SearchIndex.search` runs it. A request that exists is valid: every
check runs when it is made, so a 400 (or the CLI's `Error:`) says what is wrong before any
index is read.

    SearchRequest(q="exosomes", filters={"status": ["recruiting"]}, per_page=5)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..catalog.facets import FACETS_BY_NAME
from ..catalog.fields import FIELD_ALIASES
from ..catalog.registry import shown
from ..errors import QueryError
from .query import MAX_QUERY_LENGTH, meaning_text, resolve_field

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page, as Elasticsearch's index.max_result_window
# Sort -> the Whoosh field it sorts by (None: by score, or by distance from `near`).
SORTS = {"relevance": None, "last_update": "last_update", "first_posted": "first_posted",
         "distance": None}
# How a search matches: by the words typed (BM25F), by meaning (the studies whose vectors are
# nearest the query's), or both fused. None asks for the default: hybrid where the index has
# vectors, else keyword.
MODES = ("keyword", "hybrid", "semantic")
OPERATORS = ("and", "or")
MAX_FILTER_VALUES = 20  # per filter; more is a crafted URL, not a person ticking boxes
MAX_FILTER_LENGTH = 200


class QueryString(Protocol):
    """What `from_query_string` reads: a werkzeug `MultiDict`, or anything with its two
    methods."""

    def get(self, key: str, default: Any = None) -> Any:
        """The first value of `key`, or `default`."""

    def getlist(self, key: str) -> list[str]:
        """Every value of `key`, in order."""


@dataclass(frozen=True)
class SearchRequest:
    """A validated search. `fields`: the field names bare words search instead of the default
    ones (`title`, `condition`); `filters`: facet name -> values (any of them matches);
    `only`: NCT IDs the results are kept to; `meaning`: the text the meaning side reads
    instead of `q` (a patient's whole description, where `q` is its key terms). Raises
    QueryError naming the parameter when any value is out of bounds."""

    q: str = ""
    fields: tuple[str, ...] = ()
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    operator: str = "and"
    mode: str | None = None
    facets: bool = True
    highlights: bool = True
    expand_abbreviations: bool = True
    only: frozenset[str] | None = None
    meaning: str | None = None

    def __post_init__(self) -> None:
        # Normalised in place (the dataclass is frozen to everyone else): lists become tuples,
        # filter values are trimmed and de-duplicated, empty ones dropped (a form's empty field
        # filters nothing).
        filters = ((name, _filter_values(name, value)) for name, value in (self.filters or {}).items())
        object.__setattr__(self, "fields", tuple(self.fields or ()))
        object.__setattr__(self, "filters", {name: values for name, values in filters if values})
        if self.only is not None:
            object.__setattr__(self, "only", frozenset(self.only))
        self._check()

    def _check(self) -> None:
        if not isinstance(self.q, str) or len(self.q) > MAX_QUERY_LENGTH:
            raise QueryError(f"q is {len(self.q)} characters long; the limit is {MAX_QUERY_LENGTH}",
                             param="q")
        for name in self.fields:
            _check_field(name)
        if not isinstance(self.page, int) or self.page < 1:
            raise QueryError("page must be a whole number >= 1", param="page")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}", param="per_page")
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise QueryError(f"results beyond the first {MAX_RESULT_WINDOW} are not served; "
                             "narrow the query", param="page")
        _check_choice("sort", self.sort, SORTS)
        _check_choice("operator", self.operator, OPERATORS)
        if self.mode is not None:
            _check_choice("mode", self.mode, MODES)
        if self.sort == "distance" and "near" not in self.filters:
            raise QueryError("sort=distance needs near (a place, or latitude,longitude)",
                             param="sort")
        if self.mode == "semantic" and self.by_date:
            raise QueryError("mode=semantic orders by meaning; to sort by date, use mode "
                             "keyword or hybrid", param="mode")
        if self.mode == "semantic" and self.q.strip() and self.meaning_text is None:
            raise QueryError("mode=semantic reads plain words: drop the quotes, field scopes, "
                             "operators and NCT IDs, or use mode keyword or hybrid", param="mode")

    @property
    def by_date(self) -> bool:
        """Whether results are ordered by a date rather than by relevance."""
        return SORTS[self.sort] is not None

    @property
    def meaning_text(self) -> str | None:
        """What the meaning side reads: `meaning` when given, else the query's plain words;
        None when the query asks for exact matches (see `query.meaning_text`) or a date
        order, which meaning cannot give."""
        if self.by_date:
            return None
        if self.meaning is not None and self.meaning.strip():
            return self.meaning
        return meaning_text(self.q)

    def replace(self, **changes: Any) -> SearchRequest:
        """A copy with `changes`, validated again."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_query_string(cls, args: QueryString, *, max_per_page: int = MAX_PER_PAGE) -> SearchRequest:
        """The request a query string asks for (`q`, `field`, `mode`, `sort`, `operator`,
        `page`, `per_page` and one parameter per filter, repeated for several values); empty
        parameters take their defaults. `max_per_page` is the server's own bound."""
        field_name = args.get("field", "")
        per_page = whole_number(args, "per_page", min(DEFAULT_PER_PAGE, max_per_page), 1, max_per_page)
        given = {name: args.get(name) for name in ("sort", "operator") if args.get(name)}
        return cls(
            q=args.get("q", ""), fields=(field_name,) if field_name else (),
            filters={name: args.getlist(name) for name in FACETS_BY_NAME if args.getlist(name)},
            mode=args.get("mode") or None, per_page=per_page, **given,
            page=whole_number(args, "page", 1, 1, MAX_RESULT_WINDOW // per_page))

    def query_pairs(self, **changes: Any) -> list[tuple[str, str]]:
        """This request as query-string pairs (`from_query_string`'s inverse; defaults left
        out), with `changes` applied (a filter's name -> its values; None drops a parameter)."""
        values: dict[str, Any] = {"q": self.q, "field": self.fields[0] if self.fields else "",
                                  "sort": self.sort, "per_page": self.per_page,
                                  "operator": self.operator, "mode": self.mode, "page": self.page,
                                  **self.filters}
        values.update(changes)
        pairs = []
        for name, value in values.items():
            if value is None or value == "" or value == [] or value == () or _DEFAULTS.get(name) == value:
                continue
            pairs += [(name, str(item)) for item in (value if isinstance(value, (list, tuple)) else [value])]
        return pairs


# The parameters a link leaves out at their defaults.
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(SearchRequest)
             if field.name in ("sort", "per_page", "operator", "page")}


def _check_choice(name: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise QueryError(f"{name} must be one of: {', '.join(allowed)}", param=name)


def _check_field(name: str) -> None:
    """A field name exactly as documented (`title`, `condition`, ...)."""
    if name not in FIELD_ALIASES:
        resolve_field(name)  # an unknown name: QueryError(param="field") listing them
        raise QueryError(f"field names are lower case: field={name.lower()}", param="field")


def _filter_values(name: str, value: Any) -> tuple[str, ...]:
    """A filter's values, checked: a known filter, a bounded number of bounded values, each
    one its facet takes (QueryError naming the filter otherwise)."""
    facet = FACETS_BY_NAME.get(name)
    if facet is None:
        raise QueryError(f"unknown filter '{shown(name)}'; filters: {', '.join(FACETS_BY_NAME)}",
                         param=name)
    given = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if len(given) > MAX_FILTER_VALUES:
        raise QueryError(f"at most {MAX_FILTER_VALUES} values of {name} may be given", param=name)
    if any(len(v) > MAX_FILTER_LENGTH for v in given):
        raise QueryError(f"{name} values are at most {MAX_FILTER_LENGTH} characters", param=name)
    values = tuple(dict.fromkeys(v.strip() for v in given if v.strip()))
    if len(values) > 1 and not facet.kind.several:
        raise QueryError(f"{name} takes one value, got {len(values)}", param=name)
    if not values:
        return values
    # Refused when the facet does not take them, as given (a year is four digits, no more);
    # kept as the registry spells them (`not yet recruiting` -> NOT_YET_RECRUITING).
    facet.kind.index_values(facet, [v for v in given if v.strip()])
    return tuple(facet.kind.canonical(facet, list(values)))


def filter_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of filter `name`'s values as a request takes them: one value, or a list
    of at most MAX_FILTER_VALUES for a facet that takes several (any of them matches); a free
    text of at most MAX_FILTER_LENGTH characters; an empty value, which filters nothing. The
    API documents its parameters with it."""
    kind = FACETS_BY_NAME[name].kind
    items = kind.item_schema()
    if items["type"] == "string" and "enum" not in items and not (kind.several and "pattern" in items):
        items = {**items, "maxLength": MAX_FILTER_LENGTH}
    if "enum" in items and "" not in items["enum"]:  # an empty value filters nothing (a form's)
        items = {**items, "enum": [*items["enum"], ""]}
    if not kind.several:
        return items
    return {"type": "array", "items": items, "maxItems": MAX_FILTER_VALUES}


def whole_number(args: QueryString, name: str, default: int, low: int, high: int) -> int:
    """The integer parameter `name` of a query string, between `low` and `high`; `default`
    when it is absent or empty."""
    raw = args.get(name, "")
    if raw == "":
        return default
    # isdigit alone admits digits int() refuses ("²") and other scripts' digits ("٣").
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise QueryError(f"{name} must be a whole number between {low} and {high}", param=name)
    number = int(raw)
    if not low <= number <= high:
        raise QueryError(f"{name} must be between {low} and {high}", param=name)
    return number

