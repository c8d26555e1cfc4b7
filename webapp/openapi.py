"""The OpenAPI 3.1 description of /api. Schemas are JSON Schema 2020-12, so tests validate
real responses against them with `jsonschema`, keeping this document honest."""

from __future__ import annotations

from typing import Any

from indexer.catalog.facets import FACETS, Facet
from indexer.catalog.fields import FIELD_ALIASES
from indexer.catalog.registry import AGE_GROUP, FUNDER_TYPE, SEX
from indexer.search import MAX_PER_PAGE, MAX_RESULT_WINDOW, MODES, SORTS, SearchRequest
from indexer.search.export import COLUMNS, EXPORT_LIMIT
from indexer.search.query import MAX_QUERY_LENGTH
from indexer.search.request import OPERATORS, filter_schema

from .config import MAX_REQUEST_BYTES
from .keep import DOWNLOAD_SETS, DOWNLOAD_TYPES, FEED_ENTRIES, FEED_SETS, FEED_TYPE
from .match_api import MATCH_SCHEMAS, match_operation
from .params import DEFAULT_PLACES, MAX_PLACE_QUERY, MAX_PLACES, NCT_ID_PATTERN

_STR = {"type": "string"}
MATCHED_BY = ("words", "meaning", "both")  # a hit's `matched_by` (indexer.search.results.Hit)
_STR_LIST = {"type": "array", "items": _STR}
_DATE = {"type": ["string", "null"], "format": "date"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_CONTACT_REF = {"$ref": "#/components/schemas/Contact"}
_DEFAULT = SearchRequest()  # the defaults a search takes


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _param(name: str, description: str, schema: dict, where: str = "query", **extra) -> dict:
    return {"name": name, "in": where, "description": description, "schema": schema, **extra}


def _optional(name: str, description: str, schema: dict) -> dict:
    """A query parameter whose empty value (`name=`, as a form sends it) means its default."""
    return _param(name, description, schema, allowEmptyValue=True)


# A place's fields, as `indexer.place_names.Place.to_dict` gives them.
_PLACE_FIELDS = {
    "label": {"type": "string", "description": "`Boston, Massachusetts, US`: name, first-level "
              "division and country code; `near` takes it back."},
    "name": {"type": "string", "description": "The city's name in GeoNames."},
    "admin1": {"type": "string", "description": "Its state, province or region ('' where "
               "GeoNames gives none)."},
    "country": {"type": "string", "pattern": "^[A-Z]{2}$", "description": "ISO 3166 code."},
    "lat": {"type": "number", "minimum": -90, "maximum": 90},
    "lon": {"type": "number", "minimum": -180, "maximum": 180},
    "population": {"type": "integer", "minimum": 0},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What is wrong, in one line."},
                       "param": {"type": "string", "description": "The offending parameter."}},
    },
    "Hit": {
        "type": "object",
        "required": ["nct_id", "title", "status", "sponsor", "score", "highlights", "url", "ctgov_url",
                     "matched_by", "minimum_age", "maximum_age", "sex", "sites", "countries"],
        "properties": {
            "nct_id": {"type": "string", "pattern": "^NCT[0-9]{8}$"},
            "title": _STR, "status": _STR, "sponsor": _STR,
            "score": {"type": ["number", "null"],
                      "description": "BM25F score; null when sorted by date or distance. A study named by "
                                     "its NCT ID in the query scores about 1,000,000 (pinned "
                                     "first). With `mode` hybrid, the fused (reciprocal rank) "
                                     "score; with semantic, the cosine similarity."},
            "phases": _STR_LIST, "study_type": _STR, "conditions": _STR_LIST,
            "first_posted": _DATE, "last_update_posted": _DATE,
            "highlights": {
                "type": "object", "description": "HTML: the record's text escaped, with matched "
                "terms in <mark>. Safe to insert as HTML.",
                "properties": {"title": _STR, "summary": _STR},
            },
            "url": {"type": "string", "format": "uri", "description": "The study page here."},
            "ctgov_url": {"type": "string", "format": "uri"},
            "nearest_site": {
                "type": ["object", "null"],
                "description": "With `near`: the study's nearest site among those that match "
                               "(in the statuses asked for), and how far it is. `geocoded`: "
                               "placed by its city's name, the record giving no coordinates.",
                "required": ["facility", "city", "state", "country", "status", "distance_km",
                             "geocoded"],
                "properties": {**{name: _STR for name in ("facility", "city", "state", "country",
                                                          "status")},
                               "distance_km": {"type": "number", "minimum": 0},
                               "geocoded": {"type": "boolean"}}},
            "minimum_age": {**_STR, "description": "The lower age limit as the registry writes "
                                                    "it (`18 Years`); empty when there is none."},
            "maximum_age": {**_STR, "description": "The upper age limit, likewise."},
            "sex": {"enum": ["", *SEX.values], "description": "The sex the study enrols; empty "
                                                               "when the record does not say."},
            "sites": {"type": "integer", "minimum": 0, "description": "How many sites it lists."},
            "countries": {**_STR_LIST, "description": "The countries of its sites, as the "
                                                      "registry names them."},
            "matched_by": {"enum": list(MATCHED_BY),
                           "description": "How the study matched: `words` (it holds the "
                                          "query's words), `meaning` (its meaning is near the "
                                          "query's, without the words), or `both`."},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "total", "page", "per_page", "took_ms", "results", "facets",
                     "suggestion", "notices", "timed_out", "expansions", "mode",
                     "mode_note", "suggested_filters", "unknown_nct_ids", "place"],
        "properties": {
            "query": _STR,
            "total": {"type": "integer", "minimum": 0,
                      "description": "Studies found; with `mode` hybrid, those found by words "
                                     "or by meaning."},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object", "description": "Counts per facet value, most frequent first, "
                "with `label`, the value as a page shows it. A facet the search filters by counts "
                "under the other filters only, so its other values stay on offer (several values "
                "of one filter: any of them). `country` counts studies with a site in each "
                "country (sites in the statuses asked for, with a status filter); its values are "
                "ISO codes.",
                "additionalProperties": {"type": "array", "items": {
                    "type": "object", "required": ["value", "count", "label"],
                    "properties": {"value": {"type": ["string", "integer"]},
                                   "count": {"type": "integer"},
                                   "label": _STR}}},
            },
            "suggestion": {"type": ["string", "null"], "description": "Did you mean …"},
            "notices": {"type": "array", "items": _STR,
                        "description": "What was capped or ignored to keep the query fast."},
            "timed_out": {"type": "boolean"},
            "expansions": {"type": "array", "items": _STR,
                           "description": "What the query also searched, typed form → "
                           "expansion: abbreviations (`MSC → mesenchymal stem cells`) and "
                           "condition synonyms (`breast cancer → breast neoplasms`), ranked "
                           "below the typed words."},
            "mode_note": {**_STR, "description": "Why a search that could use meaning (no `mode`, "
                          "or hybrid or semantic) was matched by words only: its syntax, a date "
                          "sort, or meaning search unavailable (vectors still being computed, "
                          "say); empty otherwise."},
            "suggested_filters": {
                "type": "array", "description": "Filters the query's words name (`breast cancer "
                "recruiting`: status RECRUITING). The words still search as typed; `query` is "
                "the query string of the search that applies the filter with them taken out.",
                "items": {"type": "object", "required": ["name", "value", "label", "words", "query"],
                          "properties": {name: _STR for name in ("name", "value", "label", "words",
                                                                  "query")}}},
            "unknown_nct_ids": {**_STR_LIST, "description": "NCT IDs typed in `q` that the index "
                                "does not hold (ClinicalTrials.gov may: "
                                "https://clinicaltrials.gov/study/NCT…)."},
            "mode": {"enum": list(MODES),
                     "description": "How the results were matched (see the `mode` parameter): "
                                    "the mode asked for (absent: the server's default), or "
                                    "keyword where they were matched by words alone: a query "
                                    "with syntax, a date sort, or meaning search unavailable "
                                    "(then, when hybrid or semantic was asked for, `notices` "
                                    "says why)."},
            "place": {
                "type": ["object", "null"],
                "description": "With `near`: where distances are measured from. `query` is "
                               "`near` as given; a place typed by name is the GeoNames city "
                               "it names (the most populous of that name in the regions "
                               "given), a point typed as latitude,longitude has null place "
                               "fields. Null without `near`.",
                "required": ["query", *_PLACE_FIELDS],
                "properties": {"query": _STR,
                               **{name: {**schema, "type": [schema["type"], "null"]}
                                  for name, schema in _PLACE_FIELDS.items()
                                  if name not in ("lat", "lon")},
                               "lat": _PLACE_FIELDS["lat"], "lon": _PLACE_FIELDS["lon"]}},
        },
    },
    "Contact": {
        "type": "object", "required": ["name", "role", "phone", "phone_ext", "email"],
        "description": "Whom to ask about the study or a site; '' where the record gives nothing.",
        "properties": {
            "name": _STR,
            "role": {"type": "string", "description": "The registry's role: CONTACT, "
                     "PRINCIPAL_INVESTIGATOR, ... (BACKUP_CONTACT from legacy XML); '' when "
                     "not given."},
            "phone": _STR,
            "phone_ext": {"type": "string", "description": "The extension, as written."},
            "email": _STR},
    },
    "Place": {
        "type": "object", "required": list(_PLACE_FIELDS), "properties": _PLACE_FIELDS,
    },
    "Study": {
        "type": "object", "required": ["nct_id", "title", "status", "url", "ctgov_url"],
        "properties": {
            "nct_id": {"type": "string", "pattern": "^NCT[0-9]{8}$"},
            **{name: _STR for name in (
                "title", "brief_title", "official_title", "acronym", "status", "study_type",
                "brief_summary", "detailed_description", "sponsor", "eligibility_criteria", "sex",
                "minimum_age", "maximum_age", "source_format")},
            **{name: _STR_LIST for name in ("phases", "conditions", "keywords", "interventions",
                                            "collaborators", "locations")},
            **{name: {**_STR_LIST, "description": f"The registry's MeSH terms for the study's {what}."}
               for name, what in (("condition_mesh", "conditions"),
                                  ("intervention_mesh", "interventions"))},
            "condition_mesh_found": {
                "type": "array", "description": "[as found in the record, MeSH term] for the "
                "condition terms where the registry names the words it matched.",
                "items": {"type": "array", "items": _STR, "minItems": 2, "maxItems": 2}},
            "enrollment": {"type": ["integer", "null"]},
            **{name: _DATE for name in ("first_posted", "last_update_posted", "start_date",
                                        "completion_date")},
            "sites": {"type": "array", "items": {
                "type": "object", "description": "A study site; lat/lon where the registry gives them.",
                "properties": {**{name: _STR for name in ("facility", "city", "state", "zip",
                                                          "country", "status")},
                               "lat": {"type": ["number", "null"]},
                               "lon": {"type": ["number", "null"]},
                               "geocoded": {"type": "boolean",
                                            "description": "lat/lon from the city's name."},
                               "contacts": {"type": "array", "items": _CONTACT_REF,
                                            "description": "Whom to ask at this site."}}}},
            "contacts": {"type": "array", "items": _CONTACT_REF,
                         "description": "The study's central contacts."},
            **{name: {"type": ["number", "null"], "description": "Years; null when not limited."}
               for name in ("minimum_age_years", "maximum_age_years")},
            "std_ages": {"type": "array", "items": {"enum": list(AGE_GROUP.values)}},
            "healthy_volunteers": {"type": ["boolean", "null"]},
            "has_results": {"type": ["boolean", "null"]},
            "funder_type": {"enum": ["", *FUNDER_TYPE.values]},
            "extra": {"type": "object", "description": "Every other field of the source record."},
            "url": {"type": "string", "format": "uri"}, "ctgov_url": {"type": "string", "format": "uri"},
        },
    },
    "Health": {
        "type": "object", "required": ["status", "documents", "generation", "built_at", "vectors"],
        "properties": {"status": {"const": "ok"}, "documents": {"type": "integer"},
                       "generation": _STR, "built_at": {"type": ["string", "null"]},
                       "updated_at": {"type": ["string", "null"]},
                       "vectors": {
                           "type": "object",
                           "required": ["studies", "model", "meaning_unavailable", "filling"],
                           "description": "Meaning search: how many studies have a vector so "
                                          "far, from which model, why the hybrid and semantic "
                                          "modes cannot run (null when they can), and how far "
                                          "the vectors being computed have got (null when "
                                          "none are).",
                           "properties": {"studies": {"type": "integer"},
                                          "model": {"type": ["string", "null"]},
                                          "meaning_unavailable": {"type": ["string", "null"]},
                                          "filling": {
                                              "type": ["object", "null"],
                                              "required": ["done", "total"],
                                              "properties": {"done": {"type": "integer"},
                                                             "total": {"type": "integer"}}}}}},
    },
    "BuildReport": {
        "type": "object", "required": ["status", "report"],
        "properties": {"status": {"const": "built"}, "report": {
            "type": "object",
            "required": ["indexed", "deleted", "skipped", "ignored", "seconds", "generation"],
            "properties": {"indexed": {"type": "integer"}, "deleted": {"type": "integer"},
                           "skipped": _STR_LIST, "ignored": _STR_LIST,
                           "seconds": {"type": "number"}, "generation": _STR}}},
    },
    "BuildStarted": {
        "type": "object", "required": ["status", "sources", "check"],
        "properties": {"status": {"const": "started"}, "sources": {"type": "integer"},
                       "check": {"type": "string", "format": "uri",
                                 "description": "Health: its generation changes when built."}},
    },
}


# What the API adds to a filter's description.
_NOTES = {"near": "The response's `place` says which place was used; `/api/places` suggests "
                  "places as a name is typed."}


def _filter(facet: Facet) -> dict:
    """The search parameter that filters by `facet`, made from its declaration."""
    kind = facet.kind
    description = " ".join(filter(None, [kind.describe(facet), _NOTES.get(facet.name)]))
    if kind.closed:
        description += f" Anything else is a 400 naming `{facet.name}`."
    schema = filter_schema(facet.name)
    if not kind.several:
        example = float(facet.example) if schema["type"] == "number" else facet.example
        return _optional(facet.name, description, {**schema, "examples": [example]})
    description += " Repeat for any of several; an empty value filters nothing."
    return _param(facet.name, description, {**schema, "examples": [facet.example.split(",")]},
                  style="form", explode=True)


def _filters() -> list[dict]:
    """The search filters, one per facet."""
    return [_filter(facet) for facet in FACETS]


MODE_DESCRIPTION = (
    "How studies are matched. `keyword`: the studies holding the words. `semantic`: the studies "
    "whose meaning is nearest the query's, read from plain words only: quotes, field scopes, "
    "operators, wildcards or NCT IDs in `q`, or a date sort, are a 400 naming `mode`. `hybrid`: "
    "both, fused by reciprocal rank fusion; `total` counts the studies found either way, and "
    "each hit's `matched_by` says how it was. In hybrid, date sorts and queries with phrases, "
    "field scopes, operators or NCT IDs rank by words. Absent or empty: hybrid where the "
    "index has study vectors, else keyword. Where meaning search is unavailable, hybrid and "
    "semantic run as keyword with a notice. The response's `mode` is the one that ran.")


# gunicorn's page, not the app's: it refuses the request first.
_TOO_LONG = {"414": {"description": "A URL over 8 KB (the server's request line limit); HTML, "
                                    "not JSON."}}
FEED_DESCRIPTION = (
    f"The {FEED_ENTRIES} studies first posted most recently among those the search finds, "
    "newest first: the search page's parameters, less the order, mode and paging, which the "
    "feed sets itself (by first posted date; a date order ranks the studies holding the "
    "words). Each entry has the study's title, a link to its page here, its "
    "ClinicalTrials.gov address as a stable `id`, `published` (first posted), `updated` (last "
    "update posted), its brief summary as plain text and its status as a `category`; the "
    "feed's title says the search in words. Cacheable for 30 s.")
DOWNLOAD_DESCRIPTION = (
    f"Every study the search finds, in its order, up to {EXPORT_LIMIT:,} (the first "
    f"{EXPORT_LIMIT:,}: add words or filters for the others), streamed as it is read: the "
    "search page's parameters, less the paging. A bad parameter is a 400 naming it, before "
    "anything is sent. Cacheable for 30 s.")
DOWNLOADS = (
    ("csv", "CSV", "A header row, then a row per study (RFC 4180), with the columns "
     f"{', '.join(column.header for column in COLUMNS)}. Several values in a cell are joined "
     "with `|`; a cell a spreadsheet would read as a formula (starting with =, +, -, @) "
     "begins with an apostrophe."),
    ("jsonl", "JSON Lines", "A JSON object per line, per study, with the keys "
     f"{', '.join(column.key for column in COLUMNS)}: several values as arrays, a missing "
     "date or address as null."),
)


def _errors(*codes: str) -> dict[str, Any]:
    """The documented error responses among `codes`, all with the Error body."""
    descriptions = {
        "400": "A bad parameter or query syntax; `param` names it.",
        "403": "The request's Origin is not among TRIALSEARCH_WIDGET_ORIGINS.",
        "404": "Not in the index.",
        "503": "No index has been built yet.",
    }
    return {code: _json("Error", descriptions[code]) for code in codes}


def _search_parameters(max_per_page: int) -> list[dict]:
    """The parameters of a search: the query, the field, every filter, the order, the mode and
    paging (`/api/search` takes them all, its feed and downloads fewer)."""
    return [
        _param("q", "Query: words, \"phrases\", field:value, OR, -not, prefix*, "
                    "fuzzy~. Empty or absent: every study. A query that cannot be "
                    "parsed, or has no searchable words, is a 400 naming `q`.",
               {"type": "string", "maxLength": MAX_QUERY_LENGTH}),
        _optional("field", "Search only this field. Empty or absent: all fields.",
                  {"type": "string", "enum": list(FIELD_ALIASES)}),
        *_filters(),
        _optional("sort", "Result order. `distance` (nearest site first) needs "
                  "`near`; without it, it is a 400 naming `sort`.",
                  {"type": "string", "enum": list(SORTS), "default": _DEFAULT.sort}),
        _optional("operator", "How words combine.",
                  {"type": "string", "enum": list(OPERATORS), "default": _DEFAULT.operator}),
        _optional("mode", MODE_DESCRIPTION, {"type": "string", "enum": list(MODES)}),
        _optional("page", f"1-based page; page × per_page may not pass "
                          f"{MAX_RESULT_WINDOW:,} (a 400 naming `page`).",
                  {"type": "integer", "minimum": 1, "maximum": MAX_RESULT_WINDOW,
                   "default": 1}),
        _optional("per_page", "Results per page.",
                  {"type": "integer", "minimum": 1, "maximum": max_per_page,
                   "default": min(_DEFAULT.per_page, max_per_page)}),
    ]


def _without(parameters: list[dict], *names: str) -> list[dict]:
    return [parameter for parameter in parameters if parameter["name"] not in names]


def openapi_spec(server_url: str, max_per_page: int = MAX_PER_PAGE) -> dict[str, Any]:
    """The OpenAPI document, with `server_url` as its server and `max_per_page` as the largest
    page size (TRIALSEARCH_MAX_PER_PAGE)."""
    nct_param = _param("nct_id", "NCT ID, e.g. NCT05871463 (any case).",
                       {"type": "string", "pattern": f"^{NCT_ID_PATTERN}$",
                        "examples": ["NCT05871463"]}, "path", required=True)
    search = _search_parameters(max_per_page)
    return {
        "openapi": "3.1.0",
        "info": {"title": "trialsearch API", "version": "1",
                 "description": "Search clinical-trial study records. Query syntax: see the README."},
        "servers": [{"url": server_url}],
        "paths": {
            "/api/search": {"get": {
                "summary": "Search studies",
                "parameters": search,
                "responses": {"200": _json("SearchResponse", "One page of results."),
                              **_errors("400", "403", "503"), **_TOO_LONG},
            }},
            "/api/search.atom": {"get": {
                "summary": "A search's newest studies, as an Atom feed",
                "description": FEED_DESCRIPTION,
                "parameters": _without(search, *FEED_SETS),
                "responses": {"200": {"description": "An Atom 1.0 feed (RFC 4287).",
                                      "content": {FEED_TYPE: {"schema": _STR}}},
                              **_errors("400", "403", "503"), **_TOO_LONG},
            }},
            **{f"/api/search.{kind}": {"get": {
                "summary": f"Every study a search finds, as {name}",
                "description": f"{DOWNLOAD_DESCRIPTION} {how}",
                "parameters": _without(search, *DOWNLOAD_SETS),
                "responses": {"200": {
                    "description": f"{name}, streamed.",
                    "headers": {"Content-Disposition": {
                        "schema": _STR, "required": True,
                        "description": "`attachment; filename=trialsearch-WORDS."
                                       f"{kind}`: the query's letters and digits."}},
                    "content": {DOWNLOAD_TYPES[kind]: {"schema": _STR}}},
                    **_errors("400", "403", "503"), **_TOO_LONG},
            }} for kind, name, how in DOWNLOADS},
            "/api/match": match_operation(max_per_page),
            "/api/studies/{nct_id}": {"get": {
                "summary": "One study's full record", "parameters": [nct_param],
                "responses": {"200": _json("Study", "The record."),
                              **_errors("400", "403", "404", "503")},
            }},
            "/api/studies/{nct_id}/similar": {"get": {
                "summary": "Studies most like this one",
                "description": "The study's key terms run as one query, fused with the studies "
                               "whose meaning is nearest its own where the index has study "
                               "vectors (`mode` hybrid, else keyword).",
                "parameters": [nct_param, _optional(
                    "limit", "How many.",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10})],
                "responses": {"200": _json("SearchResponse", "Similar studies."),
                              **_errors("400", "403", "404", "503")},
            }},
            "/api/places": {"get": {
                "summary": "Places by the beginning of their name, for `near`",
                "description": "GeoNames cities (5,000 people or more) whose name, or another "
                               "name of theirs, begins with `q` (accents and case aside), most "
                               "populous first; the place `q` names in full leads. Text after "
                               "a comma narrows by country or state (`Paris, T`). Each `label` "
                               "is a value `near` takes.",
                "parameters": [
                    _param("q", "The beginning of a place's name, e.g. `Bos`; blank is a "
                                "400 naming `q`.",
                           {"type": "string", "minLength": 1, "maxLength": MAX_PLACE_QUERY,
                            "examples": ["Bos"]}, required=True),
                    _optional("limit", "How many.",
                              {"type": "integer", "minimum": 1, "maximum": MAX_PLACES,
                               "default": DEFAULT_PLACES}),
                ],
                "responses": {"200": {"description": "The places, most populous first; none "
                                                     "when no name begins so.",
                                      "content": {"application/json": {"schema": {
                                          "type": "array", "maxItems": MAX_PLACES,
                                          "items": {"$ref": "#/components/schemas/Place"}}}}},
                              **_errors("400", "403")},
            }},
            "/api/health": {"get": {
                "summary": "What is being served",
                "responses": {"200": _json("Health", "The live index."), **_errors("403", "503")},
            }},
            "/api/admin/reindex": {"post": {
                "summary": "Rebuild the index from the configured sources",
                "security": [{"bearer": []}],
                "parameters": [_param("wait", "Build before answering.",
                                      {"type": "boolean", "default": False})],
                "responses": {
                    "200": _json("BuildReport", "Built (with wait=true)."),
                    "202": _json("BuildStarted", "Build started in the background."),
                    "400": _json("Error", "`wait` is neither true nor false."),
                    "401": {**_json("Error", "No bearer token."), "headers": {
                        "WWW-Authenticate": {"schema": _STR, "required": True,
                                             "description": "The Bearer scheme."}}},
                    "403": _json("Error", "Wrong token, or admin disabled."),
                    "409": _json("Error", "Another build or update is running."),
                    "413": _json("Error", f"A request body over {MAX_REQUEST_BYTES:,} bytes."),
                    "422": _json("Error", "The sources hold no valid record; the old index "
                                          "still serves."),
                },
            }},
        },
        "components": {"schemas": {**SCHEMAS, **MATCH_SCHEMAS},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
