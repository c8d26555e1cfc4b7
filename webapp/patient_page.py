"""The "Describe a patient" page, `/patient`: a large text box for a patient's description,
then what it says (age, sex, pregnancy, conditions) as chips a person can correct or lift, and
the studies the patient could join with the reasons (`SearchIndex.match`).

The description is sent with POST only, so it never appears in a URL (nor in browser history,
access logs or Referer headers), and paging re-sends the form with POST buttons. Nothing logs or
stores it. There is no CSRF token: the page changes nothing on the server, and a forged POST
from another site could only show a visitor search results. Works without JavaScript.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from indexer.catalog.facets import FACETS_BY_NAME
from indexer.errors import QueryError
from indexer.search import MAX_DESCRIPTION, MAX_RESULT_WINDOW, DescriptionTooLong, MatchRequest
from indexer.search.patient import read_patient
from indexer.search.request import whole_number

from .live_index import get_index
from .match_api import MATCH_MAX_BYTES
from .pages import DISTANCES, last_page
from .security import limit_body

bp = Blueprint("patient", __name__)
PER_PAGE = 10
OPEN = "open"  # the status filter's "recruiting or not yet recruiting"


def chips_key(description: str) -> str:
    """What the chips on a page were read from (a digest of the description), so an edited
    description is read afresh instead of under the chips of the old one."""
    return hashlib.sha256(description.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@bp.get("/patient")
def form():
    """The empty page: the box, the options and what happens to a description."""
    return _page()


@bp.post("/patient")
def results():
    """The studies for the posted description (see the module docstring)."""
    limit_body(MATCH_MAX_BYTES, "a patient search")
    try:
        form = request.form
    except RequestEntityTooLarge:  # sent without a Content-Length, and over the limit
        abort(413, description=f"a patient search is limited to {MATCH_MAX_BYTES:,} bytes")
    description = form.get("description", "")
    try:
        match_request = page_request(form)
        result = get_index().match(match_request)
    except DescriptionTooLong as exc:
        return _page(description, error=exc), 413
    except QueryError as exc:
        return _page(description, error=exc), 400
    return _page(description, match_request, result)


def page_request(form) -> MatchRequest:
    """The patient search the page's form asks for. Where the chips were read from this very
    description, their values correct it: an age or sex changed from what it says, the age or
    sex filter unticked, conditions unticked or added. Raises QueryError naming the field."""
    description = form.get("description", "")
    filters: dict[str, list[str]] = {}
    if form.get("status") == OPEN:
        filters["status"] = [OPEN]
    if form.get("near", "").strip():
        filters["near"] = [form["near"]]
        filters["radius"] = [form.get("radius") or f"{FACETS_BY_NAME['radius'].kind.default:g}"]
    options = {}
    if form.get("chips_for") == chips_key(description):
        read = read_patient(description)
        age, sex = form.get("age", "").strip(), form.get("sex", "")
        if age and (read.age_years is None or age != f"{read.age_years:g}"):
            filters["age"] = [age]
        if sex and sex != read.sex:
            filters["sex"] = [sex]
        shown, kept = form.getlist("condition_shown"), form.getlist("condition")
        added = " ".join(form.get("condition_add", "").split())
        if kept != shown or added:
            options["conditions"] = [*kept, *([added] if added else [])]
        options.update(age_filter="age_filter" in form, sex_filter="sex_filter" in form)
    page = whole_number(form, "page", 1, 1, MAX_RESULT_WINDOW // PER_PAGE)
    return MatchRequest(description=description, filters=filters, page=page, per_page=PER_PAGE,
                        **options)


def _page(description: str = "", match_request: MatchRequest | None = None, result=None,
          error: QueryError | None = None):
    return render_template(
        "patient.html", description=description, request_=match_request, result=result,
        error=error, max_description=MAX_DESCRIPTION, distances=DISTANCES,
        chips_for=chips_key(description) if result else "", open_value=OPEN,
        last_page=last_page(result.search.total, PER_PAGE) if result else 1,
        near=request.form.get("near", "") if request.method == "POST" else "",
        radius=request.form.get("radius", "") if request.method == "POST" else "",
        open_only=request.form.get("status") == OPEN if request.method == "POST" else True,
        matches=list(zip(result.hits, result.reasons)) if result else [])
