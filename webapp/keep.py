"""Keeping a search: its Atom feed (`/api/search.atom`, the newest studies it finds) and its
downloads (`/api/search.csv`, `/api/search.jsonl`: every study it finds, up to
`EXPORT_LIMIT`), which take the search page's own query-string parameters.

`api.py` serves them; this module holds what they are made of: the request a feed or download
reads from a query string, the Atom document, a search said in words (the feed's title), the
file name, and the links a search page gives them (template globals for `_keep.html`).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from flask import Flask, url_for
from werkzeug.datastructures import MultiDict

from indexer.catalog.facets import FACETS_BY_NAME, CountryKind, EnumKind, Facet, FlagKind
from indexer.catalog.registry import CTGOV_STUDY_URL
from indexer.model import Study
from indexer.search import SearchIndex, SearchRequest
from indexer.search.export import EXPORT_LIMIT

FEED_ENTRIES = 50
FEED_TYPE = "application/atom+xml"
DOWNLOAD_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
# The page's parameters a feed sets itself, whatever the query string says: it lists the
# newest first, and a date order ranks the studies holding the words in every mode (meaning
# alone has no date order), so `mode` goes too.
FEED_SETS = ("sort", "page", "per_page", "mode")
DOWNLOAD_SETS = ("page", "per_page")  # a download is every page
ATOM = "http://www.w3.org/2005/Atom"
# What XML 1.0 cannot hold at all, escaped or not (control characters, lone surrogates): a
# record's text loses them rather than break the feed.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def kept_request(args: MultiDict, sets_itself: tuple[str, ...], **changes) -> SearchRequest:
    """The search a feed's or download's query string `args` asks for, less the parameters
    it sets itself (FEED_SETS, DOWNLOAD_SETS), with `changes`. QueryError naming a bad
    parameter."""
    args = args.copy()
    for name in sets_itself:
        args.poplist(name)
    return SearchRequest.from_query_string(args).replace(**changes)


def study_url(nct_id: str) -> str:
    """A study's page on this server, with scheme and host."""
    return url_for("pages.study", nct_id=nct_id, _external=True)


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(pairs)}" if pairs else url


def download_name(search_request: SearchRequest, kind: str) -> str:
    """A file name saying what was searched, in letters, digits and hyphens only (nothing to
    quote in a header): `trialsearch-exosomes.csv`, `trialsearch-studies.jsonl`."""
    words = re.sub(r"[^a-z0-9]+", "-", search_request.q.lower()).strip("-")[:40].rstrip("-")
    return f"trialsearch-{words or 'studies'}.{kind}"


def index_changed(index: SearchIndex) -> str:
    """When the live index last changed (its last update, else its build): the feed's content
    can have changed no later."""
    stats = index.stats()
    return stats["updated_at"] or stats["built_at"] or datetime.now(UTC).isoformat(timespec="seconds")


# -- the search in words ------------------------------------------------------------------------

def search_in_words(search_request: SearchRequest) -> str:
    """What a search asks for, as a feed's title says it: `“exosomes” in title; Status:
    Recruiting or Not yet recruiting; Country: Germany`, or `all studies`."""
    parts = []
    if search_request.q.strip():
        words = f"“{search_request.q.strip()}”"
        if search_request.fields:
            words += f" in {', '.join(search_request.fields)}"
        if search_request.operator == "or":
            words += " (any of the words)"
        parts.append(words)
    for name, values in search_request.filters.items():
        facet = FACETS_BY_NAME[name]
        parts.append(f"{facet.label}: {' or '.join(_value_words(facet, values))}")
    return "; ".join(parts) or "all studies"


def _value_words(facet: Facet, values: Iterable[str]) -> list[str]:
    kind = facet.kind
    if isinstance(kind, EnumKind):  # its values, not those they admit (sex=female admits ALL)
        return [kind.label(value) for text in values for value in kind.enumeration.parse(text)]
    if isinstance(kind, (FlagKind, CountryKind)):  # `yes` -> Yes, `usa` -> United States
        return [kind.label(value) for value in kind.index_values(facet, list(values))]
    return list(values)  # names, years, numbers and points read as typed


def feed_title(search_request: SearchRequest) -> str:
    """The title of a search's feed (the page's `<link rel="alternate">` says it too)."""
    return f"trialsearch – {search_in_words(search_request)}"


# -- the Atom document ----------------------------------------------------------------------------

def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """A child element; ElementTree escapes its text and attributes, after what XML cannot
    hold at all is dropped."""
    element = ET.SubElement(parent, tag, {name: _NOT_XML.sub("", value)
                                          for name, value in attributes.items()})
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _timestamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def atom_feed(search_request: SearchRequest, total: int, studies: Iterable[Study], updated: str) -> bytes:
    """The Atom 1.0 document (RFC 4287) of `studies`, the newest that `search_request`
    (ordered by first posted) finds of `total`; `updated`: when the index last changed. Each
    entry's id is the study's ClinicalTrials.gov address, the same whichever server or search
    lists it."""
    self_url = feed_url(search_request, _external=True)
    root = ET.Element("feed", xmlns=ATOM)
    _element(root, "id", self_url)
    _element(root, "title", feed_title(search_request))
    _element(root, "subtitle", _subtitle(total))
    _element(root, "updated", updated)
    _element(root, "link", rel="self", type=FEED_TYPE, href=self_url)
    _element(root, "link", rel="alternate", type="text/html",  # the page, newest first too
             href=_with_query(url_for("pages.search", _external=True),
                              search_request.query_pairs(page=None, per_page=None)))
    _element(_element(root, "author"), "name", "trialsearch")  # entries without a sponsor
    _element(root, "generator", "trialsearch")
    for study in studies:
        entry = _element(root, "entry")
        _element(entry, "id", CTGOV_STUDY_URL.format(study.nct_id))
        _element(entry, "title", study.title)
        _element(entry, "link", rel="alternate", type="text/html", href=study_url(study.nct_id))
        if study.first_posted:
            _element(entry, "published", _timestamp(study.first_posted))
        changed = study.last_update_posted or study.first_posted
        _element(entry, "updated", _timestamp(changed) if changed else updated)
        if study.sponsor:
            _element(_element(entry, "author"), "name", study.sponsor)
        if study.status:
            _element(entry, "category", term=study.status,
                     label=FACETS_BY_NAME["status"].kind.label(study.status))
        if study.brief_summary:
            _element(entry, "summary", study.brief_summary, type="text")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _subtitle(total: int) -> str:
    if total == 0:
        return "No study matches yet; new ones will appear here."
    if total <= FEED_ENTRIES:
        return f"{total:,} {'study' if total == 1 else 'studies'}, the newest first posted first."
    return f"The {FEED_ENTRIES} newest first posted of {total:,} studies."


# -- the page's links -------------------------------------------------------------------------------

def feed_url(search_request: SearchRequest, **url_options) -> str:
    """The feed of the search a page shows (`_external=True`: with scheme and host)."""
    return _with_query(url_for("api.feed", **url_options), search_request.query_pairs(
        **dict.fromkeys(FEED_SETS)))


def download_url(search_request: SearchRequest, kind: str) -> str:
    """The `kind` (csv, jsonl) download of the search a page shows."""
    return _with_query(url_for("api.download", kind=kind), search_request.query_pairs(
        **dict.fromkeys(DOWNLOAD_SETS)))


def init_app(app: Flask) -> None:
    """The template globals `_keep.html` links a search's feed and downloads with."""
    for helper in (feed_url, download_url, feed_title):
        app.add_template_global(helper)
    app.add_template_global(EXPORT_LIMIT, "export_limit")
