"""Searching the index: the live handle (`live.SearchIndex`) and the per-generation snapshot it
swaps, the search request every front end builds, the query language and its expansions,
array scoring over Whoosh's storage (read through `indexer.whoosh`), facets and filters,
vocabulary, results and highlights."""

from .live import DEFAULT_TIME_BUDGET, SearchIndex, open_index
from .request import DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_RESULT_WINDOW, MODES, SORTS, SearchRequest
from .results import Hit, SearchResult

__all__ = ["DEFAULT_PER_PAGE", "DEFAULT_TIME_BUDGET", "MAX_PER_PAGE", "MAX_RESULT_WINDOW", "MODES",
           "SORTS", "Hit", "SearchIndex", "SearchRequest", "SearchResult", "open_index"]
