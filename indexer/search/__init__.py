"""Searching the index: the live handle (`live.SearchIndex`) and the per-generation snapshot it
swaps, the search request every front end builds, the query language and its expansions,
array scoring over Whoosh's storage (read through `indexer.whoosh`), facets and filters,
vocabulary, results and highlights; and patient mode (`match.py`: a patient's description in,
the studies the patient could join and why out)."""

from .live import DEFAULT_TIME_BUDGET, SearchIndex, open_index
from .match import MAX_DESCRIPTION, DescriptionTooLong, MatchRequest, MatchResult
from .request import DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_RESULT_WINDOW, MODES, SORTS, SearchRequest
from .results import Hit, SearchResult

__all__ = ["DEFAULT_PER_PAGE", "DEFAULT_TIME_BUDGET", "MAX_DESCRIPTION", "MAX_PER_PAGE",
           "MAX_RESULT_WINDOW", "MODES", "SORTS", "DescriptionTooLong", "Hit", "MatchRequest",
           "MatchResult", "SearchIndex", "SearchRequest", "SearchResult", "open_index"]
