"""trialsearch's indexer: read clinical-trial records, build a Whoosh index, search it.

The public API the CLI, web app, benchmarks and evaluation use::

    from indexer import build_index, update_index, delete_studies, open_index
    report = build_index(["records/"], "index_data")
    results = open_index("index_data").search("exosomes", filters={"status": "RECRUITING"})
"""

from .errors import (
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    NoRecordsError,
    QueryError,
    TrialsearchError,
)
from .model import Problem, Study
from .search import Hit, SearchIndex, SearchResult, open_index
from .store import IndexReport, build_index, delete_studies, update_index

__all__ = [
    "Hit",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexWriteError",
    "NoRecordsError",
    "Problem",
    "QueryError",
    "SearchIndex",
    "SearchResult",
    "Study",
    "TrialsearchError",
    "build_index",
    "delete_studies",
    "open_index",
    "update_index",
]
