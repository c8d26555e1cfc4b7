"""The Whoosh schema and the mapping from a `Study` to an index document.

Searchable prose fields use the NLTK analyzer; facet fields hold normalized values (lowercased
enums, exact sponsor names) in columns so facet counts and sorting read columns, not postings.
The whole record is stored as JSON so `get(nct_id)` returns every field without another store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time

import numpy as np
from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from ..enums import STATUSES
from ..model import Study
from ..places import country_code, fold
from .analysis import text_analyzer, vocabulary_analyzer

SCHEMA_VERSION = 3  # 2: sites, ages and the eligibility and results fields; 3: concept

# Bare words search these fields; the weights make a title match count most (BM25F).
DEFAULT_FIELD_BOOSTS = {
    "title": 3.0,
    "condition": 2.0,
    "intervention": 1.5,
    "summary": 1.5,
    "keyword": 1.5,
    "description": 1.0,
}

# Bare words also search the registry's MeSH terms for a study's conditions and interventions
# ("Whooping Cough" for a study that says "Pertussis"), weighted below every field above: a
# study the registry's annotation alone links to a word ranks below one whose own text says
# it. Kept apart from DEFAULT_FIELD_BOOSTS, which the FTS5 baseline (evaluation/fts5.py) and
# the benchmark peers mirror column for column; SEARCH_FIELD_BOOSTS is what the parser uses.
CONCEPT_FIELD_BOOSTS = {"concept": 0.5}
SEARCH_FIELD_BOOSTS = {**DEFAULT_FIELD_BOOSTS, **CONCEPT_FIELD_BOOSTS}

# Fields analyzed as prose (where abbreviations expand).
PROSE_FIELDS = frozenset({"title", "summary", "description", "condition", "intervention",
                          "keyword", "eligibility", "sponsor", "concept"})

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
    "concept": "concept",
    "mesh": "concept",
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
    """A filter people search by, declared once: the search core's columns and filters, the
    API's parameters and OpenAPI document, the page's filter list, the CLI's `--filter` keys
    and the widget's options are all made from `FACETS`. Most are counted too (facets)."""

    name: str  # the filter parameter (`status=`), the `--filter` key and the facet's key
    field: str  # the index field (or column) that holds its values
    label: str  # its heading on the search page
    noun: str  # its values, in the plural, for documentation: "statuses"
    # "enum": the registry's values (see indexer.enums), spellings mapped, shown in capitals;
    # "text": one exact value (a sponsor's name); "year": a four-digit year; "flag": true or
    # false; "place": a city or state name (accents and case ignored); "country": an ISO
    # code or a name, held by the study's sites; "near": `lat,lon`; "number": km or years.
    kind: str
    example: str  # values for documentation, comma-separated
    multi: bool = False  # a study may hold several values (a phase 1/2 study is in both)
    counted: bool = True  # counted per value (a facet), not only a filter
    description: str = ""  # what it selects, when the name alone does not say


FACETS = (
    Facet("status", "status", "Status", "statuses", "enum", "RECRUITING,NOT_YET_RECRUITING"),
    Facet("phase", "phase", "Phase", "phases", "enum", "PHASE2,PHASE3", multi=True),
    Facet("type", "study_type", "Study type", "study types", "enum", "INTERVENTIONAL"),
    Facet("sponsor", "sponsor_name", "Sponsor", "sponsors", "text",
          "National Cancer Institute (NCI)"),
    Facet("year", "year", "First posted", "years first posted", "year", "2023,2024"),
    Facet("condition", "conditions_facet", "Condition", "conditions", "text", "COVID-19",
          multi=True),
    Facet("country", "sites", "Country", "countries", "country", "US,DE", multi=True,
          description="studies with a site in the country (ISO 3166 code or English name); "
                      "with a status filter, a site in that status"),
    Facet("state", "state", "State", "states", "place", "Massachusetts", multi=True,
          counted=False, description="studies with a site in the state or region"),
    Facet("city", "city", "City", "cities", "place", "Boston", multi=True, counted=False,
          description="studies with a site in the city"),
    Facet("near", "sites", "Near", "places", "near", "42.36,-71.06", counted=False,
          description="studies with a site within `radius` km of this latitude,longitude "
                      "(decimal degrees); with a status filter, a site in that status"),
    Facet("radius", "sites", "Radius (km)", "distances", "number", "50", counted=False,
          description="the distance `near` reaches, in km (default 50, at most 20000)"),
    Facet("age", "age", "Age", "ages", "number", "70", counted=False,
          description="a person's age in years: studies whose age limits include it "
                      "(a missing limit is no limit)"),
    Facet("age_group", "age_group", "Age group", "age groups", "enum", "CHILD,OLDER_ADULT",
          multi=True),
    Facet("sex", "sex", "Sex", "sexes", "enum", "FEMALE",
          description="FEMALE or MALE: studies that enrol that sex (including those open to "
                      "all); ALL: studies open to all"),
    Facet("healthy_volunteers", "healthy_volunteers", "Healthy volunteers", "answers", "flag",
          "true", description="whether the study accepts healthy volunteers"),
    Facet("has_results", "has_results", "Has results", "answers", "flag", "true",
          description="whether results are posted on ClinicalTrials.gov"),
    Facet("funder_type", "funder_type", "Funder type", "funder types", "enum", "INDUSTRY,NIH",
          description="the lead sponsor's class: INDUSTRY, NIH, FED (other U.S. federal) or "
                      "OTHER"),
)
FACETS_BY_NAME = {facet.name: facet for facet in FACETS}
DEFAULT_RADIUS_KM = 50.0

# Each site of a study, as the `sites` column packs it: coordinates (NaN when unknown), its
# status as an index into STATUSES plus one (the study's status when the site gives none;
# 0 when neither does), its ISO country code (b"" when unknown) and its place in
# `Study.sites` (so a hit can name its nearest site).
SITE_DTYPE = np.dtype([("lat", "<f4"), ("lon", "<f4"), ("status", "u1"), ("country", "S2"),
                       ("index", "<u2")])
_STATUS_CODES = {status: code for code, status in enumerate(STATUSES, start=1)}
MAX_SITES = 2**16 - 1  # `index` is two bytes; a study lists at most a few thousand sites


def pack_sites(study: Study) -> bytes:
    """The `sites` column value of a study (see SITE_DTYPE)."""
    packed = np.zeros(min(len(study.sites), MAX_SITES), dtype=SITE_DTYPE)
    for i, site in enumerate(study.sites[:MAX_SITES]):
        packed[i] = (site.lat if site.lat is not None else np.nan,
                     site.lon if site.lon is not None else np.nan,
                     _STATUS_CODES.get(site.status) or _STATUS_CODES.get(study.status, 0),
                     (country_code(site.country) or "").encode("ascii"), i)
    return packed.tobytes()


def status_code(status: str) -> int:
    """A status's code in the `sites` column (0 for an unknown one)."""
    return _STATUS_CODES.get(status, 0)


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
        concept=_prose(),
        vocab=TEXT(analyzer=vocabulary_analyzer(), phrase=False),
        status=KEYWORD(lowercase=True, sortable=True),
        phase=KEYWORD(lowercase=True),
        study_type=KEYWORD(lowercase=True, sortable=True),
        sponsor_name=ID(sortable=True),
        conditions_facet=KEYWORD(commas=True),
        first_posted=DATETIME(sortable=True),
        last_update=DATETIME(sortable=True),
        year=NUMERIC(int, bits=32, sortable=True, signed=False),
        city=KEYWORD(commas=True),
        state=KEYWORD(commas=True),
        sites=COLUMN(VarBytesColumn()),
        min_age=COLUMN(NumericColumn("f", default=float("nan"))),
        max_age=COLUMN(NumericColumn("f", default=float("nan"))),
        age_group=KEYWORD(lowercase=True),
        sex=KEYWORD(lowercase=True),
        healthy_volunteers=KEYWORD(),
        has_results=KEYWORD(),
        funder_type=KEYWORD(lowercase=True),
        record=STORED(),
    )


def _as_datetime(value) -> datetime | None:
    return datetime.combine(value, time()) if value else None


def _places(names) -> str:
    # Folded and comma-separated (KEYWORD splits on commas): `Saint-Étienne` -> `saint etienne`.
    return ",".join(dict.fromkeys(filter(None, map(fold, names))))


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


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
        "concept": " ; ".join(dict.fromkeys([*study.condition_mesh, *study.intervention_mesh])),
        "vocab": " ".join([titles, study.brief_summary, *study.conditions, *study.interventions,
                           *study.condition_mesh, *study.intervention_mesh]),
        "status": study.status.lower(),
        "phase": " ".join(study.phases).lower(),
        "study_type": study.study_type.lower(),
        "sponsor_name": study.sponsor,
        "conditions_facet": ",".join(c.replace(",", " ") for c in study.conditions),
        "city": _places(site.city for site in study.sites),
        "state": _places(site.state for site in study.sites),
        "sites": pack_sites(study) if study.sites else None,
        "min_age": study.minimum_age_years,
        "max_age": study.maximum_age_years,
        "age_group": " ".join(study.std_ages).lower(),
        "sex": study.sex.lower(),
        "healthy_volunteers": _flag(study.healthy_volunteers),
        "has_results": _flag(study.has_results),
        "funder_type": study.funder_type.lower(),
        "record": json.dumps(study.to_dict(), ensure_ascii=False, separators=(",", ":")),
    }
    for name, value in (("first_posted", study.first_posted), ("last_update", study.last_update_posted)):
        if value:
            doc[name] = _as_datetime(value)
    if study.first_posted:
        doc["year"] = study.first_posted.year
    # Whoosh rejects empty strings in some field types; drop what is missing.
    return {k: v for k, v in doc.items() if v not in ("", None)}
