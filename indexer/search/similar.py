"""More like this: the query for studies that resemble one study."""

from __future__ import annotations

from whoosh import query

from ..model import Study

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
