"""The search core's front door: CLI, pages, API and widget all call `SearchIndex.search` and
render the `SearchResult` it returns.

A `SearchIndex` is the live handle on an index folder. It holds one `Snapshot` (a generation's
searcher and caches, see `indexer.search.snapshot`) and checks, cheaply on every call, whether a build
has switched generations (a stat of CURRENT) or an update has committed (Whoosh's TOC
generation); only then does it open a new snapshot and swap it in whole, so servers pick up
new indexes without a restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import QueryError
from ..index.layout import CURRENT_FILE, require_generation
from ..model import Study, normalize_nct_id
from ..whoosh.generation import decode_study
from .answer import answer, recount_filtered_facets
from .fusion import Candidates
from .match import MatchRequest, MatchResult, match_patient
from .meaning import MeaningSearch
from .patient_conditions import ConditionVocabulary
from .plan import plan_search
from .postings import SegmentCache
from .ranking import rank_words
from .request import MAX_PER_PAGE, SearchRequest
from .results import Hit, SearchResult
from .similar import similar_hits
from .snapshot import Snapshot

DEFAULT_TIME_BUDGET = 5.0  # seconds; a slower search returns what it found, marked timed_out
log = logging.getLogger(__name__)

__all__ = ["Hit", "SearchIndex", "SearchResult", "open_index"]


class SearchIndex:
    """A live, self-refreshing handle on the index at `path` (see `open_index`)."""

    def __init__(self, path: str | os.PathLike, *, time_budget: float = DEFAULT_TIME_BUDGET):
        self.path = Path(path)
        self.time_budget = time_budget
        self._lock = threading.RLock()
        self._segments = SegmentCache()  # kept across generations: segments outlive them
        self._keep_warm = False  # set by warm(): warm each new generation too
        self._snapshot: Snapshot | None = None
        self._closed = False
        # Meaning search: the stored vectors are kept across generations, like the segments.
        self._meaning = MeaningSearch(self.path)
        self.snapshot()

    # -- generations ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The live generation's snapshot, opened anew if the index changed since the last
        call. Raises IndexNotFoundError when no index was built at `path`."""
        with self._lock:
            try:
                st = os.stat(self.path / CURRENT_FILE)
                stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            except (FileNotFoundError, NotADirectoryError):  # require_generation says so
                stamp = None
            old = self._snapshot
            if old is not None and old.is_current(stamp):
                return old
            folder = require_generation(self.path)
            self._snapshot = Snapshot.open(folder, stamp, self._segments)
            if old is not None:
                old.close()
                if self._keep_warm:
                    self._warm_in_background()
            return self._snapshot

    @property
    def generation(self) -> str:
        """The live generation's folder name."""
        return self.snapshot().generation

    @property
    def abbreviations(self) -> dict[str, list[str]]:
        """The abbreviation pairs the live generation expands (short -> long forms)."""
        return self.snapshot().abbreviations

    def synonyms(self) -> dict[str, list[dict[str, Any]]]:
        """Every pair the live generation expands, with its source (`Snapshot.synonyms`)."""
        with self._lock:
            return self.snapshot().synonyms()

    def warm(self) -> None:
        """Read now what searches read on first use (`Snapshot.warm_steps`, then patient
        mode's condition names, the study vectors and the query encoder; seconds on a
        registry-sized index). `trialsearch serve` runs this as each worker starts, so its
        first visitors do not wait for it. Once warmed, the index warms itself again, in a
        background thread, whenever a build or update changes it."""
        with self._lock:
            if self._closed:
                return
            self._keep_warm = True
            steps = len(self.snapshot().warm_steps())
        for step in range(steps):  # one at a time, so a search waits for one step at most
            with self._lock:
                if self._closed:
                    return
                steps_now = self.snapshot().warm_steps()
                if step < len(steps_now):
                    steps_now[step]()
        with self._lock:  # patient mode's condition names (a second on a large index)
            if not self._closed:
                ConditionVocabulary.of(self.snapshot())
        with self._lock:  # the vectors, their line-up with this generation and the encoder
            if not self._closed:
                self._meaning.view(self.snapshot())

    def _warm_in_background(self) -> None:
        def warm() -> None:
            try:
                self.warm()
            except Exception as error:  # noqa: BLE001 - an optimisation; searches read on demand
                log.warning("warming %s after a change failed: %s", self.path, error)

        threading.Thread(target=warm, name="trialsearch-rewarm", daemon=True).start()

    def searcher(self):
        """The current Whoosh searcher, reopened if the index changed since the last call."""
        return self.snapshot().searcher

    def close(self) -> None:
        """Release the open searcher."""
        with self._lock:
            self._closed = True
            if self._snapshot is not None:
                self._snapshot.close()
                self._snapshot = None
            self._meaning.close()

    # -- queries --------------------------------------------------------------------------
    def search(self, request: SearchRequest | str = "", **options: Any) -> SearchResult:
        """Run a search and return one page of hits with highlights, the total, facet counts
        and a spelling suggestion. `request` is a SearchRequest, or the query text with the
        request's other fields as keyword arguments (`search("exosomes", per_page=5)`); see
        `indexer.search.query` for the query language and `request.py` for the options.

        A search is planned (`plan.py`: the query parsed and expanded, the filters as the
        documents they allow, the sides that run), ranked by its words (`ranking.py`), fused
        with the studies nearest in meaning (`meaning.py`: hybrid, the default where the
        index has vectors; semantic ranks by meaning alone) and paged (`answer.py`). Raises
        QueryError naming the bad parameter."""
        started = time.perf_counter()
        if isinstance(request, str):
            request = SearchRequest(q=request, **options)
        elif options:
            request = request.replace(**options)
        deadline = time.monotonic() + self.time_budget
        with self._lock:
            snap = self.snapshot()
            plan, ranked, matched_by = self._run(snap, request, deadline)
            result = answer(snap, plan, ranked, matched_by, self.time_budget)
            recount_filtered_facets(snap, result, request, lambda other: self._run(snap, other, deadline))
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def candidates(self, request: SearchRequest) -> tuple[Candidates, list[str | None]] | None:
        """Both sides of `request` as a hybrid search before they are fused (`fusion.Candidates`:
        what `indexer.evaluation.fusion_study` compares fusions on), and each document's NCT
        ID; None when meaning search cannot run on this index or query."""
        request = request.replace(mode="hybrid")
        with self._lock:
            snap = self.snapshot()
            plan = plan_search(snap, request, self._meaning, time.monotonic() + self.time_budget)
            if plan.view is None:
                return None
            ranked = rank_words(snap, plan, self.time_budget)
            return self._meaning.candidates(snap, plan, ranked), snap.nct_ids()

    def match(self, request: MatchRequest | str, **options: Any) -> MatchResult:
        """Studies a patient could join, each with the reasons (`match.match_patient`); under
        the lock throughout, as `search`: Whoosh's files are not safe for two threads at once."""
        with self._lock:
            return match_patient(self, request, **options)

    def _run(self, snap: Snapshot, request: SearchRequest, deadline: float):
        """Plan, rank and fuse `request` over `snap`: the plan, ranking and how each matched."""
        plan = plan_search(snap, request, self._meaning, deadline)
        ranked = rank_words(snap, plan, self.time_budget)
        return (plan, *self._meaning.fuse(snap, plan, ranked))

    def similar(self, nct_id: str, *, limit: int = 10) -> SearchResult | None:
        """Studies most like `nct_id` ("more like this"): its key terms in title, conditions,
        interventions and summary (Bo1 weighting) run as one weighted OR query, fused with the
        studies whose vectors are nearest its own when the index has vectors. None when the
        study is not in the index."""
        started = time.perf_counter()
        if not 1 <= limit <= MAX_PER_PAGE:
            raise QueryError(f"limit must be between 1 and {MAX_PER_PAGE}", param="limit")
        study = self.get(nct_id)
        if study is None:
            return None
        with self._lock:
            hits, mode = similar_hits(self.snapshot(), self._meaning, study, limit)
        return SearchResult(query=f"similar:{study.nct_id}", total=len(hits), page=1,
                            per_page=limit, hits=hits, facets={}, mode=mode,
                            took_ms=round((time.perf_counter() - started) * 1000, 2))

    # -- records --------------------------------------------------------------------------
    def get(self, nct_id: str) -> Study | None:
        """The full record for `nct_id`, or None when the index does not hold it."""
        canonical = normalize_nct_id(nct_id)
        if canonical is None:
            return None
        with self._lock:
            stored = self.searcher().document(nct_id=canonical)
        return decode_study(stored) if stored else None

    def stats(self) -> dict[str, Any]:
        """Document count, fields, build/update times and size on disk of the live index, and
        its vectors: how many studies have one, from which model, and why meaning search
        cannot run when it cannot (`meaning_unavailable`, else None)."""
        with self._lock:
            snap = self.snapshot()
            view, why = self._meaning.view(snap)
            vectors = {"studies": view.covered if view is not None else 0,
                       "model": self._meaning.model, "meaning_unavailable": why or None,
                       "filling": self._meaning.filling()}
            return {"path": str(self.path), **snap.stats(), "vectors": vectors}

    def meaning_unavailable(self) -> str | None:
        """Why the hybrid and semantic modes cannot run on this index (no vectors yet, the
        'semantic' extra missing, vectors of another model), or None when they can."""
        with self._lock:
            return self._meaning.view(self.snapshot())[1] or None

    @property
    def meaning(self) -> MeaningSearch:
        """The meaning side: its study vectors (`vectors`) and remembered query vectors."""
        return self._meaning


def open_index(path: str | os.PathLike, **options) -> SearchIndex:
    """Open the index at `path` for searching. Raises IndexNotFoundError if none was built."""
    return SearchIndex(path, **options)
