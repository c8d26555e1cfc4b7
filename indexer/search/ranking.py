"""Ranking a prepared query over one snapshot: the array scorer where it knows the query's
shape, Whoosh's own collector for date sorts and shapes it does not; either way the top hits,
every matching document number (for the total and facet counts) and whether time ran out."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from whoosh import query
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.searching import Results

from .plan import FEW_MATCHES, Plan, partial_notice
from .scoring import OverBudget, top
from .snapshot import Snapshot


@dataclass
class Ranked:
    """The top `limit` hits as Whoosh `Results`, all matches, and whether time ran out; for a
    query of bare words, `coverage`: the share of its concepts (each typed word, or a phrase
    with its expansions) each of the top hits holds (None for other queries)."""

    results: Results
    matched: np.ndarray
    timed_out: bool
    coverage: dict[int, float] | None = None


def rank_words(snapshot: Snapshot, plan: Plan, time_budget: float) -> Ranked:
    """The words side of `plan`, `plan.depth` deep (nothing for meaning alone). Bare words
    that too few studies hold together fall back to the studies holding most of them, and
    the plan notes it."""
    if plan.mode == "semantic":
        return Ranked(Results(snapshot.searcher, plan.query, []), np.zeros(0, dtype=np.int64), False)
    ranked = rank(snapshot, plan.query, plan.allowed, plan.allowed_mask, limit=plan.depth,
                  sortedby=plan.sortedby, deadline=plan.deadline, time_budget=time_budget)
    if plan.loosens and plan.sortedby is None:
        ranked.coverage = dict.fromkeys((docnum for _, docnum in ranked.results.top_n), 1.0)
        if len(ranked.matched) < FEW_MATCHES:
            looser = rank_by_words_held(snapshot, list(plan.query.subqueries), plan.allowed_mask,
                                        limit=plan.depth, deadline=plan.deadline)
            if looser is not None and len(looser.matched) > len(ranked.matched):
                plan.notices.append(partial_notice(plan.request.q, len(ranked.matched)))
                ranked = looser
    return ranked


def by_distance(snapshot: Snapshot, ranked: Ranked, km: np.ndarray, limit: int) -> Ranked:
    """`ranked`'s matches nearest first (ties by document order); hits have no score."""
    ids = ranked.matched
    order = np.lexsort((ids, km[ids]))[:limit]
    results = Results(snapshot.searcher, ranked.results.q, [(None, int(d)) for d in ids[order]])
    return Ranked(results, ids, ranked.timed_out)


def rank(snapshot: Snapshot, q: query.Query, allowed, allowed_mask, *, limit: int,
         sortedby: str | None, deadline: float, time_budget: float) -> Ranked:
    """Rank `q` within the `allowed` documents (a set and a mask, or None for all)."""
    if allowed is not None and not allowed:
        q = query.NullQuery  # Whoosh reads an empty filter set as no filter at all
    if sortedby is None and snapshot.scorer.supports(q):
        return _scored_by_arrays(snapshot, q, allowed_mask, limit, deadline)
    return _collected(snapshot, q, allowed, allowed_mask, limit, sortedby, deadline, time_budget)


def rank_by_words_held(snapshot: Snapshot, clauses: list[query.Query], allowed_mask, *,
                       limit: int, deadline: float) -> Ranked | None:
    """The studies holding any of `clauses` (one per typed word), those holding the most first,
    then by BM25F: what a search shows when no study, or too few, hold every word. None when
    the array scorer cannot score a clause or time runs out (the strict answer stands)."""
    scorer = snapshot.scorer
    if not all(scorer.supports(clause) for clause in clauses):
        return None
    try:
        scored = [scorer.evaluate(clause, deadline) for clause in clauses]
    except OverBudget:
        return None
    ids = np.unique(np.concatenate([clause_ids for clause_ids, _ in scored]))
    held, scores = np.zeros(len(ids)), np.zeros(len(ids))
    for clause_ids, clause_scores in scored:  # each clause's ids are unique and ascending
        at = np.searchsorted(ids, clause_ids)
        held[at] += 1
        scores[at] += clause_scores
    if allowed_mask is not None:
        keep = allowed_mask[ids]
        ids, held, scores = ids[keep], held[keep], scores[keep]
    # Words held first: a study with two of three words outranks any with one.
    order = held * (float(scores.max()) + 1.0 if len(scores) else 1.0) + scores
    score_of = dict(zip(ids.tolist(), scores.tolist()))
    share_of = dict(zip(ids.tolist(), (held / len(clauses)).tolist()))
    best = [(score_of[docnum], docnum) for _, docnum in top(ids, order, limit)]
    return Ranked(Results(snapshot.searcher, query.Or(clauses), best), ids, False,
                  {docnum: share_of[docnum] for _, docnum in best})


def _scored_by_arrays(snapshot: Snapshot, q: query.Query, allowed_mask, limit: int,
                deadline: float) -> Ranked:
    """Every match scored with numpy (see `indexer.search.scoring`)."""
    searcher = snapshot.searcher
    try:
        ids, scores = snapshot.scorer.matches(q, deadline)
    except OverBudget:
        return Ranked(Results(searcher, q, []), np.zeros(0, dtype=np.int64), True)
    if allowed_mask is not None:
        keep = allowed_mask[ids]
        ids, scores = ids[keep], scores[keep]
    return Ranked(Results(searcher, q, top(ids, scores, limit)), ids, False)


def _collected(snapshot: Snapshot, q: query.Query, allowed, allowed_mask, limit: int,
               sortedby: str | None, deadline: float, time_budget: float) -> Ranked:
    """Whoosh's own collector, for sorts and query shapes `_scored_by_arrays` does not handle."""
    searcher = snapshot.searcher
    # Only the top `limit` are scored in full: with no grouping and no matched-term
    # tracking, Whoosh may skip blocks that cannot reach the top.
    collector = searcher.collector(limit=limit, sortedby=sortedby, reverse=bool(sortedby),
                                   filter=allowed)
    timed = TimeLimitCollector(collector, timelimit=time_budget,
                               use_alarm=threading.current_thread() is threading.main_thread())
    timed_out = False
    try:
        searcher.search_with_collector(q, timed)
    except TimeLimit:
        timed_out = True
    # Total and facets come from one unscored pass over the matches.
    matched, cut = snapshot.docsets.matching(q, allowed_mask, deadline)
    return Ranked(timed.results(), matched, timed_out or cut)
