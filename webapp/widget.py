"""The embeddable search widget: the script (/widget.js), its documentation page (/widget) and
the iframe alternative (/embed).

The widget takes its options as data- attributes on its script tag; /embed takes the same names
as query parameters, validates them here (400 naming the option) and writes them onto a script
tag of its own. `OPTIONS` is the one list of options: validation and the documentation page
come from it (and the README's table copies it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory, url_for
from werkzeug.datastructures import MultiDict

from indexer.errors import QueryError
from indexer.index.schema import DEFAULT_RADIUS_KM, FACETS, Facet
from indexer.places import MAX_RADIUS_KM
from indexer.search.filters import MAX_AGE_YEARS, NEAR_PATTERN
from indexer.search.live import MODES
from indexer.search.query import MAX_QUERY_LENGTH, resolve_field

from .params import MAX_FILTER_VALUES

bp = Blueprint("widget", __name__)

SCRIPT_MAX_AGE = 3600  # seconds: an hour of caching for a script that rarely changes
# The languages of widget.js's label sets, with the title of /embed in each.
EMBED_TITLES = {"en": "Clinical trial search", "fr": "Recherche d’essais cliniques",
                "es": "Búsqueda de ensayos clínicos", "de": "Suche nach klinischen Studien"}
LANGUAGES = tuple(EMBED_TITLES)
MAX_RESULTS = 20  # results the widget shows at most (widget.js has the same bound)
ENUM_VALUE = re.compile(r"\w{1,40}", re.ASCII)  # RECRUITING, PHASE2, INTERVENTIONAL, ...


def _text(limit: int) -> Callable[[list[str]], str]:
    """Free text of at most `limit` characters."""

    def check(values: list[str]) -> str:
        value = values[-1].strip()
        if len(value) > limit:
            raise ValueError(f"at most {limit} characters")
        return value

    return check


def _one_of(*allowed: str) -> Callable[[list[str]], str]:
    """One value from `allowed`."""

    def check(values: list[str]) -> str:
        value = values[-1].strip().lower()
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return check


def _values(pattern: re.Pattern, what: str) -> Callable[[list[str]], str]:
    """Filter values, repeated or comma-separated, each matching `pattern`; joined by commas as
    the widget reads them."""

    def check(values: list[str]) -> str:
        items = [v.strip() for value in values for v in value.split(",") if v.strip()]
        if len(items) > MAX_FILTER_VALUES or not all(pattern.fullmatch(v) for v in items):
            raise ValueError(f"up to {MAX_FILTER_VALUES} comma-separated {what}")
        return ",".join(dict.fromkeys(items))

    return check


def _field(values: list[str]) -> str:
    """`all` or a field name the query language knows (title, condition, ...)."""
    value = values[-1].strip().lower()
    if value in ("", "all"):
        return value
    try:
        resolve_field(value)
    except QueryError:
        raise ValueError("all, or a field name such as title, summary, condition, "
                         "intervention, sponsor") from None
    return value


def _results(values: list[str]) -> str:
    """A whole number of results from 1 to MAX_RESULTS."""
    value = values[-1].strip()
    if not (value.isdigit() and 1 <= int(value) <= MAX_RESULTS):
        raise ValueError(f"a whole number from 1 to {MAX_RESULTS}")
    return str(int(value))


YEARS = re.compile(r"\d{4}", re.ASCII)
MAX_TEXT_FILTER = 200


@dataclass(frozen=True)
class Option:
    """One widget option: `data-NAME` on the script tag, `NAME=` on /embed."""

    name: str
    accepts: str  # what a person may write, for the documentation
    default: str
    description: str
    # Raw query values -> the attribute value, or ValueError; None where /embed does not take it.
    check: Callable[[list[str]], str] | None
    example: str = ""


def _near(values: list[str]) -> str:
    """A point as latitude,longitude in decimal degrees."""
    value = values[-1].strip()
    if not re.fullmatch(NEAR_PATTERN, value):
        raise ValueError("latitude,longitude in decimal degrees, such as 42.36,-71.06")
    return value


def _number(high: float) -> Callable[[list[str]], str]:
    """A number from 0 to `high`."""

    def check(values: list[str]) -> str:
        value = values[-1].strip()
        if not (re.fullmatch(r"[0-9]{1,5}(\.[0-9]+)?", value) and float(value) <= high):
            raise ValueError(f"a number from 0 to {high:g}")
        return value

    return check


COUNTRY = re.compile(r"[A-Za-z][A-Za-z .'()-]{1,59}", re.ASCII)  # a code or a name without commas
FLAG = re.compile(r"true|false|yes|no|1|0", re.IGNORECASE)


def _facet_option(facet: Facet) -> Option:
    """The widget option that filters by `facet`, made from its declaration."""
    says = facet.description and (f"Only {facet.description}." if facet.description.startswith("studies")
                                  else f"{facet.description[0].upper()}{facet.description[1:]}.")
    if facet.kind in ("text", "place"):  # one value: names such as sponsors' hold commas
        return Option(facet.name, f"one {facet.label.lower()}, up to {MAX_TEXT_FILTER} characters",
                      "any", says or f"Only studies of this {facet.label.lower()} (exactly as shown "
                      "on the study page).", _text(MAX_TEXT_FILTER), facet.example.split(",")[0])
    if facet.kind == "near":
        return Option(facet.name, "latitude,longitude", "anywhere", f"Only {facet.description}. "
                      "Set by the host page (a hospital's own location, say); the widget never "
                      "asks visitors for theirs. Results show the nearest site's distance.",
                      _near, facet.example)
    if facet.kind == "number":
        high = MAX_RADIUS_KM if facet.name == "radius" else MAX_AGE_YEARS
        default = f"{DEFAULT_RADIUS_KM:g}" if facet.name == "radius" else "any"
        return Option(facet.name, f"a number from 0 to {high:g}", default, says, _number(high),
                      facet.example)
    pattern, what = {
        "year": (YEARS, "four-digit years"),
        "flag": (FLAG, "true or false"),
        "country": (COUNTRY, "ISO codes or English names such as US, DE, Germany"),
    }.get(facet.kind, (ENUM_VALUE, f"{facet.noun} such as {facet.example.split(',')[0]}"))
    described = f"ClinicalTrials.gov {facet.noun}" if facet.kind == "enum" else facet.noun
    return Option(facet.name, f"comma-separated {what}", "any",
                  says or f"Only studies with these {described}.", _values(pattern, what),
                  facet.example)


OPTIONS = [
    Option("q", "text", "empty", "A query to run as soon as the widget loads.",
           _text(MAX_QUERY_LENGTH), "exosomes"),
    Option("placeholder", "text, up to 100 characters",
           "“Condition, treatment, sponsor or NCT ID” in the label language",
           "The hint inside the empty search box.", _text(100), "Search our trials"),
    Option("field", "all, title, summary, description, condition, intervention, sponsor, "
           "keyword, eligibility", "all", "The field typed words are searched in.", _field,
           "condition"),
    Option("mode", ", ".join(MODES), "hybrid where the server has study vectors, else keyword",
           "How studies match: keyword, those holding the words; semantic, those nearest in "
           "meaning (plain words only); hybrid, both. Results found by meaning say so.",
           _one_of(*MODES), "keyword"),
    *(_facet_option(facet) for facet in FACETS),
    Option("results", f"1 to {MAX_RESULTS}", "5", "How many results the widget lists; a link "
           "leads to all of them on this server.", _results, "8"),
    Option("theme", "light, dark, auto", "light",
           "Colours; auto follows the visitor's system setting.", _one_of("light", "dark", "auto"),
           "dark"),
    Option("lang", ", ".join(LANGUAGES), "the page's <html lang> if listed, else en",
           "The language of the widget's labels and messages.", _one_of(*LANGUAGES), "fr"),
    Option("link", "study, ctgov", "study", "Where results lead: the study page on this server, "
           "or the record on ClinicalTrials.gov.", _one_of("study", "ctgov"), "ctgov"),
    Option("new-tab", "true, false", "false (true inside an iframe)",
           "Open results in a new tab.", _one_of("true", "false"), "true"),
]
# Only for the script tag: /embed always renders into its own page.
TARGET = Option("target", "a CSS selector", "where the script tag stands",
                "The element to render the widget into, such as #trial-search.", None,
                "#trial-search")


def embed_options(args: MultiDict) -> dict[str, str]:
    """The validated widget options in a query string, as data-attribute names and values.
    Aborts with 400 naming the first invalid option; other parameters are ignored (links
    often carry tracking parameters)."""
    chosen = {}
    for option in OPTIONS:
        values = args.getlist(option.name)
        if not values:
            continue
        try:
            value = option.check(values)
        except ValueError as exc:
            abort(400, description=f"Option '{option.name}' must be {exc}.")
        if value:
            chosen[option.name] = value
    return chosen


@bp.get("/widget.js")
def script():
    """The widget script: cacheable, and loadable (also with crossorigin/SRI) by any site."""
    response = send_from_directory(current_app.static_folder, "widget.js",
                                   mimetype="text/javascript", max_age=SCRIPT_MAX_AGE)
    response.cache_control.public = True
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Other sites load this as a script; a same-origin resource policy would block that.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/widget")
def docs():
    """The documentation page: live demo, the snippets to copy, every option explained."""
    script_url = url_for("widget.script", _external=True)
    embed_url = url_for("widget.embed", _external=True, status="RECRUITING", results="8")
    # Built here and escaped by the template, so the page shows the markup as text.
    snippets = {
        "script": f'<script src="{script_url}" data-trialsearch></script>',
        "options": (f'<div id="trial-search"></div>\n<script src="{script_url}" data-trialsearch '
                    'data-target="#trial-search"\n  data-status="RECRUITING" data-results="8" '
                    'data-theme="dark" data-lang="fr"></script>'),
        "near": (f'<script src="{script_url}" data-trialsearch data-status="RECRUITING"\n'
                 '  data-near="42.36,-71.06" data-radius="50" data-age="70" data-sex="FEMALE">'
                 '</script>'),
        "mode": f'<script src="{script_url}" data-trialsearch data-mode="keyword"></script>',
        "iframe": (f'<iframe src="{embed_url}"\n  title="Clinical trial search" width="100%" '
                   'height="560"></iframe>'),
    }
    return render_template("widget_docs.html", options=[TARGET, *OPTIONS], snippets=snippets,
                           origin=request.host_url.rstrip("/"),
                           widget_origins=current_app.config.get("WIDGET_ORIGINS", ()))


@bp.get("/embed")
def embed():
    """The widget alone on a page of this server, options from the query string: for sites
    that allow iframes but not third-party scripts."""
    options = embed_options(request.args)
    lang = options.get("lang", "en")
    return render_template("embed.html", options=options, lang=lang, title=EMBED_TITLES[lang],
                           theme=options.get("theme", "light"))
