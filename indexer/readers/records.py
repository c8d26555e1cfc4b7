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

from ..catalog.registry import (
    FUNDER_TYPE,
    SEX,
    STATUS,
    STUDY_TYPE,
    parse_flag,
    record_phases,
    record_std_ages,
    std_ages_for_range,
)
from ..model import (
    Problem,
    Site,
    Study,
    clean_lines,
    clean_text,
    contacts_from,
    enum_value,
    normalize_nct_id,
    parse_age_years,
    parse_date,
)
from ..places import is_us_state

TEXT_FIELDS = ("brief_title", "official_title", "acronym", "brief_summary",
               "detailed_description", "sponsor", "minimum_age", "maximum_age")
# Text whose lines are kept (see `clean_lines`): criteria are lists as the registry wrote them.
LINE_FIELDS = ("eligibility_criteria",)
LIST_FIELDS = ("conditions", "keywords", "interventions", "collaborators", "locations",
               "condition_mesh", "intervention_mesh")
DATE_FIELDS = ("first_posted", "last_update_posted", "start_date", "completion_date")

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
    record had them). Raises RecordError when there is no valid NCT ID.

    `sites` is a list of dicts keyed by Site field name (a site's `contacts`, and the study's,
    lists of dicts keyed by Contact field name); `locations` (display strings) are
    made from the sites unless the reader gives them as written. Age limits in years, and the
    age groups where the record lists none, come from `minimum_age`/`maximum_age`."""
    raw_id = values.get("nct_id")
    nct_id = normalize_nct_id(raw_id)
    if nct_id is None:
        shown = clean_text(raw_id)
        raise RecordError(f"no valid NCT ID (found {shown[:40]!r})" if shown
                          else "no valid NCT ID (none given)")
    study = Study(nct_id=nct_id, source_format=source_format)
    for name in TEXT_FIELDS:
        setattr(study, name, clean_text(values.get(name)))
    for name in LINE_FIELDS:
        setattr(study, name, clean_lines(values.get(name)))
    for name in LIST_FIELDS:
        setattr(study, name, clean_list(values.get(name)))
    for name in DATE_FIELDS:
        setattr(study, name, parse_date(values.get(name)))
    study.status = _enum(STATUS, values.get("status"))
    # "Expanded Access:Intermediate-size Population", "Observational [Patient Registry]"
    study.study_type = _enum(STUDY_TYPE, re.split(r"[:\[(]", clean_text(values.get("study_type")))[0])
    study.phases = record_phases(values.get("phases"))
    study.sex = SEX.canonical(values.get("sex")) or ""
    if not study.sex:
        study.add_extra("sex", values.get("sex") if isinstance(values.get("sex"), str) else None)
    study.enrollment = parse_count(values.get("enrollment"))
    _eligibility(study, values)
    sites = values.get("sites")
    study.sites = [site for site in (Site.from_values(raw) for raw in sites or []
                                     if isinstance(raw, Mapping)) if site is not None]
    study.contacts = contacts_from(values.get("contacts"))
    if values.get("locations") is None:
        study.locations = clean_list([site.label for site in study.sites])
    study.condition_mesh_found = clean_pairs(values.get("condition_mesh_found"))
    study.has_results = parse_flag(values.get("has_results"))
    study.funder_type = FUNDER_TYPE.canonical(values.get("funder_type")) or ""
    return study


def _eligibility(study: Study, values: Mapping[str, Any]) -> None:
    """Age limits in years, age groups (listed, else derived from the limits when the record
    states any) and healthy volunteers."""
    study.minimum_age_years = parse_age_years(study.minimum_age)
    study.maximum_age_years = parse_age_years(study.maximum_age)
    study.std_ages = record_std_ages(values.get("std_ages"))
    stated = [values.get(name) for name in ("minimum_age", "maximum_age")
              if values.get(name) is not None]
    # Derive only from limits that were all read: "N/A" or empty is no limit, but words we
    # cannot read ("eighteen") must not widen the range.
    readable = all(not clean_text(getattr(study, name)) or parse_age_years(getattr(study, name))
                   is not None for name in ("minimum_age", "maximum_age"))
    if not study.std_ages and stated and readable:
        study.std_ages = std_ages_for_range(study.minimum_age_years, study.maximum_age_years)
    study.healthy_volunteers = parse_flag(values.get("healthy_volunteers"))


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


def clean_pairs(values: Any) -> list[tuple[str, str]]:
    """Cleaned, de-duplicated `(text, text)` pairs, in order; pairs with an empty side and
    anything that is not a pair are dropped."""
    out: list[tuple[str, str]] = []
    for pair in values if isinstance(values, (list, tuple)) else []:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            cleaned = (clean_text(pair[0]), clean_text(pair[1]))
            if all(cleaned) and cleaned not in out:
                out.append(cleaned)
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


# The registry's intervention types (API v2 `InterventionType`), as `intervention_label` and
# the formats that write labels themselves (TSV, plain text) spell them: `Dietary Supplement`.
INTERVENTION_TYPES = frozenset({
    "Behavioral", "Biological", "Combination Product", "Device", "Diagnostic Test",
    "Dietary Supplement", "Drug", "Genetic", "Other", "Procedure", "Radiation"})


def split_intervention(label: str) -> tuple[str, str]:
    """(type, name) of a `Study.interventions` label: `Drug: Aspirin` -> ("Drug", "Aspirin").
    A label whose part before the colon is no intervention type (`FNK-101: oral`) is all
    name: ("", label)."""
    kind, colon, name = label.partition(": ")
    kind = kind.replace("_", " ").title()
    return (kind, name) if colon and kind in INTERVENTION_TYPES and name else ("", label)


# A country or state written with its own comma ("Korea, Republic of", "Congo, The
# Democratic Republic of the", "London, City of"): the part after the comma ends in "of".
_OF_TAIL = re.compile(r"\bof(?:\s+the)?$", re.I)
# Words of a facility or street address, not of a city: with one of these in the part before
# the last, that part belongs to the facility and the last one is the city, not a state.
# Stems match inside words ("Rigshospitalet", "Universitätsklinikum"); short words whole.
_FACILITY_WORD = re.compile(
    r"\d|hospital|h[oô]pita|ospedal|klinik|clinic|cl[ií]nica|universi|institut|sykehus"
    r"|sjukhus|krankenhaus|ziekenhuis|szpital|nemocnic|hastane|laborator|foundation|fundaci"
    r"|medical|health|college|faculty|department|cent(?:er|re|ro)\b|\w+olog(?:y|ie|ia)\b"
    r"|\b(?:dept|service|unit[eé]?|ward|site|trust|nhs|chu|chru|ap-?hp|school|building|floor"
    r"|suite|street|road|avenue|drive|campus)\b", re.I)
_UNITED_STATES = "united states"
# A postal code before the country, as the modern CSV export writes it ("Facility, City, State,
# Zip, Country"): capitals and digits only, so "Praha 5" or "Dhaka-1000" stay cities.
_ZIP = re.compile(r"^(?=[^,]*\d)[A-Z0-9]{2,8}(?:[ -][A-Z0-9]{2,5})?$")


def site_from_label(label: Any) -> dict[str, str]:
    """Site parts from a location written as one string, as the TSV export and the plain-text
    layout do: "Facility, City, State, Country" with the parts that are empty left out (the
    modern CSV adds a zip code before the country).

    The last part is the country (a trailing "..., Republic of" joins it). Before it, maybe a
    zip code, then the city, and possibly a state: a U.S. site's is a state's name; elsewhere the
    part before the country is a state only when three or more parts precede the country and
    the one before it does not read like a facility or address ("Intensive Care Unit, CHU de
    Nantes, Nantes, France" has no state; "CHU Besançon, Besançon, Franche-Comté, France"
    has). Facility names may hold commas: everything before the city is the facility. A
    best effort: the export cannot tell "Hospital, District, City, Country" from "Hospital,
    City, State, Country" where the district reads like a city."""
    parts = [part for part in (clean_text(p) for p in clean_text(label).split(",")) if part]
    country = _pop_with_tail(parts)
    site = {"country": country}
    if parts and _ZIP.match(parts[-1]):
        site["zip"] = parts.pop()
    if not parts:
        return site
    us = country.lower() == _UNITED_STATES
    if len(parts) >= 2 and (is_us_state(parts[-1]) if us else
                            len(parts) >= 3 and not _FACILITY_WORD.search(parts[-2])):
        site["state"] = _pop_with_tail(parts)
    site["city"] = parts.pop()
    site["facility"] = ", ".join(parts)
    return site


def _pop_with_tail(parts: list[str]) -> str:
    """Remove and return the last part, joined with the one before when it is an "of" tail."""
    last = parts.pop() if parts else ""
    if parts and _OF_TAIL.search(last):
        last = f"{parts.pop()}, {last}"
    return last


def _enum(enumeration, value: Any) -> str:
    """The value a record names, in API v2 enum style; a value the registry does not list (yet)
    is kept as written."""
    return enumeration.canonical(value) or enum_value(value)
