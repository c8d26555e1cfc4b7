"""The JSON API under /api: search, patient mode (`POST /api/match`), study records, similar
studies, places by name (for `near` as it is typed), health, admin reindex.

Every endpoint runs the same search core as the page and the CLI; `openapi.py` documents the
shapes returned here, and a test checks the two agree.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, stream_with_context, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from indexer import IndexLockedError, NoRecordsError, TrialsearchError, build_index
from indexer.catalog.registry import CTGOV_STUDY_URL, shown
from indexer.errors import QueryError
from indexer.index.layout import write_lock
from indexer.model import Study
from indexer.place_names import suggest_places
from indexer.search import MAX_PER_PAGE, SearchRequest
from indexer.search.export import WRITERS, matching_studies, rows
from indexer.search.request import whole_number

from .errors import error_response
from .keep import (
    DOWNLOAD_SETS,
    DOWNLOAD_TYPES,
    FEED_ENTRIES,
    FEED_SETS,
    FEED_TYPE,
    atom_feed,
    download_name,
    index_changed,
    kept_request,
    study_url,
)
from .live_index import get_index
from .match_api import MATCH_MAX_BYTES, match_request
from .openapi import openapi_spec
from .params import DEFAULT_PLACES, MAX_PLACE_QUERY, MAX_PLACES, canonical_nct_id
from .security import limit_body, require_admin_token

bp = Blueprint("api", __name__, url_prefix="/api")
CACHE_SECONDS = 30  # search and record responses: short, so a rebuild shows within half a minute
# The library's lock message suggests --wait, which an API caller has no use for.
INDEX_BUSY = "another build or update is writing the index; try again when it finishes"
# Place suggestions: the gazetteer changes only with the installed GeoNames data, so a day.
PLACES_CACHE_SECONDS = 86400


def study_links(nct_id: str) -> dict[str, str]:
    """Where a study is shown: our page and the registry's."""
    return {"url": study_url(nct_id), "ctgov_url": CTGOV_STUDY_URL.format(nct_id)}


RESPONSE_ORDER = ("query", "total", "page", "per_page", "took_ms", "results", "facets",
                  "suggestion", "notices", "timed_out", "expansions", "mode", "mode_note",
                  "suggested_filters", "unknown_nct_ids", "place")
PRIVATE_RECORD_FIELDS = ("source",)  # a path on the server: not the public's business


def _with_links(result) -> dict[str, Any]:
    data = result.to_dict()
    for hit in data["results"]:
        hit.update(study_links(hit["nct_id"]))
    return {key: data[key] for key in RESPONSE_ORDER}


def _cacheable(response, seconds: int = CACHE_SECONDS):
    response.cache_control.public = True
    response.cache_control.max_age = seconds
    return response


@bp.get("/search")
def search():
    """Ranked, highlighted, faceted results for `q` (see /api/openapi.json)."""
    search_request = SearchRequest.from_query_string(request.args,
                                                     max_per_page=current_app.config["MAX_PER_PAGE"])
    result = get_index().search(search_request)
    return _cacheable(jsonify(_with_links(result)))


@bp.post("/match")
def match():
    """The studies a patient could join, and why, for the description in a JSON body (see
    `match_api`: POST only, so it never lands in a URL; not cacheable)."""
    limit_body(MATCH_MAX_BYTES, "a patient search's body")
    if not request.is_json:
        return error_response(415, 'send a JSON body (Content-Type: application/json): '
                                   '{"description": "A 58-year-old woman ..."}', "body")
    try:
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:  # sent without a Content-Length, and over the limit
        abort(413, description=f"a patient search's body is limited to {MATCH_MAX_BYTES:,} bytes")
    if body is None:
        return error_response(400, "the body is not valid JSON", "body")
    result = get_index().match(match_request(body, current_app.config["MAX_PER_PAGE"]))
    data = result.to_dict()
    for hit in data["results"]:
        hit.update(study_links(hit["nct_id"]))
    response = jsonify(data)
    response.cache_control.no_store = True  # a patient's reading and studies: no cache keeps them
    return response


@bp.get("/search.atom")
def feed():
    """The newest studies a search finds, by first posted date, as an Atom feed."""
    search_request = kept_request(request.args, FEED_SETS, sort="first_posted")
    index = get_index()
    result, studies = matching_studies(index, search_request, FEED_ENTRIES)
    body = atom_feed(search_request, result.total, studies, index_changed(index))
    return _cacheable(Response(body, mimetype=FEED_TYPE))


@bp.get("/search.<kind>")
def download(kind: str):
    """Every study a search finds (up to EXPORT_LIMIT), in its order, as CSV or JSON Lines,
    streamed a page of studies at a time. The first page is searched before the response
    starts, so a bad parameter is a 400 like the search's."""
    if kind not in DOWNLOAD_TYPES:
        raise QueryError(f"no download as '{shown(kind)}': search.csv or search.jsonl (or "
                         "search.atom, the feed)", param="format")
    search_request = kept_request(request.args, DOWNLOAD_SETS)
    _, studies = matching_studies(get_index(), search_request)
    chunks = WRITERS[kind](rows(studies, study_url))
    response = Response(stream_with_context(chunks), mimetype=DOWNLOAD_TYPES[kind])
    response.headers["Content-Disposition"] = f"attachment; filename={download_name(search_request, kind)}"
    return _cacheable(response)


@bp.get("/studies/<nct_id>")
def study(nct_id: str):
    """The full record of one study; 404 when the index does not hold it."""
    canonical = canonical_nct_id(nct_id)
    record: Study | None = get_index().get(canonical)
    if record is None:
        return error_response(404, f"no study {canonical} in the index", "nct_id")
    data = {k: v for k, v in record.to_dict().items() if k not in PRIVATE_RECORD_FIELDS}
    return _cacheable(jsonify({**data, **study_links(canonical)}))


@bp.get("/studies/<nct_id>/similar")
def similar(nct_id: str):
    """Studies most like this one ("more like this")."""
    canonical = canonical_nct_id(nct_id)
    limit = whole_number(request.args, "limit", 10, 1, MAX_PER_PAGE)
    result = get_index().similar(canonical, limit=limit)
    if result is None:
        return error_response(404, f"no study {canonical} in the index", "nct_id")
    return _cacheable(jsonify(_with_links(result)))


@bp.get("/places")
def places():
    """Places whose name begins with `q`, for `near` as it is typed (see /api/openapi.json):
    most populous first, each with the label `near` takes back."""
    q = request.args.get("q", "")
    if not q.strip():
        raise QueryError("q is required: the beginning of a place's name", param="q")
    if len(q) > MAX_PLACE_QUERY:
        raise QueryError(f"q is {len(q)} characters long; the limit is {MAX_PLACE_QUERY}",
                         param="q")
    limit = whole_number(request.args, "limit", DEFAULT_PLACES, 1, MAX_PLACES)
    found = [place.to_dict() for place in suggest_places(q, limit)]
    return _cacheable(jsonify(found), PLACES_CACHE_SECONDS)


@bp.get("/health")
def health():
    """Liveness plus what is being served: document count, generation, build and update times,
    and how far the study vectors have got."""
    stats = get_index().stats()
    response = jsonify(status="ok", documents=stats["documents"], generation=stats["generation"],
                       built_at=stats["built_at"], updated_at=stats["updated_at"],
                       vectors=stats["vectors"])
    response.cache_control.no_store = True
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_spec(request.host_url.rstrip("/"), current_app.config["MAX_PER_PAGE"]))


@bp.post("/admin/reindex")
@require_admin_token
def reindex():
    """Rebuild the index from the configured SOURCES. Answers 202 at once and builds in the
    background (the old index serves until the new one is complete); with `?wait=true` it
    builds before answering, 200 with the build report. 409 while another write runs."""
    config = current_app.config
    sources, path = config["SOURCES"], config["INDEX_PATH"]
    wait = request.args.get("wait", "false")
    if wait not in ("true", "false"):
        raise QueryError("wait must be true or false", param="wait")
    if wait == "true":
        try:
            report = build_index(sources, path)
        except IndexLockedError:
            return error_response(409, INDEX_BUSY)
        except NoRecordsError as exc:
            return error_response(422, str(exc))
        return jsonify(status="built", report=report.to_dict())
    # While a build runs, say so now rather than start one that can only fail in the log (one
    # starting between this check and the thread's still does).
    try:
        with write_lock(Path(path)):
            pass
    except IndexLockedError:
        return error_response(409, INDEX_BUSY)
    logger = current_app.logger

    def rebuild() -> None:
        try:
            report = build_index(sources, path)
            logger.info("reindex: %d studies into %s", report.indexed, report.generation)
        except TrialsearchError as exc:
            logger.error("reindex failed, the old index still serves: %s", exc)

    threading.Thread(target=rebuild, name="trialsearch-reindex", daemon=True).start()
    return jsonify(status="started", sources=len(sources),
                   check=url_for("api.health", _external=True)), 202
