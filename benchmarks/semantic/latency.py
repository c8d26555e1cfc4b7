"""The query mix (benchmarks/queries.py) in keyword, hybrid and semantic mode on one index, in
interleaved rounds as the plain mix is measured (`benchmarks.measure`); the meaning modes also
with the query encoded every time (a query no one asked before)."""

from __future__ import annotations

import os
from pathlib import Path

from ..measure import _Cases, summarize
from ..queries import FILTER_CASES, MIX, PER_PAGE, QueryCase

MODES = ("keyword", "hybrid", "semantic")


class ModeSession:
    """Runs `QueryCase`s through one shared `SearchIndex` in one mode; `encode` forgets the
    remembered query vectors before each run, so each is encoded again (a new query)."""

    def __init__(self, index, mode: str, encode: bool = False):
        self.index, self.mode, self.encode = index, mode, encode

    def run(self, case: QueryCase) -> tuple[int, list[str]]:
        """(total matches, NCT IDs on the requested page); raises when a meaning mode fell
        back to the words."""
        if self.encode:
            self.index.meaning.forget_query_vectors()  # what a new query costs
        result = self.index.search(case.app_text(), filters=case.app_filters() or None,
                                   sort=case.sort, page=case.page, per_page=PER_PAGE,
                                   facets=case.facet_counts, highlights=True, mode=self.mode)
        if self.mode != "keyword" and plain_words(case) and result.mode != self.mode:
            raise RuntimeError(f"{case.describe()} ran as {result.mode}, not {self.mode}: "
                               + "; ".join(result.notices))
        return result.total, [hit.nct_id for hit in result.hits]


def plain_words(case: QueryCase) -> bool:
    """Whether the meaning side reads this case (plain words, no syntax)."""
    from indexer.search.query import meaning_text

    return meaning_text(case.app_text()) is not None


def _subset(cases: _Cases, keep) -> dict:
    chosen = [i for i, case in enumerate(cases.cases) if keep(case)]
    if not chosen:
        return {}
    wall = [ms for i in chosen for ms in cases.wall[i]]
    cpu = [ms for i in chosen for ms in cases.cpu[i]]
    return {**summarize(wall), "cpu": summarize(cpu), "queries": len(chosen)}


def mode_latency(root: Path, rounds: int) -> dict:
    """The query mix and the filter cases in each mode, interleaved round by round: per mode
    the plain-words cases (which every mode runs), the whole mix (keyword and hybrid: the
    cases with syntax run on the words) and the filter cases; the meaning modes also with
    the query vector encoded on every run."""
    from indexer.search.live import SearchIndex

    index = SearchIndex(root)
    index.warm()
    runs = {}
    for mode in MODES:
        mix = MIX if mode != "semantic" else tuple(c for c in MIX if plain_words(c))
        filters = FILTER_CASES if mode != "semantic" else tuple(c for c in FILTER_CASES if plain_words(c))
        runs[mode] = (ModeSession(index, mode), _Cases(mix), _Cases(filters))
    for mode in MODES[1:]:
        runs[mode + " (new query)"] = (ModeSession(index, mode, encode=True),
                                       _Cases(c for c in MIX if plain_words(c)), _Cases(()))
    try:
        for session, mix, _ in runs.values():
            mix.warm_up(session)
        for session, _, filters in runs.values():
            filters.warm_up(session)
        load_before = os.getloadavg()[0]
        for _ in range(rounds):
            for session, mix, filters in runs.values():
                mix.timed_round(session)
                filters.timed_round(session)
        load_after = os.getloadavg()[0]
        meaning_rows = index.meaning.vectors  # how many vectors it searched
    finally:
        index.close()
    out = {"rounds": rounds, "load_avg": [round(load_before, 2), round(load_after, 2)],
           "vectors": meaning_rows, "modes": {}}
    for name, (_, mix, filters) in runs.items():
        summary = mix.summary()
        out["modes"][name] = {
            "plain_words": _subset(mix, plain_words),
            "mix": {**{k: summary[k] for k in ("n", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "cpu")},
                    "queries": len(mix.cases)},
            "filters": _subset(filters, lambda case: True),
            "per_query": summary["per_query"],
        }
    return out
