"""trialsearch's indexer: read clinical-trial records, build a Whoosh index, search it.

Layers, lowest first: `model`, `errors`, `enums` and `readers` (records in every format);
`index` (analysis, schema, layout, builds); `search` (the search core); `registry` (the
ClinicalTrials.gov API), `evaluation` (TREC relevance) and `cli` above them. A lower layer never
imports a higher one (tests/test_layers.py checks). The public API the CLI, web app,
benchmarks and evaluation use::

    from indexer import build_index, update_index, delete_studies, open_index
    report = build_index(["records/"], "index_data")
    results = open_index("index_data").search("exosomes", filters={"status": "RECRUITING"})
    trials = open_index("index_data").match("A 58-year-old woman with a left lung mass ...")
"""

from pathlib import Path

from .errors import (
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    NoRecordsError,
    QueryError,
    TrialsearchError,
)
from .index.layout import DEFAULT_INDEX
from .index.store import IndexReport, build_index, delete_studies, update_index
from .model import Problem, Study
from .search import Hit, MatchRequest, MatchResult, SearchIndex, SearchResult, open_index

SAMPLE_DATA = Path(__file__).parent / "sample_data"  # the bundled real studies

__all__ = [
    "DEFAULT_INDEX",
    "SAMPLE_DATA",
    "Hit",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexReport",
    "IndexWriteError",
    "MatchRequest",
    "MatchResult",
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
