"""What every format reader shares: where a record was found, and turning the raw values a
reader pulled out of a record into a normalized `Study`.

Readers only extract; `build_study` does all cleaning (whitespace, placeholders, enums, phases,
dates, counts) so every format ends up with the same conventions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..model import (
    Problem,
    Study,
    clean_text,
    enum_value,
    normalize_nct_id,
    normalize_phases,
    parse_date,
)

TEXT_FIELDS = ("brief_title", "official_title", "acronym", "brief_summary",
               "detailed_description", "sponsor", "eligibility_criteria", "minimum_age",
               "maximum_age")
LIST_FIELDS = ("conditions", "keywords", "interventions", "collaborators", "locations")
DATE_FIELDS = ("first_posted", "last_update_posted", "start_date", "completion_date")

# Older exports spell some enums differently from API v2.
_ENUM_ALIASES = {"UNKNOWN_STATUS": "UNKNOWN", "BOTH": "ALL"}
_COUNT_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")


class RecordError(ValueError):
    """A record that cannot become a Study (the message is the Problem's reason)."""


@dataclass(frozen=True)
class Where:
    """A record's place: a document name plus an optional line and/or record number."""

    name: str
    line: int | None = None
    record: int | None = None

    @property
    def location(self) -> str:
        """The Problem location: "line 12", "record 3", "line 2, record 5" or ""."""
        parts = []
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        return ", ".join(parts)

    def __str__(self) -> str:
        """The `Study.source` form: `name`, `name:12`, `name#3`, `name:2#5`."""
        label = self.name
        if self.line is not None:
            label += f":{self.line}"
        if self.record is not None:
            label += f"#{self.record}"
        return label

    def problem(self, reason: str) -> Problem:
        """An error Problem at this place."""
        return Problem(self.name, self.location, reason)


class Found(NamedTuple):
    """A study a reader produced, with its place (read_sources turns it into `Study.source`)."""

    where: Where
    study: Study


def build_study(values: Mapping[str, Any], source_format: str) -> Study:
    """Make a Study from raw values keyed by Study field name (strings, lists, numbers as the
    record had them). Raises RecordError when there is no valid NCT ID."""
    raw_id = values.get("nct_id")
    nct_id = normalize_nct_id(raw_id)
    if nct_id is None:
        shown = clean_text(raw_id)
        raise RecordError(f"no valid NCT ID (found {shown[:40]!r})" if shown
                          else "no valid NCT ID (none given)")
    study = Study(nct_id=nct_id, source_format=source_format)
    for name in TEXT_FIELDS:
        setattr(study, name, clean_text(values.get(name)))
    for name in LIST_FIELDS:
        setattr(study, name, clean_list(values.get(name)))
    for name in DATE_FIELDS:
        setattr(study, name, parse_date(values.get(name)))
    study.status = _enum(values.get("status"))
    # "Expanded Access:Intermediate-size Population", "Observational [Patient Registry]"
    study.study_type = _enum(re.split(r"[:\[(]", clean_text(values.get("study_type")))[0])
    study.phases = normalize_phases(values.get("phases"))
    study.sex = _enum(values.get("sex"))
    study.enrollment = parse_count(values.get("enrollment"))
    return study


def clean_list(values: Any) -> list[str]:
    """Cleaned, de-duplicated, non-empty strings from a list (or one value), in order."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    out: list[str] = []
    for value in values:
        text = clean_text(value)
        if text and text not in out:
            out.append(text)
    return out


def parse_count(value: Any) -> int | None:
    """An enrollment count from `31`, `"63"`, `"60.0"`, `"1,200 (Estimated)"`; else None."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float)):
        match = _COUNT_RE.search(clean_text(value))
        if not match:
            return None
        value = float(match.group(0).replace(",", ""))
    # JSON's Infinity, 1e400 or a 400-digit string are no count (int(inf) would raise).
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if value >= 0 else None


def intervention_label(kind: Any, name: Any) -> str:
    """`Drug: repaglinide` from a type (`DRUG`, `Drug`) and a name; the bare name without one."""
    name = clean_text(name)
    kind = clean_text(kind).replace("_", " ").title()
    return f"{kind}: {name}" if kind and name else name


def location_label(*parts: Any) -> str:
    """`facility, city, country` from whichever parts are present."""
    return ", ".join(text for text in map(clean_text, parts) if text)


def _enum(value: Any) -> str:
    text = enum_value(value)
    return _ENUM_ALIASES.get(text, text)
