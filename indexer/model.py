"""The one record type every reader fills and the schema reads: `Study`, plus `Problem`.

Readers never raise on bad data; they yield `Problem`s (file, line/record, reason) beside the
`Study` objects they could read, and the caller decides what a problem means (`--strict`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
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


def clean_lines(value: Any) -> str:
    """Like `clean_text`, but keep the lines: each line trimmed with its runs of spaces
    collapsed, runs of blank lines made one, none at either end. Criteria are written as
    lines and bullets, and that structure is what a reader of them needs."""
    if value is None:
        return ""
    lines = [" ".join(line.split()) for line in str(value).splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return "" if text.lower() in MISSING_VALUES else text


def enum_value(value: Any) -> str:
    """Normalize a status/type label to the API v2 enum style: `Active, not recruiting` ->
    `ACTIVE_NOT_RECRUITING`."""
    text = clean_text(value)
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


# Age units the registry writes ("18 Years", "6 Months", "2 Weeks", "30 Days", "24 Hours",
# "5 Minutes") in years. A month is 1/12 year, so "6 Months" is exactly 0.5.
_YEARS_PER_UNIT = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25,
                   "hour": 1 / (365.25 * 24), "minute": 1 / (365.25 * 24 * 60)}
_AGE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\b", re.I)


def parse_age_years(value: Any) -> float | None:
    """An age limit as written (`18 Years`, `6 Months`, `2 Weeks`, `30 Days`, `1 Hour`,
    `5 Minutes`) in years: 18.0, 0.5, ... None when missing, `N/A` or unreadable."""
    match = _AGE_RE.match(clean_text(value))
    if not match:
        return None
    years = float(match.group(1)) * _YEARS_PER_UNIT[match.group(2).lower()]
    return years if math.isfinite(years) else None


def parse_coordinate(value: Any, limit: float) -> float | None:
    """A latitude (limit 90) or longitude (limit 180) as a float; None when missing, not a
    number, not finite or out of range."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


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


@dataclass(frozen=True)
class Contact:
    """Whom to ask about a study (a central contact) or about one of its sites. Text fields
    are '' when missing; `role` is in API v2 enum style (CONTACT, PRINCIPAL_INVESTIGATOR,
    ...; legacy XML's backup contacts are BACKUP_CONTACT), '' when the record gives none;
    `phone_ext` is the extension as written (some records put a country code there)."""

    name: str = ""
    role: str = ""
    phone: str = ""
    phone_ext: str = ""
    email: str = ""

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Contact | None:
        """A Contact from raw values keyed by field name (cleaned here, the role made an
        enum); None when it gives no name, phone or email."""
        texts = {name: clean_text(values.get(name))
                 for name in ("name", "phone", "phone_ext", "email")}
        if not (texts["name"] or texts["phone"] or texts["email"]):
            return None
        return cls(**texts, role=enum_value(values.get("role")))


def contacts_from(values: Any) -> list[Contact]:
    """The contacts in a list of raw values (dicts keyed by field name, or Contacts); anything
    else, and contacts with nothing to reach them by, left out."""
    if not isinstance(values, (list, tuple)):
        return []
    contacts = (item if isinstance(item, Contact) else Contact.from_values(item)
                for item in values if isinstance(item, (Contact, dict)))
    return [contact for contact in contacts if contact is not None]


@dataclass(frozen=True)
class Site:
    """One place a study runs (a `locations[]` entry of the registry). Text fields are '' when
    missing; `status` is the site's recruitment status in API v2 enum style (RECRUITING,
    NOT_YET_RECRUITING, ...); `lat`/`lon` are decimal degrees, None where the record has no
    coordinates. Only API v2 records carry coordinates; indexing places the other sites by
    their city (`indexer.gazetteer.locate`) and marks those `geocoded`."""

    facility: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""
    status: str = ""
    lat: float | None = None
    lon: float | None = None
    geocoded: bool = False  # coordinates from the city's name, not from the record
    contacts: tuple[Contact, ...] = ()  # whom to ask at this site

    @property
    def label(self) -> str:
        """The `Study.locations` display form: `facility, city, country` from the parts
        present."""
        return ", ".join(part for part in (self.facility, self.city, self.country) if part)

    @property
    def has_coordinates(self) -> bool:
        """Whether the site can be placed on a map (a radius search needs it)."""
        return self.lat is not None and self.lon is not None

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Site | None:
        """A Site from raw values keyed by field name (cleaned and typed here: the status
        becomes an enum, coordinates floats, both or neither, `contacts` Contacts); None when
        it has neither text nor coordinates."""
        texts = {name: clean_text(values.get(name))
                 for name in ("facility", "city", "state", "zip", "country")}
        lat, lon = parse_coordinate(values.get("lat"), 90), parse_coordinate(values.get("lon"), 180)
        if lat is None or lon is None:
            lat = lon = None
        if not any(texts.values()) and lat is None:
            return None
        return cls(**texts, status=enum_value(values.get("status")), lat=lat, lon=lon,
                   geocoded=lat is not None and values.get("geocoded") is True,
                   contacts=tuple(contacts_from(values.get("contacts"))))


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
    minimum_age: str = ""  # as written: "18 Years", "6 Months", "" when none
    maximum_age: str = ""
    minimum_age_years: float | None = None  # the same limits in years; None = no limit
    maximum_age_years: float | None = None
    std_ages: list[str] = field(default_factory=list)  # CHILD, ADULT, OLDER_ADULT
    healthy_volunteers: bool | None = None
    enrollment: int | None = None
    # Display strings ("facility, city, country"), kept as stored by older indexes; readers
    # fill them from `sites`, or as written where a format only has strings (TSV, text).
    locations: list[str] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)  # the study's central contacts
    has_results: bool | None = None
    funder_type: str = ""  # lead sponsor's: INDUSTRY, NIH, FED, OTHER
    first_posted: date | None = None
    last_update_posted: date | None = None
    start_date: date | None = None
    completion_date: date | None = None
    # The registry's MeSH terms (its derived section: "Dermatitis, Atopic", "Eczema"), from the
    # formats that carry them (API v2, classic API, legacy XML); [] elsewhere.
    condition_mesh: list[str] = field(default_factory=list)
    intervention_mesh: list[str] = field(default_factory=list)
    # (as found in the record, MeSH term) for the condition terms where the registry says what
    # it matched: ("Atopic Dermatitis", "Eczema"). API v2 and classic API only.
    condition_mesh_found: list[tuple[str, str]] = field(default_factory=list)
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
        data = {name: _plain(getattr(self, name)) for name in _field_names(Study)}
        for name, value in data.items():
            if isinstance(value, date):
                data[name] = value.isoformat()
        data["title"] = self.title
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Study:
        """Inverse of `to_dict`. Also reads records stored before a field existed (an older
        index's record has `locations` strings and no `sites`, or no `contacts`): missing
        fields take their defaults, and nothing stored is dropped."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for name in ("first_posted", "last_update_posted", "start_date", "completion_date"):
            if kwargs.get(name):
                kwargs[name] = date.fromisoformat(kwargs[name])
        if "condition_mesh_found" in kwargs:  # JSON keeps the pairs as 2-item lists
            pairs = kwargs["condition_mesh_found"]
            kwargs["condition_mesh_found"] = [
                (found, term) for found, term in (
                    pair for pair in (pairs if isinstance(pairs, list) else [])
                    if isinstance(pair, (list, tuple)) and len(pair) == 2)
                if isinstance(found, str) and isinstance(term, str)]
        if "contacts" in kwargs:
            kwargs["contacts"] = contacts_from(kwargs["contacts"])
        if "sites" in kwargs:
            sites = kwargs["sites"] if isinstance(kwargs["sites"], list) else []
            kwargs["sites"] = [site for site in (
                item if isinstance(item, Site) else Site.from_values(item)
                for item in sites if isinstance(item, (Site, dict))) if site is not None]
            if "locations" not in kwargs:
                kwargs["locations"] = list(dict.fromkeys(
                    site.label for site in kwargs["sites"] if site.label))
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


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_IMMUTABLE = (str, int, float, date, type(None))  # bool is an int; datetime a date


def _plain(value: Any) -> Any:
    """What `dataclasses.asdict` makes of a value, without its deep copy of every string,
    number and date (immutable: the same objects will do). asdict recursed into the ~170
    values of a study with sites one call at a time and was the larger part of writing a
    study's stored record (an update's and a build's)."""
    if isinstance(value, _IMMUTABLE):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if type(value) is tuple:
        return tuple(_plain(item) for item in value)
    if type(value) is dict:
        return {_plain(key): _plain(item) for key, item in value.items()}
    return copy.deepcopy(value)  # no other kind in a Study today
