"""The plain-text study export (the project's seed layout)::

    Viewing Study NCT05871463
    Ignite Creation Date: 2024-05-06 @ 7:02 PM
    Study NCT ID: NCT05871463
    Status: RECRUITING
    Brief Title: Effect of ...

    Study Overview

    Brief Summary: Decompensated liver cirrhosis LC ...

`Key: Value` lines (the key is whatever precedes the first ": ", at most 60 characters, so
`If Stopped, Why?: Not Stopped` works), section headers without a colon, and values that run on
over the following lines. Each `Viewing Study` line starts a new study.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from ..model import Problem, Study, clean_text
from .records import Found, RecordError, Where, build_study, site_from_label
from .sources import Document

FORMAT = "text"

STUDY_START = re.compile(r"^Viewing Study\b[ \t]*(\S*)")
_KEY_LINE = re.compile(r"^([A-Za-z][^:\n]{0,59}?):(?:[ \t]+(.*)|[ \t]*)$")

# Key (lower case) -> Study field. Keys of list fields accumulate; "|" or ";" separate items.
_FIELD_KEYS = {
    "study nct id": "nct_id", "nct id": "nct_id", "nct number": "nct_id",
    "status": "status", "overall status": "status", "recruitment status": "status",
    "brief title": "brief_title", "official title": "official_title", "acronym": "acronym",
    "brief summary": "brief_summary", "detailed description": "detailed_description",
    "sponsor": "sponsor", "lead sponsor": "sponsor",
    "collaborators": "collaborators", "collaborator": "collaborators",
    "first post": "first_posted", "first posted": "first_posted",
    "study first posted": "first_posted",
    "last update posted": "last_update_posted", "last update post": "last_update_posted",
    "start date": "start_date", "study start": "start_date",
    "completion date": "completion_date", "study completion": "completion_date",
    "conditions": "conditions", "condition": "conditions",
    "keywords": "keywords", "keyword": "keywords",
    "interventions": "interventions", "intervention": "interventions",
    "phase": "phases", "phases": "phases",
    "study type": "study_type",
    "enrollment": "enrollment", "enrollment (estimated)": "enrollment",
    "enrollment (actual)": "enrollment",
    "eligibility criteria": "eligibility_criteria",
    "sex": "sex", "gender": "sex",
    "minimum age": "minimum_age", "maximum age": "maximum_age",
    "locations": "locations", "location": "locations",
    "healthy volunteers": "healthy_volunteers",
    "accepts healthy volunteers": "healthy_volunteers",
    "std ages": "std_ages", "standard ages": "std_ages", "age groups": "std_ages",
    "ages eligible for study": "std_ages",
    "has results": "has_results",
    "funder type": "funder_type", "lead sponsor class": "funder_type",
}
_LIST_FIELDS = frozenset({"conditions", "keywords", "interventions", "collaborators",
                          "locations", "phases", "std_ages"})
_LIST_SEPARATOR = re.compile(r"[|;]")
# Unmapped keys of the layout: inside prose, only a known key ends the value, so a line like
# "Exclusion Criteria: ..." within the eligibility text stays part of it.
_LAYOUT_KEYS = frozenset({
    "ignite creation date", "last modification date", "organization", "status verified date",
    "last known status", "delayed posting", "if stopped, why?", "has expanded access",
    "if expanded access, nct#", "has expanded access, nct# status", "has oversight dmc",
    "is a fda regulated drug?", "is a fda regulated device?", "is an unapproved device?",
    "is a ppsd?", "is a us export?", "is an fda aa801 violation?",
})
_KNOWN_KEYS = _LAYOUT_KEYS | _FIELD_KEYS.keys()
_PROSE_FIELDS = frozenset({"brief_summary", "detailed_description", "eligibility_criteria"})
_SECTIONS = frozenset({
    "study overview", "study oversight", "study details", "study plan", "conditions",
    "eligibility", "participation criteria", "contacts and locations",
    "collaborators and investigators", "arms and interventions", "outcome measures",
    "study record dates", "more information", "publications",
})


def read(doc: Document) -> Iterator[Found | Problem]:
    """Yield each study in a plain-text export file (one or more `Viewing Study` blocks),
    streamed block by block."""
    blocks = _blocks(doc)
    opening = list(itertools.islice(blocks, 2))
    for start, lines in itertools.chain(opening, blocks):
        # A file of one study is its own source; in a file of many, each starts at a line.
        where = Where(doc.name) if len(opening) == 1 else Where(doc.name, line=start)
        try:
            yield Found(where, _to_study(lines))
        except RecordError as exc:
            yield where.problem(str(exc))


def _blocks(doc: Document) -> Iterator[tuple[int, list[str]]]:
    """`(first line number, lines)` per study. Text before the first `Viewing Study` line is
    a preamble and is skipped, unless there is no such line at all."""
    start, block, headed = 1, [], False
    for number, line in doc.lines():
        line = line.rstrip("\r\n")
        if STUDY_START.match(line):
            if headed:
                yield start, block
            start, block, headed = number, [], True
        block.append(line)
    yield start, block


def _to_study(lines: list[str]) -> Study:
    heading = STUDY_START.match(lines[0]) if lines else None
    values: dict[str, Any] = {"nct_id": heading.group(1) if heading else None}
    extras: list[tuple[str, str]] = []
    body_id = ""
    for key, value in _entries(lines[1:] if heading else lines):
        field = _FIELD_KEYS.get(key.lower())
        if field == "nct_id":
            body_id = body_id or clean_text(value)
        elif field in _LIST_FIELDS:
            values.setdefault(field, []).extend(_LIST_SEPARATOR.split(value))
        elif field and not clean_text(values.get(field)):
            values[field] = value
        elif not field or clean_text(value) != clean_text(values[field]):
            # Unmapped keys, and repeats of a single-valued key that disagree with the first.
            extras.append((key, value))
    # The body's "Study NCT ID" is authoritative over the "Viewing Study" heading.
    values["nct_id"] = body_id or values["nct_id"]
    # "Locations: Facility, City, Country | ...": sites parsed from the strings as written.
    values["sites"] = [site_from_label(label) for label in values.get("locations", [])]
    study = build_study(values, FORMAT)
    for key, value in extras:
        study.add_extra(key, value)
    return study


def _entries(lines: list[str]) -> Iterator[tuple[str, str]]:
    """`(key, value)` pairs, with continuation lines appended to their value as lines (blank
    ones too: fields that keep lines, the criteria, keep them; the others collapse them)."""
    key: str | None = None
    parts: list[str] = []
    for line in lines:
        match = _KEY_LINE.match(line)
        in_prose = key is not None and _FIELD_KEYS.get(key.lower()) in _PROSE_FIELDS
        if match and (not in_prose or match.group(1).lower() in _KNOWN_KEYS):
            if key is not None:
                yield key, "\n".join(parts)
            key, parts = match.group(1).strip(), [match.group(2) or ""]
        elif line.strip().lower() in _SECTIONS:
            if key is not None:
                yield key, "\n".join(parts)
            key, parts = None, []
        elif key is not None:
            parts.append(line.strip())
    if key is not None:
        yield key, "\n".join(parts)
