"""trialsearch itself, through its public API (`build_index`, `update_index`, `open_index`)."""

from __future__ import annotations

import time

from indexer import build_index, open_index, update_index

from ..queries import PER_PAGE, QueryCase

NAME = "trialsearch (Whoosh)"
APP_FILTERS = True  # answers `app_only` cases (location and eligibility filters, sort)
PROCS = 2  # parallel writers: the machine the targets are for has 2 cores


def available() -> str | None:
    """None: trialsearch is always there (a reason string would say why not)."""
    return None


class Engine:
    """Builds with `procs=2`; searches exactly as the web app does (facets, highlights,
    spelling suggestion)."""

    name = NAME

    def build(self, files, index_dir) -> int:
        """Full build of `files` into `index_dir`; returns the number of studies indexed."""
        return build_index([str(f) for f in files], index_dir, procs=PROCS).indexed

    def update(self, files, index_dir) -> int:
        """Upsert `files` by NCT ID into the live index; returns the number of studies."""
        return update_index([str(f) for f in files], index_dir, procs=PROCS).indexed

    def open(self, index_dir) -> Session:
        """A searcher over `index_dir`."""
        return Session(index_dir)


class Session:
    """An open index answering `QueryCase`s."""

    def __init__(self, index_dir):
        self.index = open_index(index_dir)
        started = time.perf_counter()
        self.index.warm()  # as each `trialsearch serve` worker does when it starts
        self.warm_seconds = time.perf_counter() - started

    def refresh(self) -> None:
        """Nothing to do: the index notices an update on its next search."""

    def run(self, case: QueryCase) -> tuple[int, list[str]]:
        """(total matches, NCT IDs on the requested page)."""
        result = self.index.search(case.app_text(), filters=case.app_filters() or None,
                                   sort=case.sort, page=case.page, per_page=PER_PAGE,
                                   facets=case.facet_counts, highlights=True)
        return result.total, [hit.nct_id for hit in result.hits]

    def close(self) -> None:
        """Release the searcher."""
        self.index.close()
