"""Places: countries as ISO codes, sites placed by their city where the record gives no
coordinates (checked against the registry's own coordinates), and how one-string locations
split into their parts."""

from __future__ import annotations

import json

import pytest

from indexer import SAMPLE_DATA, build_index, open_index
from indexer.model import Site, Study
from indexer.places import country_code, country_name, fold, fold_all, haversine_km, locate, place_sites
from indexer.readers import read_sources
from indexer.readers.records import site_from_label


@pytest.mark.parametrize(("written", "code"), [
    ("United States", "US"), ("USA", "US"), ("us", "US"), ("Korea, Republic of", "KR"),
    ("South Korea", "KR"), ("Iran, Islamic Republic of", "IR"), ("Russian Federation", "RU"),
    ("Turkey", "TR"), ("Türkiye", "TR"), ("Czechia", "CZ"), ("Taiwan", "TW"), ("Germany", "DE"),
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
