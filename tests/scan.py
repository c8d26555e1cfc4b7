"""The slow, obvious way to filter and count studies: straight from their records, one by one.

Tests compare the search core's array filters and facet counts with this scan. It shares no
code with the core's filters: distances are the haversine formula written out, countries are
compared as pycountry names, statuses and ages read from the `Study` itself; a study's
conditions are its own condition strings and MeSH terms, analyzed one study at a time.
"""

from __future__ import annotations

import math
from collections import Counter

import pycountry

from indexer.index.analysis import analyze
from indexer.model import Study

EARTH_KM = 6371.0088


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km."""
    (lat1, lon1), (lat2, lon2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def _country(name: str) -> str | None:
    if name == "Turkey":
        return "TR"
    try:
        return pycountry.countries.lookup(name).alpha_2 if name else None
    except LookupError:
        return None


def sites_in(study: Study, statuses: list[str]):
    """The study's sites counted for a status filter: a site's own status, else the study's."""
    return [site for site in study.sites if not statuses or (site.status or study.status) in statuses]


def passes(study: Study, filters: dict) -> bool:
    """Whether `study` meets the place and person filters (country, near/radius, age, sex,
    age_group, healthy_volunteers, has_results, funder_type); others are not checked here."""
    statuses = filters.get("status", [])
    sites = sites_in(study, statuses)
    if "country" in filters:
        sites = [s for s in sites if _country(s.country) in filters["country"]]
        if not sites:
            return False
    if "near" in filters:
        point = tuple(float(x) for x in filters["near"].split(","))
        radius = float(filters.get("radius", 50))
        if not any(s.has_coordinates and km_between(point, (s.lat, s.lon)) <= radius for s in sites):
            return False
    if "age" in filters:
        age = float(filters["age"])
        low, high = study.minimum_age_years, study.maximum_age_years
        if (low is not None and age < low) or (high is not None and age > high):
            return False
    if "sex" in filters and study.sex not in (filters["sex"], "ALL"):
        return False
    for name, value in (("age_group", study.std_ages), ("funder_type", [study.funder_type]),
                        ("healthy_volunteers", [str(study.healthy_volunteers).lower()]),
                        ("has_results", [str(study.has_results).lower()])):
        if name in filters and not set(filters[name]) & set(value):
            return False
    return True


def facet_counts(studies: list[Study], statuses: list[str]) -> dict[str, Counter]:
    """Every facet's counts over `studies`, from their records."""
    counts: dict[str, Counter] = {name: Counter() for name in (
        "status", "phase", "type", "sponsor", "year", "condition", "country", "age_group", "sex",
        "healthy_volunteers", "has_results", "funder_type")}
    for study in studies:
        counts["status"].update([study.status] if study.status else [])
        counts["phase"].update(set(study.phases))
        counts["type"].update([study.study_type] if study.study_type else [])
        counts["sponsor"].update([study.sponsor] if study.sponsor else [])
        counts["year"].update([study.first_posted.year] if study.first_posted else [])
        counts["condition"].update({c.replace(",", " ") for c in study.conditions})
        counts["country"].update({c for c in map(_country, (s.country for s in sites_in(study, statuses)))
                                  if c})
        counts["age_group"].update(set(study.std_ages))
        counts["sex"].update([study.sex] if study.sex else [])
        for name in ("healthy_volunteers", "has_results"):
            value = getattr(study, name)
            counts[name].update([] if value is None else [str(value).lower()])
        counts["funder_type"].update([study.funder_type] if study.funder_type else [])
    return counts


def _holds(words: list[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(words[i:i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1))


def holds_condition(study: Study, phrases) -> bool:
    """Whether the study's condition strings, or its MeSH terms, written one after another
    (as the record lists them: one list of words each), hold one of `phrases` (analyzed
    words) in a row."""
    conditions = analyze(" ; ".join(study.conditions))
    terms = analyze(" ; ".join(dict.fromkeys([*study.condition_mesh, *study.intervention_mesh])))
    return any(_holds(conditions, tuple(phrase)) or _holds(terms, tuple(phrase)) for phrase in phrases)
