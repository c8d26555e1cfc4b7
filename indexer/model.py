"""The one record type every reader fills and the schema reads: `Study`, plus `Problem`.

Readers never raise on bad data; they yield `Problem`s (file, line/record, reason) beside the
`Study` objects they could read, and the caller decides what a problem means (`--strict`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dateutil import parser as date_parser

NCT_ID_RE = re.compile(r"^NCT\d{8}$")

# Values that ClinicalTrials.gov exports use for "nothing here".
MISSING_VALUES = frozenset({"", "none", "n/a", "na", "null", "not provided", "nan"})


def normalize_nct_id(value: Any) -> str | None:
    """Return the canonical `NCT########` form of `value`, or None when it is not a valid ID."""
    if not isinstance(value, str):
        return None
    candidate = value.strip().upper()
    return candidate if NCT_ID_RE.match(candidate) else None


def clean_text(value: Any) -> str:
    """Collapse whitespace and map the exports' placeholders (None, N/A, empty) to ''."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return "" if text.lower() in MISSING_VALUES else text


def enum_value(value: Any) -> str:
    """Normalize a status/type label to the API v2 enum style: `Active, not recruiting` ->
    `ACTIVE_NOT_RECRUITING`."""
    text = clean_text(value)
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


_PHASE_RE = re.compile(r"(early\s*_?\s*phase\s*_?\s*1|phase\s*_?\s*[1-4i]+|n/?a|not applicable)", re.I)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def normalize_phases(value: Any) -> list[str]:
    """Turn any phase notation (`Phase 1/Phase 2`, `PHASE2`, `Phase II`, `N/A`) into API v2
    enums: `['PHASE1', 'PHASE2']`, `['NA']`."""
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for item in value:
            out.extend(p for p in normalize_phases(item) if p not in out)
        return out
    if value is None:
        return []
    out = []
    for match in _PHASE_RE.finditer(str(value)):
        token = re.sub(r"[\s_]+", "", match.group(0).lower())
        if token.startswith("early"):
            phase = "EARLY_PHASE1"
        elif token.startswith("phase"):
            number = token[len("phase"):]
            phase = "PHASE" + _ROMAN.get(number, number)
        else:
            phase = "NA"
        if phase not in out:
            out.append(phase)
    return out


_DEFAULT_DAY = datetime(2000, 1, 1)


def parse_date(value: Any) -> date | None:
    """Parse the registry's date spellings (`2023-04-07`, `2023-05`, `April 3, 2020`,
    `June 2020`); a month without a day means its first day. None when unparseable."""
    text = clean_text(value)
    if not text:
        return None
    try:
        return date_parser.parse(text, default=_DEFAULT_DAY).date()
    except (ValueError, OverflowError):
        return None


@dataclass
class Study:
    """One clinical-trial study, whatever format it came from.

    Text fields are '' when missing, lists are [] and dates None. `extra` keeps every key the
    reader found but the model has no field for (a key may repeat, so values are lists).
    """

    nct_id: str
    brief_title: str = ""
    official_title: str = ""
    acronym: str = ""
    status: str = ""  # API v2 enum style: RECRUITING, COMPLETED, ...
    study_type: str = ""  # INTERVENTIONAL, OBSERVATIONAL, EXPANDED_ACCESS
    phases: list[str] = field(default_factory=list)  # PHASE1 ... PHASE4, EARLY_PHASE1, NA
    brief_summary: str = ""
    detailed_description: str = ""
    conditions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    interventions: list[str] = field(default_factory=list)
    sponsor: str = ""
    collaborators: list[str] = field(default_factory=list)
    eligibility_criteria: str = ""
    sex: str = ""
    minimum_age: str = ""
    maximum_age: str = ""
    enrollment: int | None = None
    locations: list[str] = field(default_factory=list)
    first_posted: date | None = None
    last_update_posted: date | None = None
    start_date: date | None = None
    completion_date: date | None = None
    extra: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""  # where it was read: "path" or "path:line" or "path#record"
    source_format: str = ""  # reader name: text, api_v2, api_v1, xml, tsv, trec

    @property
    def title(self) -> str:
        """The best title to show: brief, else official, else the NCT ID."""
        return self.brief_title or self.official_title or self.nct_id

    def add_extra(self, key: str, value: Any) -> None:
        """Keep an unmodelled `key: value` pair; repeated keys accumulate."""
        text = clean_text(value)
        if text:
            self.extra.setdefault(key, []).append(text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO strings)."""
        data = dataclasses.asdict(self)
        for name, value in data.items():
            if isinstance(value, date):
                data[name] = value.isoformat()
        data["title"] = self.title
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Study:
        """Inverse of `to_dict`."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for name in ("first_posted", "last_update_posted", "start_date", "completion_date"):
            if kwargs.get(name):
                kwargs[name] = date.fromisoformat(kwargs[name])
        return cls(**kwargs)


@dataclass(frozen=True)
class Problem:
    """A record or file that could not be read: where it is and why.

    `kind` is "error" for bad data (a skipped record, an unreadable file: counts under
    `--strict`) or "ignored" for a file that is readable but holds no study records (a README,
    TREC topics or qrels beside the records).
    """

    source: str  # file path (or URL)
    location: str  # "line 12", "record 3", "" for the whole file
    reason: str
    kind: str = "error"

    def __str__(self) -> str:
        where = f"{self.source}: {self.location}" if self.location else self.source
        return f"{where}: {self.reason}"
