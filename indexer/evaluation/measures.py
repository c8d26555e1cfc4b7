"""Scoring with ir-measures (trec_eval's definitions, none hand-written): the measures reported,
what counts as relevant for each, per-topic and mean scores, and the published reference points
printed beside them for context.
"""

from __future__ import annotations

from ..errors import TrialsearchError
from .topics import ELIGIBLE

# nDCG@10 uses the grades as gains (eligible 2, excluded 1), as the TREC CT overviews do; the
# others count only eligible trials as relevant, as `trec_eval -l 2` (Pyserini's P@10 and RR).
MEASURES = {  # name -> ir-measures' spelling
    "nDCG@10": "nDCG@10",
    "P@10": f"P(rel={ELIGIBLE})@10",
    "RR": f"RR(rel={ELIGIBLE})",
    "R@100": f"R(rel={ELIGIBLE})@100",
}
RELEVANCE_NOTE = ("nDCG@10 uses graded gains (eligible 2, excluded 1, not relevant 0); "
                  "P@10, RR and R@100 count only eligible (2) trials as relevant (trec_eval -l 2).")

# Published full-corpus nDCG@10 on TREC CT 2021 (375,580 trials, all 75 topics): Pyserini's
# Lucene BM25 and BM25+RM3 on the full topic text, and the median of the 113 submitted runs.
REFERENCE_NDCG10_TREC2021 = {"BM25": 0.2923, "BM25+RM3": 0.3539, "median run": 0.3417}
REFERENCE_NOTE = ("Published TREC 2021 full-corpus nDCG@10 (375,580 trials, all 75 topics; "
                  "context only, not comparable to judged-pool scores): "
                  + ", ".join(f"{k} {v:.4f}" for k, v in REFERENCE_NDCG10_TREC2021.items()))


def score_run(qrels: dict[str, dict[str, int]], run: dict[str, list[str]]
              ) -> dict[str, dict[str, float]]:
    """Per-topic metrics of `run` (topic -> NCT IDs best first) with ir-measures. Every topic
    of `run` gets a value: one that retrieved nothing scores 0 (trec_eval -c)."""
    # Scores from ranks, so ties cannot reorder what the system ranked.
    scored = {topic: {nct_id: float(len(ids) - rank) for rank, nct_id in enumerate(ids)}
              for topic, ids in run.items() if ids}
    ir_measures = require_ir_measures()
    names = {ir_measures.parse_measure(spec): name for name, spec in MEASURES.items()}
    per_topic = {topic: dict.fromkeys(MEASURES, 0.0) for topic in run}
    wanted = {topic: qrels[topic] for topic in run}
    for metric in ir_measures.iter_calc(list(names), wanted, scored):
        per_topic[metric.query_id][names[metric.measure]] = metric.value
    return per_topic


def require_ir_measures():
    """The ir-measures module. Raises TrialsearchError saying how to install it: only
    evaluation needs it, so it is an extra, not a dependency of every install."""
    try:
        import ir_measures
    except ImportError:
        raise TrialsearchError("scoring needs ir-measures, which is not installed: "
                               "pip install 'trialsearch[eval]'") from None
    return ir_measures


def mean_scores(per_topic: dict[str, dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over the topics."""
    count = len(per_topic) or 1
    return {name: sum(scores[name] for scores in per_topic.values()) / count for name in MEASURES}
