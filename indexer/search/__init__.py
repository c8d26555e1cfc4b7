"""Searching the index: the live handle (`live.SearchIndex`) and the per-generation snapshot it
swaps, the query language and its expansions, array scoring over Whoosh's storage (read through
`indexer.whoosh`), facets and filters, vocabulary, results and highlights."""

from .live import (
    DEFAULT_TIME_BUDGET,
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    SORTS,
    SearchIndex,
    open_index,
)
from .results import Hit, SearchResult

__all__ = ["DEFAULT_TIME_BUDGET", "MAX_PER_PAGE", "MAX_RESULT_WINDOW", "SORTS", "Hit",
           "SearchIndex", "SearchResult", "open_index"]
