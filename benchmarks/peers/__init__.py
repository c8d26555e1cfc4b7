"""The engines a benchmark run compares: trialsearch (Whoosh) and its peers.

Every engine reads the same files through `indexer.readers` (so parsing costs the same for
all) and exposes `build(files, index_dir)`, `update(files, index_dir)` and
`open(index_dir)`, a session whose `run(case)` answers a `QueryCase` with (total, page of
NCT IDs) after doing what a results page needs (the page of hits with a summary snippet, the
total and the facet counts) and whose `refresh()` makes it see an update, as a server would.
A module's `APP_FILTERS` says whether it answers `app_only` cases (trialsearch's location and
eligibility filters, which the peers have no counterpart for).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from indexer.model import Study
from indexer.readers import read_sources

# name -> module; each module has an `Engine` class and `available()`.
ENGINES = {
    "whoosh": "benchmarks.peers.whoosh_engine",
    "fts5": "benchmarks.peers.fts5",
    "tantivy": "benchmarks.peers.tantivy_peer",
}


def load(name: str):
    """The engine module called `name` (see ENGINES)."""
    return importlib.import_module(ENGINES[name])


def answers(name: str, case) -> bool:
    """Whether engine `name` runs `case` (peers skip the app-only filter cases)."""
    return not case.app_only or getattr(load(name), "APP_FILTERS", False)


def studies(files) -> Iterator[Study]:
    """The studies in `files`, as every engine reads them."""
    return (item for item in read_sources([str(f) for f in files]) if isinstance(item, Study))
