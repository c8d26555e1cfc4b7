"""The registry's enumerated values (overall status, phase, study type, age group, sex, funder
type), how each reads on a page, and every spelling of them that records and people use:
`Active, not recruiting`, `not yet recruiting`, `Phase 1/Phase 2`, `phase:2`, `II`, `1/2`,
`older adult`, `women`, `other U.S. federal`, `Accepts Healthy Volunteers`.

Readers normalise records with these tables, and filters and field scopes map what people
type with the same tables, so a record and a query can never disagree about a value. What
names no value is refused with a message listing the values, instead of silently matching
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import QueryError
from ..model import clean_text


def value_key(text: str) -> str:
    """A spelling as a key: upper case, `_` between words (`Active, not recruiting` ->
    `ACTIVE_NOT_RECRUITING`). Unlike `model.enum_value`, `N/A` stays `N_A` (a phase)."""
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def display_name(value: str) -> str:
    """How a value reads in messages: `NOT_YET_RECRUITING` -> `not yet recruiting`."""
    return value.lower().replace("_", " ")


def shown(text: str, limit: int = 40) -> str:
    """`text` cut to `limit` characters for an error message: never echo a huge value back."""
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Enumeration:
    """One of the registry's enumerations: its values in the registry's order, the other
    spellings of each (as `value_key`s), and labels where a value does not read well as
    words (`FED`: "Other U.S. federal agency")."""

    name: str  # the filter that takes it, as messages name it
    values: tuple[str, ...]
    aliases: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    spellings: str = ""  # the typed forms besides the values, for documentation
    # One word for several values: `status=open` is recruiting or not yet recruiting.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Words in a free-text query that name a value ("recruiting", "children", "women"): a
    # search offers them as filters (see `indexer.search.suggestions`).
    spoken: Mapping[str, str] = field(default_factory=dict)

    def canonical(self, text: Any) -> str | None:
        """The value `text` names (`not yet recruiting` -> NOT_YET_RECRUITING), or None."""
        key = value_key(clean_text(text)) if isinstance(text, str) else ""
        key = self.aliases.get(key, key)
        return key if key in self.values else None

    def parse(self, text: str) -> list[str]:
        """The values a person's `text` names (one, or a group's); QueryError naming this
        filter and listing the values when it names none."""
        group = self.groups.get(value_key(text))
        if group is not None:
            return list(group)
        value = self.canonical(text)
        if value is None:
            raise self.unknown(text)
        return [value]

    def unknown(self, text: str) -> QueryError:
        """The error for a spelling that names no value."""
        names = ", ".join([*self.values, *self.groups]).lower().replace("_", " ")
        return QueryError(f"unknown {self.name} '{shown(text)}'; {self.name} is one of: {names}",
                          param=self.name)

    def label(self, value: str) -> str:
        """How a value reads on a page: RECRUITING -> Recruiting, PHASE2 -> Phase 2."""
        if value in self.labels:
            return self.labels[value]
        return value_label(value)


def value_label(value: str) -> str:
    """Any registry value as words: ACTIVE_NOT_RECRUITING -> Active not recruiting, PHASE2 ->
    Phase 2, NA -> Not applicable."""
    if value == "NA":
        return "Not applicable"
    text = re.sub(r"phase(\d)", r"phase \1", str(value).replace("_", " ").lower())
    return text[:1].upper() + text[1:]


# Phase parts: `1`, `II`, `phase 2`, `PHASE2`, `early phase 1`, `n/a`; a list of them is
# separated by `/`, `,`, `+`, `&`, `|`, `and`, or by a space before the next `phase` (`Phase 1
# Phase 2`).
_PHASE_NUMBERS = {"0": "EARLY_PHASE1", "1": "PHASE1", "2": "PHASE2", "3": "PHASE3", "4": "PHASE4",
                  "I": "PHASE1", "II": "PHASE2", "III": "PHASE3", "IV": "PHASE4"}
_NOT_APPLICABLE = frozenset({"NA", "N_A", "NOT_APPLICABLE", "NONE"})
_PHASE_SEPARATOR = re.compile(r"\s*(?:[/,+&|]|\band\b)\s*|(?<!early)\s+(?=phase\b)|\s+(?=early\b)",
                              re.I)


def _phase(part: str) -> str | None:
    key = value_key(part)
    if key in _NOT_APPLICABLE:
        return "NA"
    key = re.sub(r"^PHASE_?", "", key)
    if key.startswith("EARLY"):
        return "EARLY_PHASE1" if re.sub(r"^EARLY_?(PHASE_?)?", "", key) in ("1", "I", "") else None
    return _PHASE_NUMBERS.get(key)


class PhaseEnumeration(Enumeration):
    """Phases, which people and records write as lists: `1/2` names phases 1 and 2."""

    def phases(self, text: str) -> list[str | None]:
        """Each part of `text` as a phase, None where a part names none."""
        if value_key(text) in _NOT_APPLICABLE:  # `n/a` holds the separator `/`
            return ["NA"]
        return [_phase(part) for part in _PHASE_SEPARATOR.split(text) if part.strip()]

    def canonical(self, text: Any) -> str | None:
        """The one phase `text` names, or None (a list names several: see `parse`)."""
        found = self.phases(text) if isinstance(text, str) else []
        return found[0] if len(found) == 1 else None

    def parse(self, text: str) -> list[str]:
        """The phases a person's `text` names (`"1/2"` -> PHASE1, PHASE2); QueryError when
        any part names none."""
        found = self.phases(text)
        if not found or None in found:
            raise self.unknown(text)
        return list(dict.fromkeys(found))

    def unknown(self, text: str) -> QueryError:
        """The error for a spelling that names no phase, with the numbers people write."""
        error = super().unknown(text)
        return QueryError(f"{error} (or 1, 2, II, 1/2)", param=self.name)


# A study's page on ClinicalTrials.gov, by NCT ID.
CTGOV_STUDY_URL = "https://clinicaltrials.gov/study/{}"
STATUS = Enumeration(
    "status",
    # ClinicalTrials.gov API v2 `overallStatus` values (also what its `filter.overallStatus` takes).
    ("RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
     "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN", "UNKNOWN", "AVAILABLE",
     "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD"),
    aliases={"UNKNOWN_STATUS": "UNKNOWN", "ACTIVE": "ACTIVE_NOT_RECRUITING",
             "NOT_RECRUITING": "ACTIVE_NOT_RECRUITING", "INVITATION": "ENROLLING_BY_INVITATION",
             "BY_INVITATION": "ENROLLING_BY_INVITATION"},
    spellings="or as written: `recruiting`, `not yet recruiting`, `Active, not recruiting`; "
              "`open` is recruiting or not yet recruiting",
    groups={"OPEN": ("RECRUITING", "NOT_YET_RECRUITING")},
    spoken={**{display_name(value): value for value in (
        "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
        "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN")}, "still recruiting": "RECRUITING"})
PHASE = PhaseEnumeration(
    "phase", ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"),
    spellings="or `1`, `2`, `II`, `phase 2`, `early phase 1`, `n/a`; `1/2` names phases 1 and 2",
    spoken={**{f"phase {number.lower()}": phase for number, phase in _PHASE_NUMBERS.items()
               if number != "0"}, "early phase 1": "EARLY_PHASE1"})
STUDY_TYPE = Enumeration(
    "type", ("INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS"),
    aliases={"OBSERVATIONAL_PATIENT_REGISTRY": "OBSERVATIONAL", "REGISTRY": "OBSERVATIONAL",
             "EXPANDED": "EXPANDED_ACCESS"},
    spellings="or as written: `interventional`, `expanded access`")
# ClinicalTrials.gov's age groups: child (birth-17), adult (18-64), older adult (65+).
AGE_GROUP = Enumeration(
    "age_group", ("CHILD", "ADULT", "OLDER_ADULT"),
    aliases={"CHILDREN": "CHILD", "KIDS": "CHILD", "PEDIATRIC": "CHILD", "ADULTS": "ADULT",
             "OLDER": "OLDER_ADULT", "OLDER_ADULTS": "OLDER_ADULT", "SENIOR": "OLDER_ADULT",
             "ELDERLY": "OLDER_ADULT"},
    spellings="or `child`, `adult`, `older adult`",
    spoken={**dict.fromkeys(("child", "children", "kids", "pediatric", "paediatric", "infants",
                             "adolescents", "teenagers"), "CHILD"),
            "adults": "ADULT", **dict.fromkeys(("older adults", "elderly", "seniors", "older people"),
                                               "OLDER_ADULT")})
ADULT_FROM_YEARS = 18.0
OLDER_ADULT_FROM_YEARS = 65.0
SEX = Enumeration(
    "sex", ("ALL", "FEMALE", "MALE"),
    aliases={"F": "FEMALE", "WOMAN": "FEMALE", "WOMEN": "FEMALE", "M": "MALE", "MAN": "MALE",
             "MEN": "MALE", "BOTH": "ALL", "ANY": "ALL"},
    spellings="or `women`, `men`",
    spoken={**dict.fromkeys(("women", "woman", "female", "females"), "FEMALE"),
            **dict.fromkeys(("men", "male", "males"), "MALE")})
# The lead sponsor's class as the registry writes it (API v2, classic API, legacy XML, TSV
# "Funded Bys") and as people do, folded into the four funder types people filter by:
# industry, NIH, other U.S. federal agency, everyone else.
FUNDER_TYPE = Enumeration(
    "funder_type", ("INDUSTRY", "NIH", "FED", "OTHER"),
    aliases={"FEDERAL": "FED", "U_S_FED": "FED", "US_FED": "FED", "OTHER_U_S_FEDERAL": "FED",
             "OTHER_US_FEDERAL": "FED", "PHARMA": "INDUSTRY", "OTHER_GOV": "OTHER",
             "INDIV": "OTHER", "NETWORK": "OTHER"},
    labels={"INDUSTRY": "Industry", "NIH": "NIH", "FED": "Other U.S. federal agency",
            "OTHER": "Other (universities, individuals, organizations)"},
    spellings="or `other U.S. federal`")

# Yes and no as people type them in a filter, and as the exports write them.
TYPED_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
RECORD_FLAGS = {**TYPED_FLAGS, "accepts healthy volunteers": True, "has results": True,
                "no results available": False}


def parse_flag(value: Any) -> bool | None:
    """True/False from a JSON boolean or the exports' words (`Yes`, `No`, `Accepts Healthy
    Volunteers`, `Has Results`, `No Results Available`); None otherwise."""
    if isinstance(value, bool):
        return value
    return RECORD_FLAGS.get(clean_text(value).lower()) if isinstance(value, str) else None


def record_phases(value: Any) -> list[str]:
    """A record's phases in any notation (`Phase 1/Phase 2`, `PHASE2`, `Phase II`, `N/A`, a
    list of them) as API v2 values: `['PHASE1', 'PHASE2']`, `['NA']`. Parts naming no phase
    are dropped."""
    items = value if isinstance(value, (list, tuple)) else [value]
    found = [phase for item in items if isinstance(item, str) for phase in PHASE.phases(item)]
    return list(dict.fromkeys(phase for phase in found if phase))


def record_std_ages(value: Any) -> list[str]:
    """Age groups in the registry's order: `['Adult', 'Older Adult']`, `'Child, Adult'` ->
    `['CHILD', 'ADULT']`; anything else is dropped."""
    items = value if isinstance(value, (list, tuple)) else [value]
    found = {AGE_GROUP.canonical(part) for item in items if isinstance(item, str)
             for part in item.split(",")}
    return [group for group in AGE_GROUP.values if group in found]


def std_ages_for_range(minimum_years: float | None, maximum_years: float | None) -> list[str]:
    """The age groups an age range (in years; None = no limit) overlaps: `18 Years` to `N/A`
    -> ['ADULT', 'OLDER_ADULT']; `12 Years` to `24 Years` -> ['CHILD', 'ADULT']. An upper
    limit of 17 Years means "through 17", so it stays a child."""
    low = 0.0 if minimum_years is None else minimum_years
    high = float("inf") if maximum_years is None else maximum_years
    if high < low:
        return []
    groups = []
    if low < ADULT_FROM_YEARS:
        groups.append("CHILD")
    if low < OLDER_ADULT_FROM_YEARS and high >= ADULT_FROM_YEARS:
        groups.append("ADULT")
    if high >= OLDER_ADULT_FROM_YEARS:
        groups.append("OLDER_ADULT")
    return groups
