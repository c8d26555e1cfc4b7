"""A search's results to keep: every study it finds, in its order, as rows of the columns a
person needs, written as CSV or JSON Lines. The web app's downloads (`/api/search.csv`,
`/api/search.jsonl`), its Atom feed and `trialsearch search --format csv|jsonl` all read
the studies through `matching_studies` and write them with `COLUMNS`, declared once here.

The studies are read a page at a time through `SearchIndex.search` (facets and highlights
off), so a download holds one page of studies in memory, never the whole result; the search
core serves results up to `MAX_RESULT_WINDOW` deep, and so `EXPORT_LIMIT` rows at most.

    result, studies = matching_studies(index, SearchRequest(q="exosomes"))
    for chunk in csv_text(rows(studies)):
        sys.stdout.write(chunk)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..catalog.registry import CTGOV_STUDY_URL
from ..model import Study
from .live import SearchIndex
from .request import MAX_PER_PAGE, MAX_RESULT_WINDOW, SearchRequest
from .results import SearchResult

EXPORT_LIMIT = MAX_RESULT_WINDOW  # rows: the search core pages no deeper
PAGE_SIZE = MAX_PER_PAGE  # studies per search while reading a whole result
LIST_SEPARATOR = "|"  # between a CSV cell's values, as the registry's own export writes them
CHUNK_CHARS = 32 * 1024  # text gathered before it is handed on (one write, one HTTP chunk)
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection: a
# record's title "=HYPERLINK(...)" would run in whoever opens the download), so such a CSV
# cell gets a leading apostrophe, which spreadsheets show as text. JSON Lines is left as is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Value = str | list[str] | None


@dataclass(frozen=True)
class Column:
    """One column of a kept result: its JSON Lines key, its CSV header (the registry's export's
    name where it has one, so `trialsearch build` reads a download back) and its value for a
    study, given the study's page on this server (None when not known)."""

    key: str
    header: str
    value: Callable[[Study, str | None], Value]


def _date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _countries(study: Study) -> list[str]:
    """The countries of the study's sites, as the record writes them, each once."""
    return list(dict.fromkeys(site.country for site in study.sites if site.country))


COLUMNS = (
    Column("nct_id", "NCT Number", lambda study, url: study.nct_id),
    Column("title", "Study Title", lambda study, url: study.title),
    Column("status", "Study Status", lambda study, url: study.status),
    Column("phases", "Phases", lambda study, url: study.phases),
    Column("conditions", "Conditions", lambda study, url: study.conditions),
    Column("interventions", "Interventions", lambda study, url: study.interventions),
    Column("sponsor", "Sponsor", lambda study, url: study.sponsor),
    Column("minimum_age", "Minimum Age", lambda study, url: study.minimum_age),
    Column("maximum_age", "Maximum Age", lambda study, url: study.maximum_age),
    Column("sex", "Sex", lambda study, url: study.sex),
    Column("countries", "Countries", lambda study, url: _countries(study)),
    Column("first_posted", "First Posted", lambda study, url: _date(study.first_posted)),
    Column("last_update_posted", "Last Update Posted",
           lambda study, url: _date(study.last_update_posted)),
    Column("start_date", "Start Date", lambda study, url: _date(study.start_date)),
    Column("completion_date", "Completion Date", lambda study, url: _date(study.completion_date)),
    Column("url", "URL", lambda study, url: url),
    Column("ctgov_url", "ClinicalTrials.gov URL",
           lambda study, url: CTGOV_STUDY_URL.format(study.nct_id)),
)


def matching_studies(index: SearchIndex, request: SearchRequest, limit: int = EXPORT_LIMIT,
                     ) -> tuple[SearchResult, Iterator[Study]]:
    """The first page's result (its total, notices and mode) and an iterator over the studies
    `request` finds, in its order, at most `limit` (up to EXPORT_LIMIT). The first page is
    searched now, so a bad query or filter raises QueryError before anything is written;
    the others as the iterator is read."""
    if not 1 <= limit <= EXPORT_LIMIT:
        raise ValueError(f"limit must be between 1 and {EXPORT_LIMIT}, got {limit}")
    request = request.replace(page=1, per_page=min(PAGE_SIZE, limit), facets=False,
                              highlights=False)
    first = index.search(request)
    return first, _studies(index, request, first, limit)


def _studies(index: SearchIndex, request: SearchRequest, result: SearchResult,
             limit: int) -> Iterator[Study]:
    sent: set[str] = set()
    while True:
        for hit in result.hits:
            # A build or update between two pages shifts the later ones: a study already
            # written may come again, and one deleted meanwhile is gone.
            study = None if hit.nct_id in sent else index.get(hit.nct_id)
            if study is None:
                continue
            sent.add(study.nct_id)
            yield study
            if len(sent) == limit:
                return
        if len(result.hits) < request.per_page or (request.page + 1) * request.per_page > EXPORT_LIMIT:
            return  # the last page, or the deepest the search core serves
        request = request.replace(page=request.page + 1)
        result = index.search(request)


def rows(studies: Iterable[Study], study_url: Callable[[str], str | None] = lambda _: None,
         ) -> Iterator[dict[str, Value]]:
    """Each study as {column key: value}: lists for several values, None for a missing date
    or URL. `study_url` gives a study's page on this server from its NCT ID."""
    for study in studies:
        url = study_url(study.nct_id)
        yield {column.key: column.value(study, url) for column in COLUMNS}


def csv_cell(value: Value) -> str:
    """A value as a CSV cell: several joined with `|`, nothing as empty, and a leading
    apostrophe on what a spreadsheet would run as a formula (see FORMULA_STARTS)."""
    text = LIST_SEPARATOR.join(value) if isinstance(value, list) else value or ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(records: Iterable[dict[str, Value]]) -> Iterator[str]:
    """The header line, then a line per row (RFC 4180: quoted where needed, CRLF line ends),
    handed on in chunks of about CHUNK_CHARS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(column.header for column in COLUMNS)
    yield from _chunks(buffer, ([csv_cell(record[column.key]) for column in COLUMNS]
                                for record in records), writer.writerow)


def jsonl_text(records: Iterable[dict[str, Value]]) -> Iterator[str]:
    """A JSON object per line (JSON Lines), in chunks of about CHUNK_CHARS; no header, and
    nothing at all for no rows."""
    buffer = io.StringIO()
    yield from _chunks(buffer, records,
                       lambda record: buffer.write(json.dumps(record, ensure_ascii=False) + "\n"))


def _chunks(buffer: io.StringIO, items: Iterable[Any], write: Callable[[Any], Any]) -> Iterator[str]:
    """Write each item into `buffer`, handing on its text whenever it holds CHUNK_CHARS, and
    what is left at the end (the header alone, for no items)."""
    for item in items:
        write(item)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


# `trialsearch search --format` and the web app's downloads: format -> its writer.
WRITERS: dict[str, Callable[[Iterable[dict[str, Value]]], Iterator[str]]] = {
    "csv": csv_text, "jsonl": jsonl_text}
