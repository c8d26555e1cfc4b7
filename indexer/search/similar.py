"""More like this: the studies that resemble one study, by its key terms and, where the index
has vectors, fused with the studies whose vectors are nearest its own."""

from __future__ import annotations

import numpy as np
from whoosh import query

from ..model import Study
from .fusion import Candidates, Scheme
from .meaning import MeaningSearch, by_words, with_meaning
from .plan import FUSION_DEPTH
from .ranking import Ranked
from .results import Hit, page_of_hits
from .snapshot import Snapshot

# What makes two studies alike: shared conditions and title words more than summary words.
SIMILAR_FIELD_WEIGHTS = {"title": 2.0, "condition": 2.0, "intervention": 1.5, "summary": 1.0}
KEY_TERMS = 8  # per field


def similar_query(searcher, study: Study) -> query.Query:
    """A weighted OR of `study`'s key terms (Bo1 weighting, Whoosh's `key_terms_from_text`) in
    its title, conditions, interventions and summary."""
    texts = {
        "title": " ".join([study.brief_title, study.official_title]),
        "condition": " ; ".join(study.conditions),
        "intervention": " ; ".join(study.interventions),
        "summary": study.brief_summary,
    }
    return query.Or([
        query.Term(fieldname, word, boost=weight * SIMILAR_FIELD_WEIGHTS[fieldname])
        for fieldname, text in texts.items() if text.strip()
        for word, weight in searcher.key_terms_from_text(fieldname, text, numterms=KEY_TERMS)
    ])


def similar_hits(snap: Snapshot, meaning: MeaningSearch, study: Study, limit: int) -> tuple[list[Hit], str]:
    """The `limit` studies most like `study` (itself left out) and how they were found:
    "hybrid" when its vector was fused in (reciprocal rank fusion, no floor), else "keyword"."""
    searcher = snap.searcher
    depth = max(FUSION_DEPTH, limit)
    results = searcher.search(similar_query(searcher, study), limit=depth,
                              mask=query.Term("nct_id", study.nct_id))
    view, _ = meaning.view(snap)
    own = searcher.document_number(nct_id=study.nct_id)
    vector = view.vector_of(own) if view is not None and own is not None else None
    if vector is None:
        return page_of_hits(results, 1, limit, False, None, by_words), "keyword"
    others = snap.scorer.live.copy()
    others[own] = False
    near_ids, _ = view.nearest(vector, others, depth, None)
    words = np.array([docnum for _, docnum in results.top_n], dtype=np.int64)
    union = np.union1d(words, near_ids)
    candidates = Candidates(words, np.array([score for score, _ in results.top_n]), None, near_ids,
                            dict(zip(union.tolist(), view.similarity(vector, union).tolist())))
    fused, matched_by = with_meaning(snap, Ranked(results, words, False), candidates, Scheme("rrf"), limit)
    return page_of_hits(fused.results, 1, limit, False, None, matched_by), "hybrid"
