"""The embeddable search widget: the script (/widget.js), its documentation page (/widget) and
the iframe alternative (/embed).

The widget takes its options as data- attributes on its script tag; /embed takes the same names
as query parameters, validates them here (400 naming the option) and writes them onto a script
tag of its own. `OPTIONS` is the one list of options: validation and the documentation page
come from it (and the README's table copies it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from indexer.catalog.facets import FACETS, Facet
from indexer.errors import QueryError
from indexer.search import MODES
from indexer.search.query import MAX_QUERY_LENGTH, resolve_field
from indexer.search.request import MAX_FILTER_VALUES

bp = Blueprint("widget", __name__)

SCRIPT_MAX_AGE = 3600  # seconds: an hour of caching for a script that rarely changes
# The languages of widget.js's label sets, with the title of /embed in each.
EMBED_TITLES = {"en": "Clinical trial search", "fr": "Recherche d’essais cliniques",
                "es": "Búsqueda de ensayos clínicos", "de": "Suche nach klinischen Studien"}
LANGUAGES = tuple(EMBED_TITLES)
MAX_RESULTS = 20  # results the widget shows at most
DEFAULT_RESULTS = 5
THEMES = ("light", "dark", "auto")
LINKS = ("study", "ctgov")


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


def _one(pattern: re.Pattern, what: str) -> Callable[[list[str]], str]:
    """One value matching `pattern`."""

    def check(values: list[str]) -> str:
        value = values[-1].strip()
        if value and not pattern.fullmatch(value):
            raise ValueError(what)
        return value

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


# What the widget adds to a filter's description.
_NOTES = {"near": "Set by the host page (a hospital's own city or coordinates, say); the widget "
                  "never asks visitors for theirs. Results show the nearest site's distance; a "
                  "name the server does not know is shown as its error, with places spelled "
                  "like it."}


def _facet_option(facet: Facet) -> Option:
    """The widget option that filters by `facet`, made from its declaration."""
    kind = facet.kind
    pattern = re.compile(kind.pattern, re.IGNORECASE)
    what = kind.accepts(facet)
    default = f"{kind.default:g}" if getattr(kind, "default", None) is not None else "any"
    description = " ".join(filter(None, [kind.describe(facet), _NOTES.get(facet.name)]))
    if kind.in_lists:
        return Option(facet.name, f"comma-separated {what}", default, description,
                      _values(pattern, what), facet.example)
    return Option(facet.name, what, default, description, _one(pattern, what),
                  facet.example.split(",")[0])


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
    Option("results", f"1 to {MAX_RESULTS}", str(DEFAULT_RESULTS), "How many results the "
           "widget lists; a link leads to all of them on this server.", _results, "8"),
    Option("theme", ", ".join(THEMES), THEMES[0],
           "Colours; auto follows the visitor's system setting.", _one_of(*THEMES),
           "dark"),
    Option("lang", ", ".join(LANGUAGES), "the page's <html lang> if listed, else en",
           "The language of the widget's labels and messages.", _one_of(*LANGUAGES), "fr"),
    Option("link", ", ".join(LINKS), LINKS[0], "Where results lead: the study page on this "
           "server, or the record on ClinicalTrials.gov.", _one_of(*LINKS), "ctgov"),
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


def served_configuration() -> dict:
    """What widget.js learns from the server it was loaded from: each filter (whether it takes
    comma-separated values, and the pattern a value must match, case aside), the choices of
    the options that take one, and the bounds on results."""
    return {
        "filters": {facet.name: {"list": facet.kind.in_lists, "pattern": facet.kind.pattern}
                    for facet in FACETS},
        "choices": {"mode": list(MODES), "theme": list(THEMES), "link": list(LINKS),
                    "lang": list(LANGUAGES)},
        "results": {"default": DEFAULT_RESULTS, "max": MAX_RESULTS},
    }


# Where widget.js expects its configuration: the server writes it there as it serves the file.
CONFIG_SLOT = "/*SERVER_CONFIGURATION*/null"


@functools.cache
def _script(static_folder: str) -> tuple[bytes, str]:
    """widget.js with its configuration filled in, and its ETag."""
    source = (Path(static_folder) / "widget.js").read_text(encoding="utf-8")
    if source.count(CONFIG_SLOT) != 1:
        raise RuntimeError(f"widget.js must hold {CONFIG_SLOT} exactly once")
    body = source.replace(CONFIG_SLOT, json.dumps(served_configuration(), separators=(",", ":")))
    data = body.encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()[:32]


@bp.get("/widget.js")
def script():
    """The widget script, with this server's configuration: cacheable, and loadable (also with
    crossorigin/SRI) by any site."""
    data, etag = _script(current_app.static_folder)
    response = current_app.response_class(data, mimetype="text/javascript")
    response.set_etag(etag)
    response.cache_control.max_age = SCRIPT_MAX_AGE
    response.cache_control.public = True
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Other sites load this as a script; a same-origin resource policy would block that.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response.make_conditional(request)


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
                 '  data-near="Boston, MA" data-radius="50" data-age="70" data-sex="FEMALE">'
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
