"""Every index field, declared once: its name, kind, the BM25F weight bare words search it
with, the names people type before a colon for it, and how its value is taken from a `Study`.

The Whoosh schema and the document of a study (`indexer.index.schema`), the query language's
field names and weights, and the columns the benchmark peers and the SQLite FTS5 baseline
index are all made from `FIELDS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import numpy as np

from ..model import Study
from ..places import country_code, fold
from .registry import STATUS

# The kinds of field (indexer.index.schema makes the Whoosh field of each):
#   key       the study's NCT ID: stored, unique, sortable
#   exact     one exact value (a sponsor's name), sortable
#   keyword   lower-cased registry values, space-separated
#   flag      true, false or nothing
#   list      comma-separated values (conditions, folded place names)
#   prose     text analyzed for search (NLTK tokenizing and stemming), with positions
#   spelling  the words "did you mean" corrects towards, unstemmed
#   date      a date (a datetime at midnight), sortable
#   year      a whole year, sortable
#   bytes     a per-document column of packed bytes (a study's sites)
#   limit     a per-document float column, NaN for none (age limits)
#   record    the whole record as JSON, stored only
KINDS = ("key", "exact", "keyword", "flag", "list", "prose", "spelling", "date", "year", "bytes",
         "limit", "record")


@dataclass(frozen=True)
class Field:
    """One index field."""

    name: str
    kind: str  # one of KINDS
    take: Callable[[Study], Any]  # its value for a study; "" or None: the study has none
    boost: float | None = None  # bare words search it with this BM25F weight (None: they do not)
    aliases: tuple[str, ...] = ()  # what people type before a colon for it (`condition:`)
    # The registry's annotation of a record rather than the record's own text (its MeSH terms):
    # bare words search it at the lowest weight, and the benchmark peers index the record's
    # own text only.
    annotation: bool = False
    sortable: bool = False


def _joined(values: Iterable[str], separator: str = " ; ") -> str:
    return separator.join(filter(None, values))


def _titles(study: Study) -> str:
    return " ".join(filter(None, [study.brief_title, study.official_title, study.acronym]))


def _places(names: Iterable[str]) -> str:
    # Folded and comma-separated (a `list` field splits on commas): `Saint-Étienne` -> `saint etienne`.
    return ",".join(dict.fromkeys(filter(None, map(fold, names))))


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def _day(value) -> datetime | None:
    return datetime.combine(value, time()) if value else None


# Each site of a study, as the `sites` column packs it: coordinates (NaN when unknown), its
# status as an index into STATUS.values plus one (the study's status when the site gives
# none; 0 when neither does), its ISO country code (b"" when unknown) and its place in
# `Study.sites` (so a hit can name its nearest site).
SITE_DTYPE = np.dtype([("lat", "<f4"), ("lon", "<f4"), ("status", "u1"), ("country", "S2"),
                       ("index", "<u2")])
_STATUS_CODES = {status: code for code, status in enumerate(STATUS.values, start=1)}
MAX_SITES = 2**16 - 1  # `index` is two bytes; a study lists at most a few thousand sites


def status_code(status: str) -> int:
    """A status's code in the `sites` column (0 for an unknown one)."""
    return _STATUS_CODES.get(status, 0)


def pack_sites(study: Study) -> bytes | None:
    """The `sites` column value of a study (see SITE_DTYPE); None when it lists no site."""
    if not study.sites:
        return None
    packed = np.zeros(min(len(study.sites), MAX_SITES), dtype=SITE_DTYPE)
    for i, site in enumerate(study.sites[:MAX_SITES]):
        packed[i] = (site.lat if site.lat is not None else np.nan,
                     site.lon if site.lon is not None else np.nan,
                     _STATUS_CODES.get(site.status) or _STATUS_CODES.get(study.status, 0),
                     (country_code(site.country) or "").encode("ascii"), i)
    return packed.tobytes()


def _record(study: Study) -> str:
    return json.dumps(study.to_dict(), ensure_ascii=False, separators=(",", ":"))


FIELDS = (
    Field("nct_id", "key", lambda s: s.nct_id, aliases=("nct", "nct_id", "id"), sortable=True),
    # Bare words search these, a title match counting most (BM25F).
    Field("title", "prose", _titles, boost=3.0, aliases=("title",)),
    Field("condition", "prose", lambda s: _joined(s.conditions), boost=2.0,
          aliases=("condition", "conditions")),
    Field("intervention", "prose", lambda s: _joined(s.interventions), boost=1.5,
          aliases=("intervention", "interventions")),
    Field("summary", "prose", lambda s: s.brief_summary, boost=1.5, aliases=("summary",)),
    Field("keyword", "prose", lambda s: _joined(s.keywords), boost=1.5,
          aliases=("keyword", "keywords")),
    Field("description", "prose", lambda s: s.detailed_description, boost=1.0,
          aliases=("description",)),
    Field("eligibility", "prose", lambda s: s.eligibility_criteria, aliases=("eligibility",)),
    Field("sponsor", "prose", lambda s: _joined([s.sponsor, *s.collaborators]),
          aliases=("sponsor",)),
    # The registry's MeSH terms for the conditions and interventions ("Whooping Cough" for a
    # study that says "Pertussis"), below every field above: a study the registry's
    # annotation alone links to a word ranks below one whose own text says it.
    Field("concept", "prose", lambda s: _joined(dict.fromkeys([*s.condition_mesh, *s.intervention_mesh])),
          boost=0.5, aliases=("concept", "mesh"), annotation=True),
    Field("vocab", "spelling", lambda s: " ".join([_titles(s), s.brief_summary, *s.conditions,
                                                   *s.interventions, *s.condition_mesh,
                                                   *s.intervention_mesh])),
    Field("status", "keyword", lambda s: s.status.lower(), aliases=("status",), sortable=True),
    Field("phase", "keyword", lambda s: " ".join(s.phases).lower(), aliases=("phase",)),
    Field("study_type", "keyword", lambda s: s.study_type.lower(), aliases=("type", "study_type"),
          sortable=True),
    Field("sponsor_name", "exact", lambda s: s.sponsor, sortable=True),
    Field("conditions_facet", "list", lambda s: ",".join(c.replace(",", " ") for c in s.conditions)),
    Field("first_posted", "date", lambda s: _day(s.first_posted), aliases=("first_posted", "posted"),
          sortable=True),
    Field("last_update", "date", lambda s: _day(s.last_update_posted),
          aliases=("last_update", "updated"), sortable=True),
    Field("year", "year", lambda s: s.first_posted.year if s.first_posted else None,
          aliases=("year",), sortable=True),
    Field("city", "list", lambda s: _places(site.city for site in s.sites)),
    Field("state", "list", lambda s: _places(site.state for site in s.sites)),
    Field("sites", "bytes", pack_sites),
    Field("min_age", "limit", lambda s: s.minimum_age_years),
    Field("max_age", "limit", lambda s: s.maximum_age_years),
    Field("age_group", "keyword", lambda s: " ".join(s.std_ages).lower()),
    Field("sex", "keyword", lambda s: s.sex.lower()),
    Field("healthy_volunteers", "flag", lambda s: _flag(s.healthy_volunteers)),
    Field("has_results", "flag", lambda s: _flag(s.has_results)),
    Field("funder_type", "keyword", lambda s: s.funder_type.lower()),
    Field("record", "record", _record),
)
FIELDS_BY_NAME = {field.name: field for field in FIELDS}

# Bare words search these fields with these weights (the query parser's fields).
SEARCH_FIELD_BOOSTS = {field.name: field.boost for field in FIELDS if field.boost}
# The record's own text among them: what the SQLite FTS5 baseline and the benchmark peers
# mirror column for column.
DEFAULT_FIELD_BOOSTS = {name: boost for name, boost in SEARCH_FIELD_BOOSTS.items()
                        if not FIELDS_BY_NAME[name].annotation}
# Fields analyzed as prose (where abbreviations expand).
PROSE_FIELDS = frozenset(field.name for field in FIELDS if field.kind == "prose")
# The record's own prose, in catalog order: the peers' columns.
PEER_COLUMNS = tuple(field.name for field in FIELDS if field.kind == "prose" and not field.annotation)
# Names people type before a colon -> index field.
FIELD_ALIASES = {alias: field.name for field in FIELDS for alias in field.aliases}
