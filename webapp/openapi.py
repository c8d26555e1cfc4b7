"""The OpenAPI 3.1 description of /api. Schemas are JSON Schema 2020-12, so tests validate
real responses against them with `jsonschema`, keeping this document honest."""

from __future__ import annotations

from typing import Any

from indexer.schema import FACET_FIELDS
from indexer.search import MAX_PER_PAGE, SORTS

from .params import FIELD_CHOICES

_STR = {"type": "string"}
_STR_LIST = {"type": "array", "items": _STR}
_DATE = {"type": ["string", "null"], "format": "date"}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _param(name: str, description: str, schema: dict, where: str = "query", **extra) -> dict:
    return {"name": name, "in": where, "description": description, "schema": schema, **extra}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What is wrong, in one line."},
                       "param": {"type": "string", "description": "The offending parameter."}},
    },
    "Hit": {
        "type": "object",
        "required": ["nct_id", "title", "status", "sponsor", "score", "highlights", "url", "ctgov_url"],
        "properties": {
            "nct_id": {"type": "string", "pattern": "^NCT[0-9]{8}$"},
            "title": _STR, "status": _STR, "sponsor": _STR,
            "score": {"type": ["number", "null"], "description": "BM25F score; null when sorted by date."},
            "phases": _STR_LIST, "study_type": _STR, "conditions": _STR_LIST,
            "first_posted": _DATE, "last_update_posted": _DATE,
            "highlights": {
                "type": "object", "description": "HTML: the record's text escaped, with matched "
                "terms in <mark>. Safe to insert as HTML.",
                "properties": {"title": _STR, "summary": _STR},
            },
            "url": {"type": "string", "format": "uri", "description": "The study page here."},
            "ctgov_url": {"type": "string", "format": "uri"},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "total", "page", "per_page", "took_ms", "results", "facets",
                     "suggestion", "notices", "timed_out"],
        "properties": {
            "query": _STR, "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object", "description": "Counts per facet value, most frequent first.",
                "additionalProperties": {"type": "array", "items": {
                    "type": "object", "required": ["value", "count"],
                    "properties": {"value": {"type": ["string", "integer"]},
                                   "count": {"type": "integer"}}}},
            },
            "suggestion": {"type": ["string", "null"], "description": "Did you mean …"},
            "notices": {"type": "array", "items": _STR,
                        "description": "What was capped or ignored to keep the query fast."},
            "timed_out": {"type": "boolean"},
        },
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
            "enrollment": {"type": ["integer", "null"]},
            **{name: _DATE for name in ("first_posted", "last_update_posted", "start_date",
                                        "completion_date")},
            "extra": {"type": "object", "description": "Every other field of the source record."},
            "url": {"type": "string", "format": "uri"}, "ctgov_url": {"type": "string", "format": "uri"},
        },
    },
    "Health": {
        "type": "object", "required": ["status", "documents", "generation", "built_at"],
        "properties": {"status": {"const": "ok"}, "documents": {"type": "integer"},
                       "generation": _STR, "built_at": {"type": ["string", "null"]},
                       "updated_at": {"type": ["string", "null"]}},
    },
}


def openapi_spec(server_url: str) -> dict[str, Any]:
    """The OpenAPI document, with `server_url` as its server."""
    nct_param = _param("nct_id", "NCT ID, e.g. NCT05871463", {"type": "string"}, "path", required=True)
    filters = [_param(facet, f"Only studies with this {facet} (repeat for any of several).",
                      {"type": "array", "items": _STR}, style="form", explode=True)
               for facet in FACET_FIELDS]
    errors = {"400": _json("Error", "A bad parameter or query syntax; `param` names it."),
              "503": _json("Error", "No index has been built yet.")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "trialsearch API", "version": "1",
                 "description": "Search clinical-trial study records. Query syntax: see the README."},
        "servers": [{"url": server_url}],
        "paths": {
            "/api/search": {"get": {
                "summary": "Search studies",
                "parameters": [
                    _param("q", "Query: words, \"phrases\", field:value, OR, -not, prefix*, fuzzy~",
                           {"type": "string", "maxLength": 1000}),
                    _param("field", "Search only this field.",
                           {"type": "string", "enum": [v for v, _ in FIELD_CHOICES if v]}),
                    *filters,
                    _param("sort", "Result order.", {"type": "string", "enum": list(SORTS)}),
                    _param("operator", "How words combine.", {"type": "string", "enum": ["and", "or"]}),
                    _param("page", "1-based page.", {"type": "integer", "minimum": 1}),
                    _param("per_page", "Results per page.",
                           {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 10}),
                ],
                "responses": {"200": _json("SearchResponse", "One page of results."), **errors},
            }},
            "/api/studies/{nct_id}": {"get": {
                "summary": "One study's full record", "parameters": [nct_param],
                "responses": {"200": _json("Study", "The record."),
                              "404": _json("Error", "Not in the index."), **errors},
            }},
            "/api/studies/{nct_id}/similar": {"get": {
                "summary": "Studies most like this one",
                "parameters": [nct_param, _param("limit", "How many.",
                                                 {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE})],
                "responses": {"200": _json("SearchResponse", "Similar studies."),
                              "404": _json("Error", "Not in the index."), **errors},
            }},
            "/api/health": {"get": {
                "summary": "What is being served",
                "responses": {"200": _json("Health", "The live index."), "503": errors["503"]},
            }},
            "/api/admin/reindex": {"post": {
                "summary": "Rebuild the index from the configured sources",
                "security": [{"bearer": []}],
                "parameters": [_param("wait", "Build before answering.", {"type": "boolean"})],
                "responses": {"200": {"description": "Built (with wait=true)."},
                              "202": {"description": "Build started in the background."},
                              "401": _json("Error", "No bearer token."),
                              "403": _json("Error", "Wrong token, or admin disabled."),
                              "409": _json("Error", "Another build or update is running.")},
            }},
        },
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
