"""Search filters (`status=RECRUITING`, `phase=2`, `country=US`, `near=Boston`,
`near=42.36,-71.06`, `age=70` …) checked and turned into a `Restriction`: Whoosh terms over the
facet fields, site criteria (see `indexer.search.sites`) and an age. Each facet's kind
(`indexer.catalog.facets`) maps what people write to the values the index holds and refuses bad
ones naming the parameter; this module only says how a search meets them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from whoosh import query

from ..catalog.facets import DEFAULT_RADIUS_KM, FACETS_BY_NAME, EnumKind, Near
from ..catalog.fields import status_code
from ..catalog.registry import shown
from ..errors import QueryError
from .sites import SiteCriteria


@dataclass(frozen=True)
class Restriction:
    """What every result must match: `terms` (a Whoosh query over facet fields, or None),
    `sites` (criteria on a study's sites, or None), `age` (or None). `fields` are the
    (filter, index field) pairs it reads; `key` identifies it for caches; `place` is what
    `near` asked for (the text as typed, its point and the place it names), or None."""

    terms: query.Query | None
    sites: SiteCriteria | None
    age: float | None
    fields: tuple[tuple[str, str], ...]
    key: tuple
    place: Near | None = None

    @property
    def empty(self) -> bool:
        """Whether it lets every document through."""
        return self.terms is None and not (self.sites and self.sites.places) and self.age is None

    @property
    def near(self) -> tuple[float, float] | None:
        """The point distances are measured from, when one was given."""
        return self.sites.near if self.sites else None


def _values(name: str, value: Any) -> list[str]:
    values = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    values = [v for v in values if v.strip()]
    if len(values) > 1 and not FACETS_BY_NAME[name].kind.several:
        raise QueryError(f"{name} takes one value, got {len(values)}", param=name)
    return values


def _terms(name: str, values: list) -> query.Query:
    """Any of `values` (as the index holds them) in the facet's field; with a value that a
    study stating none meets (`EnumKind.unstated`), also the studies holding no value."""
    facet = FACETS_BY_NAME[name]
    if facet.kind.numeric:
        return query.Or([query.NumericRange(facet.field, v, v) for v in values])
    terms = [query.Term(facet.field, v) for v in values]
    kind = facet.kind
    if isinstance(kind, EnumKind) and {value.lower() for value in kind.unstated} & set(values):
        stated = query.Or([query.Term(facet.field, value.lower()) for value in kind.enumeration.values])
        terms.append(query.AndNot(query.Every(), stated))
    return query.Or(terms)


def parse_filters(filters: dict[str, Any]) -> Restriction:
    """The restriction `filters` ask for (an AND over filters, an OR over one filter's
    values; `near` with `radius` and `country` are met by one site, in the asked statuses).
    Raises QueryError naming an unknown filter or a bad value."""
    given: dict[str, list] = {}
    for name, value in filters.items():
        if name not in FACETS_BY_NAME:
            raise QueryError(f"unknown filter '{shown(name)}'; filters: {', '.join(FACETS_BY_NAME)}",
                             param=name)
        values = _values(name, value)
        if values:
            given[name] = FACETS_BY_NAME[name].kind.index_values(FACETS_BY_NAME[name], values)
    clauses = [_terms(name, values) for name, values in given.items()
               if FACETS_BY_NAME[name].kind.role == "terms"]
    fields = tuple((name, field) for name in given for field in FACETS_BY_NAME[name].fields)
    place = given["near"][0] if "near" in given else None
    near = (place.lat, place.lon) if place else None
    if "radius" in given and near is None:
        raise QueryError("radius needs near (a place, or latitude,longitude)", param="radius")
    countries = tuple(given.get("country", ()))
    # A status filter also says which sites count, for places and for the country facet.
    statuses = tuple(sorted({status_code(value.upper()) for value in given.get("status", ())}))
    sites = None
    if near is not None or countries or statuses:
        radius = given.get("radius", [DEFAULT_RADIUS_KM])[0] if near else None
        sites = SiteCriteria(countries, statuses, near, radius)
    age = given["age"][0] if "age" in given else None
    key = (tuple(sorted((name, tuple(sorted(map(str, v)))) for name, v in given.items()
                        if FACETS_BY_NAME[name].kind.role == "terms")), sites, age)
    return Restriction(query.And(clauses) if clauses else None, sites, age, fields, key, place)
