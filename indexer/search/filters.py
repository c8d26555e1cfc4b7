"""Search filters (`status=RECRUITING`, `phase=2`, `country=US`, `near=42.36,-71.06`,
`age=70` …) checked and turned into a `Restriction`: Whoosh terms over the facet fields, site
criteria (see `indexer.search.sites`) and an age, with the values people write mapped to the
registry's and bad ones refused with a message naming the parameter."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from whoosh import query

from ..enums import canonical_values
from ..errors import QueryError
from ..index.schema import DEFAULT_RADIUS_KM, FACETS_BY_NAME, status_code
from ..places import MAX_RADIUS_KM, country_code, fold
from .sites import SiteCriteria

MAX_AGE_YEARS = 150
_FLAGS = {"true": "true", "yes": "true", "1": "true", "false": "false", "no": "false", "0": "false"}
_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
# `near`: latitude,longitude in decimal degrees, in range; the OpenAPI document states it too.
NEAR_PATTERN = (r" *(-?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)) *, *"
                r"(-?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)) *")
_ONE_VALUE = ("near", "radius", "age")


@dataclass(frozen=True)
class Restriction:
    """What every result must match: `terms` (a Whoosh query over facet fields, or None),
    `sites` (criteria on a study's sites, or None), `age` (or None). `fields` are the
    (filter, index field) pairs it reads; `key` identifies it for caches."""

    terms: query.Query | None
    sites: SiteCriteria | None
    age: float | None
    fields: tuple[tuple[str, str], ...]
    key: tuple

    @property
    def empty(self) -> bool:
        """Whether it lets every document through."""
        return self.terms is None and not (self.sites and self.sites.places) and self.age is None

    @property
    def near(self) -> tuple[float, float] | None:
        """The point distances are measured from, when one was given."""
        return self.sites.near if self.sites else None


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"  # never echo a huge value back


def _number(name: str, text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text) if re.fullmatch(_NUMBER, text.strip()) else math.nan
    except OverflowError:
        value = math.nan
    if not low <= value <= high:  # NaN fails too
        raise QueryError(f"{name} must be {what}, got '{_shown(text)}'", param=name)
    return value


def parse_near(text: str) -> tuple[float, float]:
    """`"42.36,-71.06"` -> (42.36, -71.06); QueryError naming `near` otherwise."""
    match = re.fullmatch(NEAR_PATTERN, text)
    if not match:
        raise QueryError(f"near must be latitude,longitude in decimal degrees (latitude -90 to "
                         f"90, longitude -180 to 180), e.g. 42.36,-71.06; got '{_shown(text)}'",
                         param="near")
    return float(match.group(1)), float(match.group(2))


def _country(text: str) -> str:
    code = country_code(text)
    if code is None:
        raise QueryError(f"unknown country '{_shown(text)}'; give an ISO 3166 code (US, DE, "
                         "KR) or an English name (United States, Germany)", param="country")
    return code


def _flag(name: str, text: str) -> str:
    if text.strip().lower() not in _FLAGS:
        raise QueryError(f"{name} must be true or false, got '{_shown(text)}'", param=name)
    return _FLAGS[text.strip().lower()]


def _terms(name: str, values: list[str]) -> query.Query:
    facet = FACETS_BY_NAME[name]
    if facet.kind == "year":
        try:
            years = [int(v) for v in values]
        except ValueError:
            raise QueryError(f"year must be a number, got {values!r}", param="year") from None
        if not all(1 <= y <= 9999 for y in years):
            raise QueryError(f"year must be between 1 and 9999, got {values!r}", param="year")
        return query.Or([query.NumericRange(facet.field, y, y) for y in years])
    if facet.kind == "enum":  # `not yet recruiting`, `phase 2`, `II` name registry values
        values = [value.lower() for text in values for value in canonical_values(name, text)]
        if name == "sex":  # a woman may join a study for women or for everyone
            values = [*values, *(["all"] if set(values) & {"female", "male"} else [])]
    elif facet.kind == "flag":
        values = [_flag(name, v) for v in values]
    elif facet.kind == "place":
        values = [fold(v) for v in values]
    return query.Or([query.Term(facet.field, v) for v in dict.fromkeys(values)])


def _values(name: str, value: Any) -> list[str]:
    values = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    values = [v for v in values if v.strip()]
    if name in _ONE_VALUE and len(values) > 1:
        raise QueryError(f"{name} takes one value, got {len(values)}", param=name)
    return values


def parse_filters(filters: dict[str, Any]) -> Restriction:
    """The restriction `filters` ask for (an AND over filters, an OR over one filter's
    values; `near` with `radius` and `country` are met by one site, in the asked statuses).
    Raises QueryError naming an unknown filter or a bad value."""
    given = {}
    for name, value in filters.items():
        if name not in FACETS_BY_NAME:
            raise QueryError(f"unknown filter '{_shown(name)}'; filters: {', '.join(FACETS_BY_NAME)}",
                             param=name)
        values = _values(name, value)
        if values:
            given[name] = values
    clauses = [_terms(name, values) for name, values in given.items()
               if FACETS_BY_NAME[name].kind not in ("country", "near", "number")]
    fields = tuple((name, field) for name in given
                   for field in (("min_age", "max_age") if name == "age" else (FACETS_BY_NAME[name].field,)))
    near = parse_near(given["near"][0]) if "near" in given else None
    radius = None
    if "radius" in given:
        if near is None:
            raise QueryError("radius needs near=latitude,longitude", param="radius")
        radius = _number("radius", given["radius"][0], 0, MAX_RADIUS_KM,
                         f"a distance in km from 0 to {MAX_RADIUS_KM:,.0f}")
    countries = tuple(sorted({_country(v) for v in given.get("country", [])}))
    # A status filter also says which sites count, for places and for the country facet.
    statuses = tuple(sorted({status_code(v) for text in given.get("status", [])
                             for v in canonical_values("status", text)}))
    sites = None
    if near is not None or countries or statuses:
        sites = SiteCriteria(countries, statuses, near,
                             (radius if radius is not None else DEFAULT_RADIUS_KM) if near else None)
    age = None
    if "age" in given:
        age = _number("age", given["age"][0], 0, MAX_AGE_YEARS,
                      f"a person's age in years, from 0 to {MAX_AGE_YEARS}")
    key = (tuple(sorted((name, tuple(sorted(v))) for name, v in given.items()
                        if name not in ("near", "radius", "age", "country"))),
           sites, age)
    return Restriction(query.And(clauses) if clauses else None, sites, age, fields, key)
