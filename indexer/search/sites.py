"""Where studies run and whom they enrol, as arrays: every site of every document (its
coordinates, status and country) and every document's age limits, for one index reader.

The arrays are each segment's tables (`indexer.index.tables`: mapped from the file written
with the segment, so every server worker shares them), read a segment at a time. Filters on
them are numpy masks, like the facet columns: a country or status is a table lookup per site, a
radius a latitude band and a haversine over the sites in it, an age two comparisons. A study
matches a place when one of its sites does, and a site counts only in the statuses a search
asks for (a recruiting study may have closed sites).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..index.tables import Tables, in_runs
from ..places import EARTH_RADIUS_KM, haversine_km

_KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class SiteCriteria:
    """What a site must be for its study to match: in one of `countries` (ISO codes), in one
    of `statuses` (codes in the `sites` column), within `radius_km` of `near`. Empty or None
    parts ask nothing."""

    countries: tuple[str, ...] = ()
    statuses: tuple[int, ...] = ()
    near: tuple[float, float] | None = None
    radius_km: float | None = None

    @property
    def places(self) -> bool:
        """Whether these criteria select places (a status alone selects no study by site)."""
        return bool(self.countries) or self.near is not None


@dataclass
class SiteMatch:
    """The sites meeting some criteria, per segment (in the reader's order): each segment's
    matching sites (positions in its site arrays) and, with `near`, their distances in km."""

    sites: list[np.ndarray]
    km: list[np.ndarray] | None

    @property
    def nbytes(self) -> int:
        """The memory it holds (filter caches are bounded by it)."""
        return sum(a.nbytes for a in self.sites) + sum(a.nbytes for a in self.km or [])


class SiteTable:
    """Every site of one reader's documents and each document's ages, a segment at a time
    (`segments`: each one's first document number and its tables). Sites of deleted documents
    stay in the tables: the masks made here are taken with the reader's live documents."""

    def __init__(self, size: int, segments: list[tuple[int, Tables]]):
        self.size = size
        self._segments = segments
        # Countries as one ordinal space across segments ('' first: unknown), each segment's
        # ordinals mapped onto it: a filter or facet is then a lookup per site.
        codes = sorted(set().union(*(t.values("country") for _, t in segments if t.has_sites)) | {b""})
        self.countries = [code.decode("ascii") for code in codes]
        number = {code: i for i, code in enumerate(codes)}
        # (first document number, tables, the segment's country ordinals in `countries`), for
        # the segments with sites
        self.parts = [(offset, tables, np.array([number[c] for c in tables.values("country")],
                                                dtype=np.int64))
                      for offset, tables in segments if tables.has_sites]

    def match(self, criteria: SiteCriteria) -> SiteMatch:
        """The sites meeting `criteria`."""
        wanted = [self.countries.index(c) for c in criteria.countries if c in self.countries]
        sites, distances = [], [] if criteria.near is not None else None
        for _, tables, countries in self.parts:
            found, km = _match(tables.arrays, countries, len(self.countries), wanted, criteria)
            sites.append(found)
            if distances is not None:
                distances.append(km)
        return SiteMatch(sites, distances)

    def country_counts(self, selected: list[np.ndarray], statuses: tuple[int, ...]) -> np.ndarray:
        """How many of the `selected` documents (per segment of the reader, segment-local)
        have a site in each of `countries` (in `statuses`, when given)."""
        counts = np.zeros(len(self.countries), dtype=np.int64)
        allowed = np.zeros(256, dtype=bool)
        allowed[list(statuses)] = True
        chosen = dict(zip((offset for offset, _ in self._segments), selected))
        for offset, tables, countries in self.parts:
            local = chosen[offset]
            if not len(local):
                continue
            arrays = tables.arrays
            at = in_runs(arrays["country:starts"], local, tables.documents)
            doc, country = arrays["country:doc"][at], arrays["country:ordinal"][at]
            if statuses:
                keep = allowed[arrays["country:status"][at]]
                doc, country = doc[keep], country[keep]
            # A document's (country, status) pairs are sorted: its repeats of a country are
            # neighbours, and each study counts once per country.
            first = np.ones(len(doc), dtype=bool)
            first[1:] = (doc[1:] != doc[:-1]) | (country[1:] != country[:-1])
            counts += np.bincount(countries[country[first]], minlength=len(counts))
        return counts

    def documents(self, matched: SiteMatch) -> np.ndarray:
        """A boolean mask over documents: those with a matching site."""
        mask = np.zeros(self.size, dtype=bool)
        for (offset, tables, _), sites in zip(self.parts, matched.sites):
            mask[offset + tables.arrays["site:doc"][sites]] = True
        return mask

    def nearest_km(self, matched: SiteMatch) -> np.ndarray:
        """Each document's distance to its nearest matching site (inf when none)."""
        km = np.full(self.size, np.inf)
        for (offset, tables, _), sites, found in zip(self.parts, matched.sites, matched.km or []):
            np.minimum.at(km, offset + tables.arrays["site:doc"][sites], found)
        return km

    def nearest_site(self, matched: SiteMatch, docnum: int) -> tuple[int, float] | None:
        """(place in the study's `sites`, km) of document `docnum`'s nearest matching site."""
        if matched.km is None:
            return None
        for (offset, tables, _), sites, km in zip(self.parts, matched.sites, matched.km):
            if offset <= docnum < offset + tables.documents:
                mine = np.flatnonzero(tables.arrays["site:doc"][sites] == docnum - offset)
                if not len(mine):
                    return None
                best = mine[np.argmin(km[mine])]
                return int(tables.arrays["site:index"][sites[best]]), float(km[best])
        return None

    def ages_include(self, age: float) -> np.ndarray:
        """A boolean mask over documents: those whose age limits include `age` (a missing
        limit is no limit)."""
        mask = np.ones(self.size, dtype=bool)
        for offset, tables in self._segments:
            inside = ~(tables.ages("min_age") > age) & ~(tables.ages("max_age") < age)
            mask[offset:offset + tables.documents] = inside
        return mask


def _match(arrays: dict[str, np.ndarray], countries: np.ndarray, known: int, wanted: list[int],
           criteria: SiteCriteria) -> tuple[np.ndarray, np.ndarray | None]:
    """One segment's sites meeting `criteria` (`countries`: its country ordinals in the
    reader's, `wanted`: the reader's ordinals of the countries asked for)."""
    km = None
    if criteria.near is not None:
        lat, lon = criteria.near
        band = criteria.radius_km / _KM_PER_DEGREE_LATITUDE + 1e-4  # float32 latitudes
        lo = np.searchsorted(arrays["site:sorted_lat"], lat - band, side="left")
        hi = np.searchsorted(arrays["site:sorted_lat"], lat + band, side="right")
        sites = arrays["site:by_lat"][lo:hi]
        distances = haversine_km(lat, lon, arrays["site:lat"][sites].astype(np.float64),
                                 arrays["site:lon"][sites].astype(np.float64))
        within = distances <= criteria.radius_km
        sites, km = sites[within], distances[within]
    else:
        sites = None  # every site, until a country or status narrows them
    if criteria.countries:
        allowed = np.zeros(known, dtype=bool)
        allowed[wanted] = True
        sites, km = _narrow(sites, km, allowed[countries], arrays["site:country"])
    if criteria.statuses:
        allowed = np.zeros(256, dtype=bool)
        allowed[list(criteria.statuses)] = True
        sites, km = _narrow(sites, km, allowed, arrays["site:status"])
    if sites is None:
        sites = np.arange(len(arrays["site:doc"]))
    return sites, km


def _narrow(sites: np.ndarray | None, km: np.ndarray | None, allowed: np.ndarray,
            values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The `sites` (None: all) whose value (an index into `allowed`) is allowed, and their
    distances. A lookup table, not np.isin: one gather per site."""
    if sites is None:
        return np.flatnonzero(allowed[values]), None
    keep = allowed[values[sites]]
    return sites[keep], (km[keep] if km is not None else None)
