"""ClinicalTrials.gov search-results exports: the classic site's TSV/CSV download (`NCT Number,
Title, Status, ..., Sponsor/Collaborators, ...`) and the modern site's CSV (`Study Title`,
`Study Status`, `Sponsor`, `Collaborators`, `Brief Summary`, ...).

One study per row, multi-valued cells joined with `|`. Streamed row by row.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator

from ..model import Problem, Study
from .records import Found, RecordError, Where, build_study, site_from_label
from .sources import Document

FORMAT = "tsv"
HEADER_MARK = "NCT Number"  # the column that makes a table a study export

# Column (lower case) -> Study field, for both the classic and the modern export.
_COLUMNS = {
    "nct number": "nct_id",
    "title": "brief_title",
    "study title": "brief_title",
    "acronym": "acronym",
    "status": "status",
    "study status": "status",
    "brief summary": "brief_summary",
    "conditions": "conditions",
    "interventions": "interventions",
    "sponsor": "sponsor",
    "collaborators": "collaborators",
    "phases": "phases",
    "enrollment": "enrollment",
    "study type": "study_type",
    "first posted": "first_posted",
    "last update posted": "last_update_posted",
    "start date": "start_date",
    "completion date": "completion_date",
    "locations": "locations",
    "gender": "sex",
    "sex": "sex",
}
# Columns read into a field and also kept in extra as written.
_STUDY_RESULTS = "study results"  # "Has Results" / "No Results Available" (modern: YES / NO)
# The lead sponsor's class: classic "Funded Bys" lists every funder's, the lead's first
# ("Industry|Other"); the modern "Funder Type" has only the lead's ("OTHER_GOV").
_FUNDER_COLUMNS = frozenset({"funded bys", "funder type"})
# "18 Years and older   (Adult, Older Adult)", "Child, Adult, Older Adult" (modern: groups
# only, "ADULT, OLDER_ADULT")
_AGE_COLUMN = "age"
_LIST_FIELDS = frozenset({"conditions", "interventions", "collaborators", "locations"})
_SPONSOR_AND_COLLABORATORS = "sponsor/collaborators"
# "18 Years and older", "up to 17 Years", "18 Years to 65 Years   (Adult, Older Adult)"
_AGE = r"(\d+(?:\.\d+)?\s+(?:year|month|week|day|hour|minute)s?)"
_AGE_RANGE = re.compile(rf"^\s*{_AGE}\s+to\s+{_AGE}", re.I)
_AGE_MIN = re.compile(rf"^\s*{_AGE}\s+and\s+older", re.I)
_AGE_MAX = re.compile(rf"^\s*up\s+to\s+{_AGE}", re.I)
_AGE_GROUPS = re.compile(r"\(([^()]*)\)\s*$")


def read(doc: Document) -> Iterator[Found | Problem]:
    """Yield one study per row of a search-results export, a Problem for each bad row."""
    numbered = _NumberedLines(doc)
    header_line = next((line for line in numbered if line.strip()), "")
    try:
        dialect = csv.Sniffer().sniff(header_line, delimiters="\t,")
        # A quote inside a quoted cell is doubled (RFC 4180, and both exports); a header
        # without quotes leaves the sniffer guessing it is not.
        dialect.doublequote = True
    except csv.Error:  # a one-column header gives the sniffer nothing to go on
        dialect = csv.excel_tab if "\t" in header_line else csv.excel
    reader = csv.reader(itertools.chain([header_line], numbered), dialect)
    try:
        header = [name.strip() for name in next(reader)]
    except csv.Error as exc:  # e.g. a header field past the csv module's size limit
        yield doc.problem(f"malformed header: {exc}", f"line {numbered.number}")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield doc.problem(f"malformed row: {exc}", f"line {numbered.number}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        where = Where(doc.name, line=numbered.number)
        if len(row) != len(header):
            yield where.problem(f"row has {len(row)} fields, the header has {len(header)}")
            continue
        try:
            yield Found(where, _to_study(dict(zip(header, row))))
        except RecordError as exc:
            yield where.problem(str(exc))


class _NumberedLines:
    """The document's lines for the csv reader, remembering the number of the last one read
    (where the current row ends)."""

    def __init__(self, doc: Document) -> None:
        self._lines = doc.lines()
        self.number = 0

    def __iter__(self) -> _NumberedLines:
        return self

    def __next__(self) -> str:
        self.number, line = next(self._lines)
        return line


def _to_study(row: dict[str, str]) -> Study:
    values: dict[str, object] = {}
    extras: list[tuple[str, str]] = []
    for column, cell in row.items():
        key = column.lower()
        field = _COLUMNS.get(key)
        if field in _LIST_FIELDS:
            values[field] = cell.split("|")
        elif field:
            values[field] = cell
        elif key == _SPONSOR_AND_COLLABORATORS:
            sponsor, *collaborators = cell.split("|")
            values["sponsor"], values["collaborators"] = sponsor, collaborators
        else:
            extras.extend((column, part) for part in cell.split("|"))
            if key == _AGE_COLUMN:
                values.update(_ages(cell))
            elif key == _STUDY_RESULTS:
                values["has_results"] = cell
            elif key in _FUNDER_COLUMNS:
                values["funder_type"] = cell.split("|")[0]
    if "locations" in values:
        values["sites"] = [site_from_label(label) for label in values["locations"]]
    study = build_study(values, FORMAT)
    for column, value in extras:
        study.add_extra(column, value)
    return study


def _ages(cell: str) -> dict[str, str]:
    """The limits and the bracketed age groups of an `Age` cell; a cell of groups alone
    ("Child, Adult, Older Adult") has no limits."""
    groups = _AGE_GROUPS.search(cell)
    ages: dict[str, str] = {"std_ages": groups.group(1) if groups else cell}
    if match := _AGE_RANGE.match(cell):
        ages.update(minimum_age=match.group(1), maximum_age=match.group(2))
    elif match := _AGE_MIN.match(cell):
        ages["minimum_age"] = match.group(1)
    elif match := _AGE_MAX.match(cell):
        ages["maximum_age"] = match.group(1)
    return ages
