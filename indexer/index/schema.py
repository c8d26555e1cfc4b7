"""The Whoosh schema and the mapping from a `Study` to an index document.

Searchable prose fields use the NLTK analyzer; facet fields hold normalized values (lowercased
enums, exact sponsor names) in columns so facet counts and sorting read columns, not postings.
The whole record is stored as JSON so `get(nct_id)` returns every field without another store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time

from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from ..model import Study
from .analysis import text_analyzer, vocabulary_analyzer

SCHEMA_VERSION = 1

# Bare words search these fields; the weights make a title match count most (BM25F).
DEFAULT_FIELD_BOOSTS = {
    "title": 3.0,
    "condition": 2.0,
    "intervention": 1.5,
    "summary": 1.5,
    "keyword": 1.5,
    "description": 1.0,
}

# Fields analyzed as prose (where abbreviations expand).
PROSE_FIELDS = frozenset({"title", "summary", "description", "condition", "intervention",
                          "keyword", "eligibility", "sponsor"})

# Names users type before a colon -> index field.
FIELD_ALIASES = {
    "title": "title",
    "summary": "summary",
    "description": "description",
    "sponsor": "sponsor",
    "condition": "condition",
    "conditions": "condition",
    "intervention": "intervention",
    "interventions": "intervention",
    "keyword": "keyword",
    "keywords": "keyword",
    "eligibility": "eligibility",
    "status": "status",
    "phase": "phase",
    "type": "study_type",
    "study_type": "study_type",
    "nct": "nct_id",
    "nct_id": "nct_id",
    "id": "nct_id",
    "first_posted": "first_posted",
    "posted": "first_posted",
    "last_update": "last_update",
    "updated": "last_update",
    "year": "year",
}



@dataclass(frozen=True)
class Facet:
    """A field people filter and count by, declared once: the search core's columns and
    filters, the API's parameters and OpenAPI document, the page's filter list and the
    widget's options are all made from `FACETS`."""

    name: str  # the filter parameter (`status=`), the `--filter` key and the facet's key
    field: str  # the index field that holds its values
    label: str  # its heading on the search page
    noun: str  # its values, in the plural, for documentation: "statuses"
    # "enum": the registry's values (see indexer.enums), spellings mapped, shown in capitals;
    # "text": one exact value (a sponsor's name); "year": a four-digit year.
    kind: str
    example: str  # values for documentation, comma-separated
    multi: bool = False  # a study may hold several values (a phase 1/2 study is in both)


FACETS = (
    Facet("status", "status", "Status", "statuses", "enum", "RECRUITING,NOT_YET_RECRUITING"),
    Facet("phase", "phase", "Phase", "phases", "enum", "PHASE2,PHASE3", multi=True),
    Facet("type", "study_type", "Study type", "study types", "enum", "INTERVENTIONAL"),
    Facet("sponsor", "sponsor_name", "Sponsor", "sponsors", "text",
          "National Cancer Institute (NCI)"),
    Facet("year", "year", "First posted", "years first posted", "year", "2023,2024"),
)
FACETS_BY_NAME = {facet.name: facet for facet in FACETS}


def _prose(boost: float = 1.0) -> TEXT:
    # Compounds become several tokens; querying them as a phrase keeps "UC-MSC" precise.
    return TEXT(analyzer=text_analyzer(), phrase=True, field_boost=boost, multitoken_query="phrase")


def build_schema() -> Schema:
    """Create the index schema (one instance per index; analyzers are pickled with it)."""
    return Schema(
        nct_id=ID(stored=True, unique=True, sortable=True),
        title=_prose(),
        summary=_prose(),
        description=_prose(),
        condition=_prose(),
        intervention=_prose(),
        keyword=_prose(),
        eligibility=_prose(),
        sponsor=_prose(),
        vocab=TEXT(analyzer=vocabulary_analyzer(), phrase=False),
        status=KEYWORD(lowercase=True, sortable=True),
        phase=KEYWORD(lowercase=True),
        study_type=KEYWORD(lowercase=True, sortable=True),
        sponsor_name=ID(sortable=True),
        conditions_facet=KEYWORD(commas=True),
        first_posted=DATETIME(sortable=True),
        last_update=DATETIME(sortable=True),
        year=NUMERIC(int, bits=32, sortable=True, signed=False),
        record=STORED(),
    )


def _as_datetime(value) -> datetime | None:
    return datetime.combine(value, time()) if value else None


def study_to_document(study: Study) -> dict:
    """Map a Study to the keyword arguments of `writer.add_document`."""
    titles = " ".join(filter(None, [study.brief_title, study.official_title, study.acronym]))
    doc = {
        "nct_id": study.nct_id,
        "title": titles,
        "summary": study.brief_summary,
        "description": study.detailed_description,
        "condition": " ; ".join(study.conditions),
        "intervention": " ; ".join(study.interventions),
        "keyword": " ; ".join(study.keywords),
        "eligibility": study.eligibility_criteria,
        "sponsor": " ; ".join(filter(None, [study.sponsor, *study.collaborators])),
        "vocab": " ".join([titles, study.brief_summary, *study.conditions, *study.interventions]),
        "status": study.status.lower(),
        "phase": " ".join(study.phases).lower(),
        "study_type": study.study_type.lower(),
        "sponsor_name": study.sponsor,
        "conditions_facet": ",".join(c.replace(",", " ") for c in study.conditions),
        "record": json.dumps(study.to_dict(), ensure_ascii=False, separators=(",", ":")),
    }
    for name, value in (("first_posted", study.first_posted), ("last_update", study.last_update_posted)):
        if value:
            doc[name] = _as_datetime(value)
    if study.first_posted:
        doc["year"] = study.first_posted.year
    # Whoosh rejects empty strings in some field types; drop what is missing.
    return {k: v for k, v in doc.items() if v not in ("", None)}
