"""Relevance evaluation on TREC Clinical Trials topics: read topics and judgments, turn each
long patient description into a weighted key-term query, rank with each configuration and
score the rankings with ir-measures (trec_eval underneath), so the metrics are the standard
ones, not hand-written.

Three modes. Full corpus: each configuration ranks the whole index (top `FULL_DEPTH`) and is
scored against every judgment, as TREC did. Whole index, judged in index (`judged_in_index`):
the same ranking, scored only against the judgments of trials the index holds (an unjudged
trial retrieved counts as not relevant), for an index that holds part of the corpus plus
unjudged distractors. Judged pool: each topic's ranking keeps only the trials judged for that
topic (a condensed list), so an index that holds part of the corpus still gives meaningful
numbers, over the judgments it covers.

Long queries (the default) are each patient description's key terms, OR-ed with boosts. Short
queries (`short_queries`, from TrialGPT's `id2queries.json`: `read_short_queries`) are a few
typed words per topic, run as a user types them through `SearchIndex.search` (AND, loosened
when few studies match). Both kinds also run through the live search in each of its modes
(keyword, hybrid, semantic: `live_modes` says which the index supports): the long query as its
key terms OR-ed, with the whole description as the text the meaning side reads.

    topics = read_topics("queries.jsonl"); qrels = read_qrels("qrels.tsv")
    report = evaluate(open_index("index_data"), topics, qrels, pool=True, workdir=tmp)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..search import SearchIndex
from ..search.keyterms import DEFAULT_KEY_TERMS, KeyQuery, fit_query, key_terms
from .baseline import Fts5Baseline, indexed_studies
from .coverage import Coverage, coverage
from .encoders import Encoder
from .measures import REFERENCE_NDCG10_TREC2021, RELEVANCE_NOTE, mean_scores, require_ir_measures, score_run
from .rankers import Ranker, bm25f_ranker, check_modes, live_key_terms_ranker, live_ranker, patient_ranker
from .rerankers import feedback_ranker, hybrid_ranker
from .topics import EvalInputError

# The configurations, each a row of the report.
HYBRID = "hybrid: BM25F + abbreviations, MiniLM, RRF"  # eval-only: re-ranks BM25F's candidates
SHORT_HYBRID = "hybrid: live keyword, MiniLM, RRF"  # the same over the short queries' live ranking
PLAIN = "BM25F"
ABBREVIATIONS = "BM25F + abbreviations"
DEFAULT = "BM25F + abbreviations + feedback (default)"
FTS5 = "SQLite FTS5 bm25"
LIVE_PREFIX = "live: "  # + a search mode (indexer.search.live.MODES): the live search's rows
PATIENT = "live: patient"  # patient mode on the description (SearchIndex.match), age and sex filtering
PATIENT_UNFILTERED = "live: patient, no age/sex filter"


def live_row(mode: str) -> str:
    """The configuration name of the live search in `mode`: "live: hybrid"."""
    return LIVE_PREFIX + mode


@dataclass
class EvalReport:
    """What `evaluate` measured: mean metrics per configuration, coverage, query size, the topics
    each configuration found nothing for; for short queries, the topics skipped for want of
    one."""

    mode: str  # "pool", "full" or "index" (whole index, judged in index)
    means: dict[str, dict[str, float]]  # configuration -> metric -> mean
    per_topic: dict[str, dict[str, dict[str, float]]]  # configuration -> topic -> metric
    coverage: Coverage
    mean_query_terms: float  # key terms per long query; words per short query
    seconds: float
    queries: str = "long"  # "long" (key terms of the description) or "short" (typed)
    short_skipped: list[str] = field(default_factory=list)  # scored topics without a short query
    zero_results: dict[str, list[str]] = field(default_factory=dict)  # configuration -> topics
    short_queries: dict[str, str] = field(default_factory=dict)  # topic -> the query run
    live_modes: list[str] = field(default_factory=list)  # the live search modes scored
    live_unavailable: str = ""  # why the live hybrid and semantic rows are left out, if they are
    row_seconds: dict[str, float] = field(default_factory=dict)  # configuration -> ranking time

    def to_dict(self) -> dict:
        """JSON-ready form, with the relevance levels and the published reference points."""
        data = asdict(self)
        data["relevance"] = RELEVANCE_NOTE
        data["reference_ndcg10_trec2021_full_corpus"] = REFERENCE_NDCG10_TREC2021
        return data


def evaluate(index: SearchIndex, topics: dict[str, str], qrels: dict[str, dict[str, int]], *,
             pool: bool, workdir: str | os.PathLike, key_term_limit: int = DEFAULT_KEY_TERMS,
             encoder: Encoder | None = None, judged_in_index: bool = False,
             short_queries: dict[str, str] | None = None,
             modes: Sequence[str] | None = None) -> EvalReport:
    """Rank every scored topic with each configuration and score the rankings.

    `pool`: rank only each topic's judged trials (see the module docstring). `judged_in_index`
    (not with `pool`): rank the whole index, but score against the judgments of the trials it
    holds only. `workdir`: a scratch folder for the FTS5 baseline's database. `encoder`: also
    rank with the eval-only hybrid (BM25F with abbreviations fused with vector similarity).
    `short_queries` (topic -> typed query): rank those through the live search instead of the
    descriptions' key terms; scored topics without one are skipped and listed. `modes`: the
    live search modes to score (a "live: <mode>" row each; default: all the index supports;
    raises TrialsearchError for one it cannot run).
    """
    if pool and judged_in_index:
        raise ValueError("judged_in_index ranks the whole index; it does not combine with pool")
    in_index = pool or judged_in_index
    mode = "pool" if pool else "index" if judged_in_index else "full"
    started = time.perf_counter()
    require_ir_measures()  # before minutes of ranking, not after
    modes, unavailable = check_modes(index, modes)
    fts = Fts5Baseline(Path(workdir) / "fts5.sqlite")
    try:
        fts.add(indexed_studies(index))
        cover = coverage(topics, qrels, fts.ids, pool=in_index)
        if not cover.topics_judged:
            raise EvalInputError("the qrels judge none of the topics; are they the same year's?")
        if not cover.topics_evaluated:
            raise EvalInputError("no topic has an eligible trial " + (
                "in the index; this mode needs the judged trials' records" if in_index else "judged"))
        if in_index:
            # What is judged and available; it is also what recall is out of. Unjudged trials
            # a whole-index ranking retrieves count as not relevant.
            qrels = {topic: {n: g for n, g in qrels[topic].items() if n in fts.ids}
                     for topic in cover.topics_evaluated}
        if short_queries is not None:
            return _evaluate_short(index, qrels, cover, short_queries, pool=pool, mode=mode,
                                   started=started, modes=modes, unavailable=unavailable,
                                   encoder=encoder)
        with_abbreviations = bm25f_ranker(index, expand_abbreviations=True)
        rankers: dict[str, Ranker] = {
            PLAIN: bm25f_ranker(index, expand_abbreviations=False),
            ABBREVIATIONS: with_abbreviations,
            DEFAULT: feedback_ranker(index, with_abbreviations),
            FTS5: fts.rank,
        }
        if encoder is not None:
            rankers[HYBRID] = hybrid_ranker(index, encoder, with_abbreviations)
        for live_mode in modes:
            rankers[live_row(live_mode)] = live_key_terms_ranker(index, live_mode)
        rankers[PATIENT] = patient_ranker(index, eligibility=True, key_terms=key_term_limit)
        rankers[PATIENT_UNFILTERED] = patient_ranker(index, eligibility=False, key_terms=key_term_limit)
        queries = {topic: fit_query(key_terms(topics[topic], index, key_term_limit), index)
                   for topic in cover.topics_evaluated}
        per_topic, zero, seconds = _score_rankers(rankers, queries, qrels, pool=pool)
    finally:
        fts.close()
    return EvalReport(
        mode=mode, means={name: mean_scores(scores) for name, scores in per_topic.items()},
        per_topic=per_topic, coverage=cover,
        mean_query_terms=sum(len(q.words) for q in queries.values()) / len(queries),
        seconds=round(time.perf_counter() - started, 2), zero_results=zero,
        live_modes=modes, live_unavailable=unavailable, row_seconds=seconds,
    )


def _score_rankers(rankers: dict[str, Ranker], queries: dict, qrels: dict[str, dict[str, int]],
                   *, pool: bool) -> tuple[dict, dict[str, list[str]], dict[str, float]]:
    """Each ranker's per-topic scores on `queries` (topic -> its query), the topics it found
    nothing for, and the seconds it took."""
    per_topic, zero, seconds = {}, {}, {}
    for name, rank in rankers.items():
        began = time.perf_counter()
        run = {topic: rank(query, set(qrels[topic]) if pool else None)
               for topic, query in queries.items()}
        seconds[name] = round(time.perf_counter() - began, 2)
        per_topic[name] = score_run(qrels, run)
        zero[name] = [topic for topic, ids in run.items() if not ids]
    return per_topic, zero, seconds


def _evaluate_short(index: SearchIndex, qrels: dict[str, dict[str, int]], cover: Coverage,
                    short_queries: dict[str, str], *, pool: bool, mode: str, started: float,
                    modes: list[str], unavailable: str, encoder: Encoder | None) -> EvalReport:
    """Score the live search, in each of `modes`, on the short queries of the scored topics
    that have one (and, with `encoder`, the eval-only hybrid over the live keyword ranking)."""
    topics = [topic for topic in cover.topics_evaluated if topic in short_queries]
    skipped = [topic for topic in cover.topics_evaluated if topic not in short_queries]
    if not topics:
        raise EvalInputError("no scored topic has a short query; are the id2queries files the "
                             "same topic sets as the topics files?")

    def typed(live: Callable[..., list[str]]) -> Ranker:
        return lambda key_query, judged: live(key_query.topic, judged)

    rankers: dict[str, Ranker] = {live_row(m): typed(live_ranker(index, m)) for m in modes}
    if encoder is not None:
        rankers[SHORT_HYBRID] = hybrid_ranker(index, encoder, typed(live_ranker(index, "keyword")))
    # The typed text is both the query and what a vector ranker reads.
    queries = {topic: KeyQuery(short_queries[topic].split(), [], short_queries[topic])
               for topic in topics}
    per_topic, zero, seconds = _score_rankers(rankers, queries, qrels, pool=pool)
    return EvalReport(
        mode=mode, means={name: mean_scores(scores) for name, scores in per_topic.items()},
        per_topic=per_topic, coverage=cover,
        mean_query_terms=sum(len(short_queries[t].split()) for t in topics) / len(topics),
        seconds=round(time.perf_counter() - started, 2), queries="short",
        short_skipped=skipped, zero_results=zero,
        short_queries={topic: short_queries[topic] for topic in topics},
        live_modes=modes, live_unavailable=unavailable, row_seconds=seconds,
    )
