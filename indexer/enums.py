"""The registry's enumerated values (overall status, phase, study type, age group, sex, funder
type) and the forms people write them in: `not yet recruiting`, `Active, not recruiting`,
`phase 2`, `phase:2`, `II`, `1/2`, `older adult`, `women`, `other U.S. federal`.

Filters (API, CLI `--filter`, page, widget) and field scopes in the query language
(`status:"not yet recruiting"`, `phase:2`) both map what was typed to these values here, and
refuse anything else with a message that lists what is allowed, instead of silently matching
nothing.
"""

from __future__ import annotations

import re

from .errors import QueryError
from .model import FUNDER_TYPES, SEXES, STD_AGES

# ClinicalTrials.gov API v2 `overallStatus` values.
STATUSES = (
    "RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING",
    "COMPLETED", "SUSPENDED", "TERMINATED", "WITHDRAWN", "UNKNOWN", "AVAILABLE",
    "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD",
)
PHASES = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
STUDY_TYPES = ("INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS")

# Facet name -> the values it takes.
ENUM_FACETS: dict[str, tuple[str, ...]] = {
    "status": STATUSES, "phase": PHASES, "type": STUDY_TYPES,
    "age_group": STD_AGES, "sex": SEXES, "funder_type": FUNDER_TYPES,
}

# Other spellings of a value, after `_key` (upper case, `_` between words).
_ALIASES = {
    "status": {"UNKNOWN_STATUS": "UNKNOWN", "ACTIVE": "ACTIVE_NOT_RECRUITING",
               "NOT_RECRUITING": "ACTIVE_NOT_RECRUITING", "INVITATION": "ENROLLING_BY_INVITATION",
               "BY_INVITATION": "ENROLLING_BY_INVITATION"},
    "type": {"OBSERVATIONAL_PATIENT_REGISTRY": "OBSERVATIONAL", "REGISTRY": "OBSERVATIONAL",
             "EXPANDED": "EXPANDED_ACCESS"},
    "age_group": {"CHILDREN": "CHILD", "KIDS": "CHILD", "PEDIATRIC": "CHILD", "ADULTS": "ADULT",
                  "OLDER": "OLDER_ADULT", "OLDER_ADULTS": "OLDER_ADULT", "SENIOR": "OLDER_ADULT",
                  "ELDERLY": "OLDER_ADULT"},
    "sex": {"F": "FEMALE", "WOMAN": "FEMALE", "WOMEN": "FEMALE", "M": "MALE", "MAN": "MALE",
            "MEN": "MALE", "BOTH": "ALL", "ANY": "ALL"},
    "funder_type": {"FEDERAL": "FED", "U_S_FED": "FED", "US_FED": "FED",
                    "OTHER_U_S_FEDERAL": "FED", "OTHER_US_FEDERAL": "FED", "PHARMA": "INDUSTRY"},
}
_PHASE_NUMBERS = {"0": "EARLY_PHASE1", "1": "PHASE1", "2": "PHASE2", "3": "PHASE3", "4": "PHASE4",
                  "I": "PHASE1", "II": "PHASE2", "III": "PHASE3", "IV": "PHASE4"}
_NOT_APPLICABLE = {"NA", "N_A", "NOT_APPLICABLE", "NONE"}
_PHASE_SEPARATOR = re.compile(r"\s*(?:/|,|\+|&|\band\b)\s*", re.I)


def _key(text: str) -> str:
    # `enum_value` without its missing-value mapping: `N/A` is a phase here, not a blank.
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def display_name(value: str) -> str:
    """How a value reads in messages: `NOT_YET_RECRUITING` -> `not yet recruiting`."""
    return value.lower().replace("_", " ")


def _phase(part: str) -> str | None:
    key = _key(part)
    if key in _NOT_APPLICABLE:
        return "NA"
    key = re.sub(r"^PHASE_?", "", key)
    if key.startswith("EARLY"):
        return "EARLY_PHASE1" if re.sub(r"^EARLY_?(PHASE_?)?", "", key) in ("1", "I", "") else None
    return _PHASE_NUMBERS.get(key)


def _phases(text: str) -> list[str] | None:
    if _key(text) in _NOT_APPLICABLE:  # `n/a` holds the separator `/`
        return ["NA"]
    parts = [part for part in _PHASE_SEPARATOR.split(text) if part.strip()]
    phases = [_phase(part) for part in parts]
    if not phases or None in phases:
        return None
    return list(dict.fromkeys(phases))


def canonical_values(facet: str, text: str) -> list[str]:
    """The registry values that `text` names for `facet` (a key of ENUM_FACETS):
    `"not yet recruiting"` -> `["NOT_YET_RECRUITING"]`, `"1/2"` -> `["PHASE1", "PHASE2"]`.
    Raises QueryError naming `facet` and the allowed values when `text` names none of them."""
    allowed = ENUM_FACETS[facet]
    if facet == "phase":
        values = _phases(text)
    else:
        key = _key(text)
        key = _ALIASES.get(facet, {}).get(key, key)
        values = [key] if key in allowed else None
    if not values:
        shown = text if len(text) <= 40 else text[:40] + "…"  # never echo a huge value back
        names = ", ".join(display_name(value) for value in allowed)
        examples = " (or 1, 2, II, 1/2)" if facet == "phase" else ""
        raise QueryError(f"unknown {facet} '{shown}'; {facet} is one of: {names}{examples}",
                         param=facet)
    return values
