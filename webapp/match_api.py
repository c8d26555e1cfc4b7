"""Patient mode's JSON API, `POST /api/match`: its body, declared once as a JSON Schema (the
view checks each body against it, the OpenAPI document publishes it), the check, and the
request the body makes.

A description travels in the body of a POST, never in a URL, so it stays out of browser
history, proxies' and servers' access logs (which log the request line) and Referer headers;
nothing here logs or stores it, and the response may not be cached (`no-store`). There is no
CSRF token: the endpoint changes nothing, and without CORS headers another site cannot read
what it answers.
"""

from __future__ import annotations

import re
from typing import Any

from indexer.catalog.facets import FACETS, FACETS_BY_NAME
from indexer.errors import QueryError
from indexer.search import MAX_DESCRIPTION, MAX_RESULT_WINDOW, MODES, MatchRequest
from indexer.search.match import MAX_CONDITION_LENGTH, MAX_CONDITIONS
from indexer.search.patient import FEMALE, MALE
from indexer.search.request import DEFAULT_PER_PAGE, filter_schema

# A patient search's body: a description of MAX_DESCRIPTION characters at up to 12 bytes each
# as JSON escapes them (a character outside the BMP as two \\uXXXX), with room for the rest.
MATCH_MAX_BYTES = 256 * 1024
PATIENT_FILTERS = ("age", "sex")  # the patient's own, one value each: they correct the description


def body_schema(max_per_page: int) -> dict[str, Any]:
    """The JSON Schema of `POST /api/match`'s body (`max_per_page`: the server's page size)."""
    facets = {facet.name: {**filter_schema(facet.name), "description": facet.kind.describe(facet)}
              for facet in FACETS if facet.name not in PATIENT_FILTERS}
    return {
        "type": "object", "required": ["description"], "additionalProperties": False,
        "properties": {
            "description": {
                "type": "string", "minLength": 1, "maxLength": MAX_DESCRIPTION, "pattern": r"\S",
                "description": "The patient's case as a clinician writes it: age, sex, conditions, "
                               "history, findings. Over the limit: 413. Read for its age (\"58-year-"
                               "old\", \"aged 70\"), sex (woman, man, girl, boy, he, she), pregnancy "
                               "and the conditions it names; never logged or stored.",
                "examples": ["A 58-year-old woman, nonsmoker, with exertional dyspnea and a left "
                             "lung mass on chest x-ray."]},
            "age": {"type": "number", "minimum": 0,
                    "maximum": FACETS_BY_NAME["age"].kind.high,
                    "description": "The patient's age in years, instead of the description's."},
            "sex": {"enum": [FEMALE, MALE],
                    "description": "The patient's sex, instead of the description's."},
            "age_filter": {"type": "boolean", "default": True,
                           "description": "Keep to studies whose age limits include the patient's "
                                          "age (a study without limits always stays). false "
                                          "lifts it."},
            "sex_filter": {"type": "boolean", "default": True,
                           "description": "Keep to studies that enrol the patient's sex (or do not "
                                          "say). false lifts it."},
            "conditions": {"type": "array", "maxItems": MAX_CONDITIONS,
                           "items": {"type": "string", "maxLength": MAX_CONDITION_LENGTH},
                           "description": "The patient's conditions, instead of those the "
                                          "description names."},
            **facets,
            "mode": {"enum": list(MODES), "description": "As the search's `mode`: absent, hybrid "
                                                         "where the index has study vectors."},
            "page": {"type": "integer", "minimum": 1, "maximum": MAX_RESULT_WINDOW, "default": 1,
                     "description": f"1-based; page × per_page may not pass {MAX_RESULT_WINDOW:,}."},
            "per_page": {"type": "integer", "minimum": 1, "maximum": max_per_page,
                         "default": min(DEFAULT_PER_PAGE, max_per_page)},
        },
    }


def match_request(body: Any, max_per_page: int) -> MatchRequest:
    """The patient search a JSON body asks for. Raises QueryError naming the parameter (the
    body itself as `body`) when it does not fit `body_schema`, or when MatchRequest refuses a
    value (DescriptionTooLong for a description over the limit)."""
    schema = body_schema(max_per_page)
    if not isinstance(body, dict):
        raise QueryError('the body must be a JSON object: {"description": "A 58-year-old woman '
                         '..."}', param="body")
    for name in body:
        if name not in schema["properties"]:
            raise QueryError(f"unknown parameter '{name[:40]}'; the body takes: "
                             f"{', '.join(schema['properties'])}", param="body")
    if "description" not in body:
        raise QueryError("description is required: the patient's case", param="description")
    description = body["description"]
    if not isinstance(description, str):
        raise QueryError("description must be a text: the patient's case", param="description")
    for name, value in body.items():  # MatchRequest says what is wrong with a description
        if name != "description":
            check(value, schema["properties"][name], name)
    filters = {name: body[name] for name in FACETS_BY_NAME if name in body}
    filters.update({name: str(body[name]) for name in PATIENT_FILTERS if name in body})
    return MatchRequest(
        description=description, filters=filters, conditions=body.get("conditions"),
        age_filter=body.get("age_filter", True), sex_filter=body.get("sex_filter", True),
        mode=body.get("mode"), page=int(body.get("page", 1)),
        per_page=int(body.get("per_page", min(DEFAULT_PER_PAGE, max_per_page))))


def check(value: Any, schema: dict[str, Any], name: str) -> None:
    """Raise QueryError naming `name` unless `value` meets `schema`, in the part of JSON Schema
    `body_schema` uses: type, enum, minLength, maxLength, pattern, minimum, maximum, items and
    maxItems."""
    if not _meets(value, schema):
        raise QueryError(f"{name} must be {_expected(schema)}", param=name)


def _meets(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if "enum" in schema:
        return isinstance(value, str) and value in schema["enum"]
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return False
        if kind == "integer" and not float(value).is_integer():
            return False
        return schema.get("minimum", value) <= value <= schema.get("maximum", value)
    if kind == "string":
        return (isinstance(value, str) and schema.get("minLength", 0) <= len(value)
                <= schema.get("maxLength", len(value))
                and ("pattern" not in schema or re.search(schema["pattern"], value) is not None))
    if kind == "array":
        return (isinstance(value, list) and len(value) <= schema.get("maxItems", len(value))
                and all(_meets(item, schema["items"]) for item in value))
    return False


def _expected(schema: dict[str, Any]) -> str:
    """What `schema` asks for, in words."""
    kind = schema.get("type")
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if kind == "boolean":
        return "true or false"
    if kind in ("number", "integer"):
        what = "a whole number" if kind == "integer" else "a number"
        return f"{what} from {schema.get('minimum', 0):g} to {schema.get('maximum', 0):g}"
    if kind == "array":
        return f"a list of at most {schema['maxItems']} values, each {_expected(schema['items'])}"
    form = " in the documented form" if "pattern" in schema else ""
    if "maxLength" in schema:
        return f"a text of at most {schema['maxLength']:,} characters{form}"
    return f"a text{form}"


# -- the OpenAPI document's part (openapi.py adds it) -------------------------------------------
def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_TEXT = {"type": "string"}
_FITS = {"type": ["boolean", "null"]}
MATCH_SCHEMAS: dict[str, Any] = {
    "Condition": {
        "type": "object", "required": ["name", "text", "synonyms"],
        "properties": {
            "name": {**_TEXT, "description": "As the index's studies spell it (\"Hypertension\")."},
            "text": {**_TEXT, "description": "As the description writes it (\"HTN\")."},
            "synonyms": {"type": "array", "items": _TEXT,
                         "description": "Other names the index knows for it."}}},
    "Patient": {
        "type": "object",
        "required": ["age_years", "age_text", "sex", "sex_text", "pregnant", "pregnant_text",
                     "conditions"],
        "description": "What the description says of the patient (or the request corrects: then "
                       "`age_text`, `sex_text` are `as given`). null or '' where it says nothing.",
        "properties": {
            "age_years": {"type": ["number", "null"], "minimum": 0},
            "age_text": {**_TEXT, "description": "The words the age was read from: `58-year-old`."},
            "sex": {"enum": [FEMALE, MALE, None]},
            "sex_text": {**_TEXT, "description": "The word the sex was read from: `woman`, `he`."},
            "pregnant": {"type": "boolean"}, "pregnant_text": _TEXT,
            "conditions": {"type": "array", "items": _ref("Condition")}}},
    "CriterionLine": {
        "type": "object", "required": ["kind", "text", "mentions", "flagged"],
        "properties": {
            "kind": {"enum": ["inclusion", "exclusion", "other"]},
            "text": {**_TEXT, "description": "The line as the registry writes it (plain text)."},
            "mentions": {"type": "array", "items": _TEXT,
                         "description": "What of the patient it mentions: conditions, key terms, "
                                        "pregnancy."},
            "flagged": {"type": "boolean",
                        "description": "An exclusion line: it may rule the patient out."}}},
    "Reasons": {
        "type": "object",
        "required": ["conditions", "age_fits", "age_limits", "sex_fits", "sex", "criteria"],
        "description": "Why the study was found for the patient.",
        "properties": {
            "conditions": {"type": "array", "items": _TEXT,
                           "description": "Its conditions and MeSH terms the patient shares."},
            "age_fits": {**_FITS, "description": "Whether the patient's age is within its limits; "
                                                 "null when the age is not known."},
            "age_limits": {**_TEXT, "description": "`18 to 65 years`, `no age limits`."},
            "sex_fits": {**_FITS, "description": "Whether it enrols the patient's sex."},
            "sex": {"enum": ["", "ALL", FEMALE, MALE],
                    "description": "Whom it enrols ('' when the record does not say)."},
            "criteria": {"type": "array", "items": _ref("CriterionLine"),
                         "description": "Its criteria lines that mention the patient, at most 3 "
                                        "of each kind."}}},
    "MatchResponse": {
        "type": "object",
        "required": ["patient", "filters", "key_terms", "total", "page", "per_page", "took_ms",
                     "results", "notices", "timed_out", "mode", "mode_note", "place"],
        "properties": {
            "patient": _ref("Patient"),
            "filters": {"type": "object", "required": list(PATIENT_FILTERS),
                        "description": "The age and sex the studies were filtered by (null: not "
                                       "filtered, because the description does not say or the "
                                       "filter is lifted).",
                        "properties": {"age": {"type": ["number", "null"]},
                                       "sex": {"enum": [FEMALE, MALE, None]}}},
            "key_terms": {"type": "array", "items": _TEXT,
                          "description": "The description's words that ranked the studies."},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1},
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": {"allOf": [_ref("Hit"), {
                "type": "object", "required": ["reasons"],
                "properties": {"reasons": _ref("Reasons")}}]}},
            "notices": {"type": "array", "items": _TEXT,
                        "description": "An age or sex the description does not give (then no "
                                       "such filter), a filter lifted; then the search's."},
            "timed_out": {"type": "boolean"}, "mode": {"enum": list(MODES)}, "mode_note": _TEXT,
            "place": {"type": ["object", "null"],
                      "description": "With `near`: as the search's `place`."}}},
}


def match_operation(max_per_page: int) -> dict[str, Any]:
    """The OpenAPI path item of `POST /api/match`."""
    error = {"application/json": {"schema": _ref("Error")}}
    return {"post": {
        "summary": "Studies a patient could join, and why",
        "description": "Patient mode: the description's key terms and the conditions it names "
                       "rank the studies with its meaning, as a search does; the age and sex it "
                       "gives keep to the studies whose limits include them (a study that "
                       "states none always stays). POST only: the description stays out of "
                       "URLs and access logs, and is never logged or stored. Not cacheable.",
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": body_schema(max_per_page)}}},
        "responses": {
            "200": {"description": "One page of studies, each with its reasons.",
                    "content": {"application/json": {"schema": _ref("MatchResponse")}}},
            "400": {"description": "A bad value; `param` names it (`body` for the body "
                                   "itself).", "content": error},
            "413": {"description": f"A description over {MAX_DESCRIPTION:,} characters, or a "
                                   f"body over {MATCH_MAX_BYTES:,} bytes.", "content": error},
            "415": {"description": "A body that is not JSON.", "content": error},
            "503": {"description": "No index has been built yet.", "content": error},
        }}}
