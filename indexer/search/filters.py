"""Search filters (`status=RECRUITING`, `phase=2`, `year=2021` …) as Whoosh queries over the
facet fields, with the values people write mapped to the registry's and bad ones refused."""

from __future__ import annotations

from typing import Any

from whoosh import query

from ..enums import canonical_values
from ..errors import QueryError
from ..index.schema import FACETS_BY_NAME


def filter_key(filters: dict[str, Any]) -> tuple:
    """Filters as a hashable key for the per-reader filter cache; order does not matter."""
    return tuple(sorted((facet, tuple(sorted(map(str, v if isinstance(v, (list, tuple)) else [v]))))
                        for facet, v in filters.items() if v not in (None, "", [])))


def _filter_terms(name: str, values: list[str]) -> query.Query:
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
    return query.Or([query.Term(facet.field, v) for v in dict.fromkeys(values)])


def filter_query(filters: dict[str, Any]) -> query.Query | None:
    """The query every result must match (an AND over facets, an OR over one facet's values);
    None without filters. Raises QueryError naming an unknown facet or value."""
    clauses = []
    for facet, value in filters.items():
        if value in (None, "", []):
            continue
        if facet not in FACETS_BY_NAME:
            raise QueryError(f"unknown filter '{facet}'; filters: {', '.join(FACETS_BY_NAME)}",
                             param=facet)
        values = value if isinstance(value, (list, tuple)) else [value]
        clauses.append(_filter_terms(facet, [str(v) for v in values]))
    return query.And(clauses) if clauses else None
