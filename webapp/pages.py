"""HTML pages: the search page at / and a page per study. Plain GET forms and links, so every
search is a shareable URL and everything works without JavaScript (a study page's map is the
one script, and its list of sites says the same)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_from_directory

from indexer.catalog.facets import FACETS
from indexer.catalog.fields import FIELDS
from indexer.catalog.registry import FUNDER_TYPE, value_label
from indexer.errors import IndexNotFoundError, QueryError
from indexer.model import normalize_nct_id
from indexer.readers.records import split_intervention
from indexer.search import MAX_RESULT_WINDOW, SearchRequest

from .api import CTGOV_STUDY_URL
from .live_index import get_index
from .params import FIELD_CHOICES, FORM_FILTERS, MODE_CHOICES, plain_words
from .study_page import field_label, mailto_href, near_point, study_context, tel_href

bp = Blueprint("pages", __name__)

# The distances the page offers around a place, in km (the default is the catalog's).
DISTANCES = (10, 25, 50, 100, 250, 500)
# Clickable examples on the help page: each teaches one piece of the query syntax.
EXAMPLES = [
    ("exosomes", "words match every form: exosome, Exosomes, EXOSOMES"),
    ('"liver cirrhosis"', "quotes match a phrase"),
    ("title:cirrhosis status:recruiting", "field:value searches one field"),
    ("MSC", "abbreviations also find their long form"),
    ("asthma OR copd", "OR widens; words are ANDed by default"),
    ("diabetes -insulin", "a minus excludes a word"),
    ("transplant*", "a star matches word endings"),
    ("first_posted:>2023-01-01", "dates compare with > and <"),
]
SIMILAR_SHOWN = 5
PAGES_AROUND = 3  # page links shown either side of the current page
ICON_MAX_AGE = 86400  # seconds: a day, so browsers do not ask for the icon on every page view


bp.add_app_template_filter(value_label, "label")
for _helper in (split_intervention, tel_href, mailto_href, field_label):
    bp.add_app_template_global(_helper)
_FLAGS = {"has_results": ("Results posted", "No results posted"),
          "healthy_volunteers": ("Accepts healthy volunteers", "No")}


@bp.app_template_global()
def study_value(study, name: str):
    """What a study page's field row shows (plain text or a list; the template escapes it):
    the age range as written ("18 Years to 64 Years", "18 Years and older"), labels for enums
    and yes/no fields, the enrollment in participants; otherwise the attribute itself. '' or
    None hides the row."""
    if name == "ages":
        low, high = study.minimum_age, study.maximum_age
        if low or high:
            return f"{low} to {high}" if low and high else f"{low} and older" if low else f"up to {high}"
        return "No limits" if study.std_ages else ""
    value = getattr(study, name)
    if name in _FLAGS:
        return None if value is None else _FLAGS[name][0 if value else 1]
    if name == "funder_type":
        return FUNDER_TYPE.label(value) if value else value
    if name in ("std_ages", "phases"):
        return ", ".join(map(value_label, value))
    if name == "enrollment" and value is not None:
        return f"{value:,} participant{'' if value == 1 else 's'}"
    return value_label(value) if name in ("sex", "study_type") and value else value


@bp.app_template_global()
def mesh_query(term: str) -> str:
    """The search for studies the registry gave a MeSH term: `mesh:"Dermatitis, Atopic"`."""
    return f'mesh:"{term.replace(chr(34), " ")}"'


def last_page(total: int, per_page: int) -> int:
    """The last page of `total` results that can be shown: the API serves results up to the
    window of MAX_RESULT_WINDOW (page * per_page <= 10,000), not beyond."""
    return max(1, min(-(-total // per_page), MAX_RESULT_WINDOW // per_page))


@bp.get("/")
def search():
    """The search page: box, field selector, facets, results, pagination, or the empty state."""
    args = _page_args(request.args)
    search_request = SearchRequest(q=args.get("q", "")[:1000])  # until the whole one is read
    result, error, searched_words = None, None, None
    try:
        search_request = _page_request(args)
        if search_request.q.strip() or search_request.filters:
            result = get_index().search(search_request)
    except QueryError as exc:
        error = exc
        # A syntax slip should not leave a person with nothing: say what is wrong, and search
        # the plain words meanwhile (also when meaning alone was asked for, which reads plain
        # words only).
        searched_words = plain_words(args.get("q", "")) if exc.param in ("q", "mode") else None
        if searched_words:
            try:
                search_request = _page_request(args, q=searched_words)
                result = get_index().search(search_request)
            except QueryError:
                result, searched_words = None, None
    return render_template(
        "search.html", request_=search_request, result=result, error=error,
        searched_words=searched_words, pages_around=PAGES_AROUND, result_window=MAX_RESULT_WINDOW,
        last_page=last_page(result.total, result.per_page) if result else 1,
        field_choices=FIELD_CHOICES, facets=[facet for facet in FACETS if facet.counted],
        form_filters=FORM_FILTERS, mode_choices=MODE_CHOICES, distances=DISTANCES,
        documents=_documents() if result is None and error is None else None,
        ctgov_study_url=CTGOV_STUDY_URL,
    )


@bp.get("/help")
def help():
    """Search tips: what the box understands, with examples that work on this index."""
    return render_template("help.html", examples=EXAMPLES,
                           field_names=[field.aliases for field in FIELDS if field.aliases])


def _documents() -> int | None:
    """How many studies the index holds, for the first screen; None before any is built (the
    first screen needs no index)."""
    try:
        return get_index().searcher().doc_count()
    except IndexNotFoundError:
        return None


def _page_request(args, **changes) -> SearchRequest:
    """The request the page's query string asks for, with `changes` to its parameters."""
    if changes:
        args = args.copy()
        for name, value in changes.items():
            args[name] = value
    return SearchRequest.from_query_string(args, max_per_page=current_app.config["MAX_PER_PAGE"])


def _page_args(args):
    """The page's query string as a search request reads it. The form always sends a
    distance, which means nothing without a place; and meaning alone ranks by meaning (the
    API refuses a date order), while the form keeps the order of the words search the Match
    selector switched from: the page asks for relevance instead."""
    args = args.copy()
    if not args.get("near", "").strip():
        args.poplist("radius")
    if args.get("mode") == "semantic" and args.get("sort") not in (None, "", "relevance", "distance"):
        args["sort"] = "relevance"
    return args


@bp.get("/favicon.ico")
def favicon():
    """The site icon, where browsers look for it without a <link rel=icon> (the SVG the pages
    link: browsers read it by its content type, whatever the name)."""
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=ICON_MAX_AGE)


@bp.get("/study/<nct_id>")
def study(nct_id: str):
    """One study for a patient (see `study_page`): at a glance, who can join, where, whom to
    contact, the rest of the record, a link to ClinicalTrials.gov and similar studies. A
    results page's `near=lat,lon` adds each site's distance."""
    canonical = normalize_nct_id(nct_id)
    record = get_index().get(canonical) if canonical else None
    if record is None:
        return _no_such_study(canonical)
    similar = get_index().similar(canonical, limit=SIMILAR_SHOWN)
    return render_template(
        "study.html", study=record, similar=similar.hits if similar else [],
        ctgov_url=CTGOV_STUDY_URL.format(canonical),
        **study_context(record, near_point(request.args.get("near"))),
    )


def _no_such_study(canonical: str | None):
    """The 404 page for a study the index does not hold: where the ID is one, a link to the
    registry's page, which may well have it."""
    if canonical is None:
        return render_template("error.html", status=404, message=(
            "That is not an NCT ID: an NCT ID is NCT followed by 8 digits, like NCT05871463.")), 404
    return render_template(
        "error.html", status=404, message=f"{canonical} is not in this index.",
        ctgov_url=CTGOV_STUDY_URL.format(canonical), nct_id=canonical), 404
