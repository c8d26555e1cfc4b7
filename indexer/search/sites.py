"""Where studies run and whom they enrol, as arrays: every site of every document (its
coordinates, status and country) and every document's age limits, for one index reader.

Filters on them are numpy masks, like the facet columns: a country or status is an `isin`, a
radius a latitude band and a haversine over the sites in it, an age two comparisons. A study
matches a place when one of its sites does, and a site counts only in the statuses a search
asks for (a recruiting study may have closed sites).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..catalog.fields import SITE_DTYPE
from ..places import EARTH_RADIUS_KM, haversine_km
from .postings import SegmentCache

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
    """The sites meeting some criteria (ascending positions in the table) and, with `near`,
    their distances in km."""

    sites: np.ndarray
    km: np.ndarray | None


class SiteTable:
    """Every site of one reader's documents, in document order, and each document's ages."""

    def __init__(self, reader, segments: SegmentCache, live: np.ndarray):
        self.size = reader.doc_count_all()
        parts, owners, min_ages, max_ages = [], [], [], []
        for leaf, offset in reader.leaf_readers():
            if "sites" in leaf.schema:
                records, owner = segments.records(leaf, "sites", SITE_DTYPE)
                parts.append(records)
                owners.append(owner + offset)
            nan = np.full(leaf.doc_count_all(), np.nan, dtype=np.float32)
            min_ages.append(segments.floats(leaf, "min_age") if "min_age" in leaf.schema else nan)
            max_ages.append(segments.floats(leaf, "max_age") if "max_age" in leaf.schema else nan)
        records = np.concatenate(parts) if parts else np.zeros(0, dtype=SITE_DTYPE)
        doc = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int32)
        keep = live[doc] if len(doc) else np.zeros(0, dtype=bool)
        records, self.doc = records[keep], doc[keep]
        # float32 (as stored: a metre's precision) keeps 3.4M sites of a 500k index in 60 MB.
        self.lat, self.lon = records["lat"].copy(), records["lon"].copy()
        self.status, self.index = records["status"], records["index"]
        # Countries as ordinals into `countries` ('' first: unknown), so a filter is a lookup.
        codes, ordinals = np.unique(np.concatenate([[b""], records["country"]]), return_inverse=True)
        self.countries = [code.decode("ascii") for code in codes]
        self.country = ordinals.ravel()[1:].astype(np.uint16)
        # Sites by latitude, so a radius reads only the band it can reach.
        self._by_lat = np.argsort(self.lat, kind="stable").astype(np.int32)  # NaN (no coordinates) last
        self._sorted_lat = self.lat[self._by_lat]
        self.min_age = np.concatenate(min_ages) if min_ages else np.zeros(0, dtype=np.float32)
        self.max_age = np.concatenate(max_ages) if max_ages else np.zeros(0, dtype=np.float32)

    def match(self, criteria: SiteCriteria) -> SiteMatch:
        """The sites meeting `criteria` (positions in the table, in no particular order)."""
        km = None
        if criteria.near is not None:
            lat, lon = criteria.near
            band = criteria.radius_km / _KM_PER_DEGREE_LATITUDE + 1e-4  # float32 latitudes
            lo = np.searchsorted(self._sorted_lat, lat - band, side="left")
            hi = np.searchsorted(self._sorted_lat, lat + band, side="right")
            sites = self._by_lat[lo:hi]
            distances = haversine_km(lat, lon, self.lat[sites].astype(np.float64),
                                     self.lon[sites].astype(np.float64))
            within = distances <= criteria.radius_km
            sites, km = sites[within], distances[within]
        else:
            sites = None  # every site, until a country or status narrows them
        if criteria.countries:
            wanted = [self.countries.index(c) for c in criteria.countries if c in self.countries]
            sites, km = _narrow(sites, km, self.country, len(self.countries), wanted)
        if criteria.statuses:
            sites, km = _narrow(sites, km, self.status, 256, list(criteria.statuses))
        if sites is None:
            sites = np.arange(len(self.doc))
        return SiteMatch(sites, km)

    def documents(self, matched: SiteMatch) -> np.ndarray:
        """A boolean mask over documents: those with a matching site."""
        mask = np.zeros(self.size, dtype=bool)
        mask[self.doc[matched.sites]] = True
        return mask

    def nearest_km(self, matched: SiteMatch) -> np.ndarray:
        """Each document's distance to its nearest matching site (inf when none)."""
        km = np.full(self.size, np.inf)
        if matched.km is not None:
            np.minimum.at(km, self.doc[matched.sites], matched.km)
        return km

    def nearest_site(self, matched: SiteMatch, docnum: int) -> tuple[int, float] | None:
        """(place in the study's `sites`, km) of document `docnum`'s nearest matching site."""
        if matched.km is None:
            return None
        mine = np.flatnonzero(self.doc[matched.sites] == docnum)
        if not len(mine):
            return None
        best = mine[np.argmin(matched.km[mine])]
        return int(self.index[matched.sites[best]]), float(matched.km[best])

    def country_pairs(self, statuses: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(document, country ordinal) once per document and country of its sites (in
        `statuses`, when given), and the countries the ordinals stand for."""
        keep = self.country > 0
        if statuses:
            allowed = np.zeros(256, dtype=bool)
            allowed[list(statuses)] = True
            keep &= allowed[self.status]
        size = len(self.countries)
        pairs = np.unique(self.doc[keep].astype(np.int64) * size + self.country[keep])
        return pairs // size, pairs % size, self.countries

    def ages_include(self, age: float) -> np.ndarray:
        """A boolean mask over documents: those whose age limits include `age` (a missing
        limit is no limit)."""
        return ~(self.min_age > age) & ~(self.max_age < age)


def _narrow(sites: np.ndarray | None, km: np.ndarray | None, values: np.ndarray, size: int,
            wanted: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The `sites` (None: all) whose value (an ordinal below `size`) is `wanted`, and their
    distances. A lookup table, not np.isin: one gather per site."""
    allowed = np.zeros(size, dtype=bool)
    allowed[wanted] = True
    if sites is None:
        return np.flatnonzero(allowed[values]), None
    keep = allowed[values[sites]]
    return sites[keep], (km[keep] if km is not None else None)
