"""What a study page shows, modelled on ClinicalTrials.gov's: the study at a glance, who can
join (the criteria as the registry's lists), where (every site with its own status, distances
from the visitor's point, a map), whom to contact, then the rest of the record. `study_context`
makes the template's values; the helpers here are template globals (pages.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app

from indexer.catalog.facets import NEAR_PATTERN
from indexer.catalog.registry import value_label
from indexer.eligibility import parse_criteria
from indexer.model import Contact, Site, Study
from indexer.places import haversine_km

# Rows of the page's field lists: (label, what `pages.study_value` shows).
GLANCE_FIELDS = [
    ("Conditions", "conditions"), ("Interventions", "interventions"), ("Phase", "phases"),
    ("Study type", "study_type"), ("Enrollment", "enrollment"), ("Start date", "start_date"),
    ("Completion date", "completion_date"),
]
WHO_FIELDS = [("Ages", "ages"), ("Age groups", "std_ages"), ("Sex", "sex"),
              ("Healthy volunteers", "healthy_volunteers")]
# The rest, in the registry's order (overview with its MeSH terms, sponsor, record dates).
MORE_FIELDS = [
    ("Official title", "official_title"), ("Acronym", "acronym"), ("Results", "has_results"),
    ("Keywords", "keywords"), ("Condition MeSH terms", "condition_mesh"),
    ("Intervention MeSH terms", "intervention_mesh"), ("Sponsor", "sponsor"),
    ("Funder type", "funder_type"), ("Collaborators", "collaborators"),
    ("First posted", "first_posted"), ("Last update posted", "last_update_posted"),
]
SITES_SHOWN = 10  # sites listed before the rest fold away
MIN_PHONE_DIGITS = 3  # fewer is no number to call ("N/A" and stray marks are dropped earlier)


@dataclass(frozen=True)
class ShownSite:
    """A site as the page lists it: with its distance from the visitor's point (km) when the
    page has one and the site has coordinates."""

    site: Site
    distance_km: float | None = None


def near_point(value: str | None) -> tuple[float, float] | None:
    """The `near=latitude,longitude` a results page passed on, or None when absent or not a
    point (a study page ignores a bad one rather than fail: the study is still worth seeing)."""
    match = re.fullmatch(NEAR_PATTERN, value or "")
    return (float(match.group(1)), float(match.group(2))) if match else None


def shown_sites(study: Study, near: tuple[float, float] | None) -> list[ShownSite]:
    """The study's sites in the record's order, or with `near` nearest first (sites without
    coordinates last, in the record's order)."""
    if near is None:
        return [ShownSite(site) for site in study.sites]
    shown = [ShownSite(site, float(haversine_km(*near, site.lat, site.lon))
                       if site.has_coordinates else None) for site in study.sites]
    return sorted(shown, key=lambda item: (item.distance_km is None, item.distance_km or 0.0))


def map_sites(sites: list[ShownSite]) -> list[dict[str, Any]]:
    """The placed sites as the map script reads them (from the page's JSON block)."""
    return [{"lat": item.site.lat, "lon": item.site.lon, "label": item.site.label,
             "status": value_label(item.site.status) if item.site.status else "",
             "geocoded": item.site.geocoded}
            for item in sites if item.site.has_coordinates]


def study_context(study: Study, near: tuple[float, float] | None) -> dict[str, Any]:
    """Everything study.html shows of `study` besides the record itself; `near` is the
    visitor's point (distances, nearest sites first) or None."""
    sites = shown_sites(study, near)
    config = current_app.config
    return {
        "glance_fields": GLANCE_FIELDS, "who_fields": WHO_FIELDS, "more_fields": MORE_FIELDS,
        "criteria": parse_criteria(study.eligibility_criteria),
        "sites": sites, "sites_shown": SITES_SHOWN, "near": near,
        "countries": len({site.country for site in study.sites if site.country}),
        "map_sites": map_sites(sites),
        "tile_url": config["TILE_URL"], "tile_attribution": config["TILE_ATTRIBUTION"],
        "site_contacts": any(site.contacts for site in study.sites),
    }


def tel_href(contact: Contact) -> str:
    """A `tel:` link for the contact's phone (its digits, a leading +, and the extension when
    it is digits), or '' when the phone is no number to dial."""
    digits = re.sub(r"[^\d+]", "", contact.phone)
    digits = digits[:1] + digits[1:].replace("+", "")
    if sum(c.isdigit() for c in digits) < MIN_PHONE_DIGITS:
        return ""
    extension = f";ext={contact.phone_ext}" if contact.phone_ext.isdigit() else ""
    return f"tel:{digits}{extension}"


def mailto_href(contact: Contact) -> str:
    """A `mailto:` link for the contact's email, or '' when it is not an address."""
    email = contact.email
    if not re.fullmatch(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", email):
        return ""
    return "mailto:" + quote(email, safe="@.+-_")


# A part of an `extra` key that names a JSON format's module, not the field ("designModule").
_MODULE = re.compile(r"(?:Module|Section)$")


def _words(name: str) -> str:
    """A key part as lower-case words, acronyms kept: `overallOfficials` -> `overall
    officials`, `NCTId` -> `NCT id`, `agency_class` -> `agency class`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|_", " ", name)
    return " ".join(word if len(word) > 1 and word.isupper() else word.lower()
                    for word in spaced.split())


def field_label(key: str) -> str:
    """An `extra` key as words: `contactsLocationsModule.overallOfficials.name` -> `Overall
    officials: name`, `location/investigator/last_name` -> `Location › investigator: last
    name`, `SponsorCollaboratorsModule.LeadSponsor.LeadSponsorClass` -> `Lead sponsor:
    class`. Keys already written as words (the plain-text export's) stay as they are."""
    if " " in key.strip():
        return key
    path, _, attribute = key.partition("@")
    parts = [part for part in re.split(r"[./]", path) if part]
    parts = [part for part in parts if not _MODULE.search(part)] or parts[-1:]
    words = [_words(part) for part in parts] + ([_words(attribute)] if attribute else [])
    words = [word for word in words if word]
    # The classic API wraps each list (OverallOfficialList.OverallOfficial) and repeats the
    # parent's name in each child (OverallOfficialName): say each once.
    words = [word for word, after in zip(words, [*words[1:], ""]) if word != f"{after} list"]
    words = [word.removeprefix(f"{before} ") if before and word.startswith(f"{before} ") else word
             for before, word in zip(["", *words], words)]
    if not words:
        return key
    groups, leaf = words[:-1], words[-1]
    label = f"{' › '.join(groups)}: {leaf}" if groups else leaf
    return label[:1].upper() + label[1:]
