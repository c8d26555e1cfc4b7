"""Rankers built on another ranker, both reading the studies' text: one round of
pseudo-relevance feedback (`feedback_ranker`), and the eval-only hybrid that fuses a ranking
with MiniLM vector similarity to the topic (`hybrid_ranker`), reusing the study vectors stored
beside the index where they come from the same model and text (`stored_vectors`).
"""

from __future__ import annotations

from whoosh.classify import Bo1Model, Expander

from ..index.analysis import analyze
from ..search import SearchIndex
from ..search.fusion import reciprocal_rank_fusion
from ..search.keyterms import DROPPED_STEMS, KeyQuery, fit_query
from ..semantic.contract import model_id, study_text, text_hash
from ..semantic.store import VectorStore
from .encoders import Encoder
from .rankers import Ranker

# Pseudo-relevance feedback, RM3's usual depth (Pyserini's fb_docs=10, fb_terms=10). The
# weight of the strongest feedback term, relative to the mean key term, was chosen between
# 0.3 and 0.5 on the shared topics (the README shows both).
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.3


def feedback_query(key_query: KeyQuery, index: SearchIndex, top_ids: list[str]) -> KeyQuery:
    """`key_query` plus the FEEDBACK_TERMS terms that best set the top-ranked studies apart
    from the collection (Bo1 divergence, Whoosh's `Expander`), weighted up to FEEDBACK_WEIGHT:
    one round of pseudo-relevance feedback, which brings in the trial vocabulary ("inclusion",
    drug names) that a patient description lacks."""
    expander = Expander(index.searcher().reader(), "summary", model=Bo1Model)
    for nct_id in top_ids:
        study = index.get(nct_id)
        if study is not None:
            expander.add_text(study_text(study))
    present = set(analyze(" ".join(key_query.words)))
    extra = [(term, weight) for term, weight in
             expander.expanded_terms(FEEDBACK_TERMS + len(present))
             if term not in present and term not in DROPPED_STEMS and len(term) > 2
             and not term.isdigit()][:FEEDBACK_TERMS]
    if not extra:
        return key_query
    strongest = max(weight for _, weight in extra)
    return KeyQuery(key_query.words + [term for term, _ in extra],
                    key_query.weights + [FEEDBACK_WEIGHT * weight / strongest for _, weight in extra],
                    key_query.topic)


def feedback_ranker(index: SearchIndex, base: Ranker) -> Ranker:
    """`base` run on the query expanded by feedback from its own first FEEDBACK_DOCS results
    (of the whole index: feedback must not peek at the judgments)."""

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        first = base(key_query, None)[:FEEDBACK_DOCS]
        return base(fit_query(feedback_query(key_query, index, first), index), judged)

    return rank


def stored_vectors(index: SearchIndex, encoder) -> tuple[dict, dict]:
    """The index's stored study vectors (`trialsearch vectors`) when they come from `encoder`'s
    model: NCT ID -> vector and NCT ID -> the hash of the text it was computed from; else two
    empty dicts. They are what `encoder` would compute, so the hybrid need not encode again."""
    model = getattr(encoder, "model", None)
    if model is None or not hasattr(model, "source") or not VectorStore.exists(index.path):
        return {}, {}
    store = VectorStore(index.path, readonly=True)
    try:
        if store.model != model_id(model):
            return {}, {}
        vectors = {nct_id: vector for _, nct_ids, rows in store.rows_since(0)
                   for nct_id, vector in zip(nct_ids, rows)}
        return vectors, store.hashes()
    finally:
        store.close()


def hybrid_ranker(index: SearchIndex, encoder: Encoder, base: Ranker) -> Ranker:
    """Reciprocal rank fusion of `base` and the candidates ranked by cosine similarity to the
    topic description. Candidates: in pool mode the topic's judged trials (a vector ranker
    reaches every document), else `base`'s top FULL_DEPTH, re-ranked (the live hybrid, by
    contrast, also brings in the studies nearest in meaning from the whole index). Study vectors
    stored beside the index are used where they come from the same model and text; the rest are
    encoded here."""
    vectors: dict = {}  # NCT ID -> vector, shared by all topics
    stored: tuple[dict, dict] | None = None

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        nonlocal stored
        lexical = base(key_query, judged)
        candidates = sorted(judged) if judged is not None else lexical
        new = [nct_id for nct_id in candidates if nct_id not in vectors]
        if new:
            if stored is None:
                stored = stored_vectors(index, encoder)
            texts = {nct_id: study_text(index.get(nct_id), index.abbreviations) for nct_id in new}
            saved, hashes = stored
            for nct_id, text in texts.items():
                if nct_id in saved and hashes.get(nct_id) == text_hash(text):
                    vectors[nct_id] = saved[nct_id]
            new = [nct_id for nct_id in new if nct_id not in vectors]
            if new:
                vectors.update(zip(new, encoder.encode([texts[nct_id] for nct_id in new])))
        if not candidates:
            return []
        topic_vector = encoder.encode([key_query.topic])[0]
        dense = sorted(candidates, key=lambda nct_id: -float(vectors[nct_id] @ topic_vector))
        return reciprocal_rank_fusion([lexical, dense])

    return rank
