"""Location, eligibility and results filters in the search core: what each selects on small
hand-made records, and the clear refusal of bad values (the API turns those into 400s naming
the parameter)."""

from __future__ import annotations

import json

import pytest

from indexer import build_index, open_index
from indexer.errors import QueryError
from webapp import create_app


def _study(nct: str, *, sex="ALL", low=None, high=None, healthy=None, results=False,
           funder="OTHER", sites=()) -> dict:
    eligibility = {"sex": sex, "healthyVolunteers": healthy}  # sex None: not stated
    if low:
        eligibility["minimumAge"] = low
    if high:
        eligibility["maximumAge"] = high
    return {"hasResults": results, "protocolSection": {
        "identificationModule": {"nctId": nct, "briefTitle": f"Study {nct}"},
        "statusModule": {"overallStatus": "RECRUITING"},
        "eligibilityModule": {k: v for k, v in eligibility.items() if v is not None},
        "sponsorCollaboratorsModule": {"leadSponsor": {"name": "S", "class": funder}},
        "contactsLocationsModule": {"locations": list(sites)}}}


BOSTON = {"city": "Boston", "country": "United States", "status": "RECRUITING",
          "geoPoint": {"lat": 42.3601, "lon": -71.0589}}
WORCESTER = {"city": "Worcester", "country": "United States", "status": "WITHDRAWN",
             "geoPoint": {"lat": 42.2626, "lon": -71.8023}}  # 62 km west of Boston
STUDIES = [
    _study("NCT00000101", sex="FEMALE", low="18 Years", sites=[BOSTON]),
    _study("NCT00000102", sex="MALE", low="6 Months", high="17 Years", healthy=True, sites=[WORCESTER]),
    _study("NCT00000103", low="N/A", high="65 Years", results=True, funder="NIH",
           sites=[WORCESTER, BOSTON]),
    _study("NCT00000104", funder="OTHER_GOV"),  # no ages, no sites
    _study("NCT00000105", sex=None),  # says nothing of whom it enrols
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("place-filters")
    (folder / "studies.jsonl").write_text("\n".join(json.dumps(s) for s in STUDIES), encoding="utf-8")
    build_index([folder / "studies.jsonl"], folder / "index")
    return open_index(folder / "index")


def found(index, **filters) -> list[str]:
    return sorted(hit.nct_id[-3:] for hit in index.search(filters=filters, per_page=100).hits)


@pytest.mark.parametrize(("age", "expected"), [
    ("0.25", ["103", "104"]),  # younger than 6 months; N/A and missing limits are no limits
    ("0.5", ["102", "103", "104"]), ("17", ["102", "103", "104"]), ("17.5", ["103", "104"]),
    ("18", ["101", "103", "104"]), ("70", ["101", "104"]), ("150", ["101", "104"]),
])
def test_age_is_inside_the_limits_and_missing_limits_are_none(index, age, expected):
    assert found(index, age=age) == [*expected, "105"]  # 105 states no limit either


def test_sex_includes_studies_open_to_all_and_those_that_do_not_say(index):
    # A record that states no sex shuts no one out, as a missing age limit is no limit.
    assert found(index, sex="women") == ["101", "103", "104", "105"]
    assert found(index, sex="MALE") == ["102", "103", "104", "105"]
    assert found(index, sex="ALL") == ["103", "104"]
    assert found(index, sex=["female", "male"]) == ["101", "102", "103", "104", "105"]


def test_flags_funders_and_age_groups(index):
    assert found(index, healthy_volunteers="yes") == ["102"]
    assert found(index, has_results="true") == ["103"]
    assert found(index, has_results="0") == ["101", "102", "104", "105"]
    assert found(index, funder_type="other U.S. federal") == []
    assert found(index, funder_type=["NIH", "other"]) == ["101", "102", "103", "104", "105"]
    assert found(index, age_group="child") == ["102", "103"]


def test_radius_status_and_distance_order(index):
    assert found(index, near="42.36,-71.06") == ["101", "103"]  # default radius: 50 km
    assert found(index, near="42.36,-71.06", radius="70") == ["101", "102", "103"]
    # Worcester's sites are withdrawn: a recruiting search does not count them.
    assert found(index, near="42.26,-71.80", radius="5") == ["102", "103"]
    assert found(index, near="42.26,-71.80", radius="5", status="RECRUITING") == []
    ordered = index.search(filters={"near": "42.26,-71.80", "radius": "100"}, sort="distance")
    assert [(h.nct_id[-3:], h.nearest_site["city"]) for h in ordered.hits] == [
        ("102", "Worcester"), ("103", "Worcester"), ("101", "Boston")]
    assert ordered.hits[2].nearest_site["distance_km"] == pytest.approx(62, abs=2)
    assert all(hit.score is None for hit in ordered.hits)
    recruiting = index.search(filters={"near": "42.26,-71.80", "radius": "100", "status": "RECRUITING"},
                              sort="distance")
    assert [(h.nct_id[-3:], h.nearest_site["city"]) for h in recruiting.hits] == [
        ("101", "Boston"), ("103", "Boston")]


def test_country_facet_counts_sites_in_the_asked_status(index):
    assert index.search().facets["country"] == [{"value": "US", "count": 3, "label": "United States"}]
    assert found(index, country="usa") == ["101", "102", "103"]
    assert found(index, country="United States", status="recruiting") == ["101", "103"]
    counted = index.search(filters={"status": "RECRUITING"}).facets["country"]
    assert counted == [{"value": "US", "count": 2, "label": "United States"}]


def test_a_place_typed_by_name_is_its_geonames_point(index):
    """`near=boston ma` searches from GeoNames' point for Boston exactly as that point typed
    as latitude,longitude does, and the result says which place it used."""
    by_name = index.search(filters={"near": "boston ma"}, sort="distance")
    by_point = index.search(filters={"near": "42.35843,-71.05977"}, sort="distance")
    assert [h.nct_id[-3:] for h in by_name.hits] == [h.nct_id[-3:] for h in by_point.hits] == ["101", "103"]
    assert [h.nearest_site for h in by_name.hits] == [h.nearest_site for h in by_point.hits]
    place = by_name.place
    assert {k: place[k] for k in ("query", "label", "name", "admin1", "country", "lat", "lon")} == {
        "query": "boston ma", "label": "Boston, Massachusetts, US", "name": "Boston",
        "admin1": "Massachusetts", "country": "US", "lat": 42.35843, "lon": -71.05977}
    assert place["population"] > 500_000
    assert by_point.place == {"query": "42.35843,-71.05977", "label": None, "name": None,
                              "admin1": None, "country": None, "population": None,
                              "lat": 42.35843, "lon": -71.05977}
    assert index.search().place is None
    assert found(index, near="Worcester, Massachusetts", radius="5") == ["102", "103"]
    assert found(index, near="Worcester, England", radius="5000") == []  # 5,000 km: not quite


BAD = [
    ({"country": "XX"}, "country", "unknown country 'XX'"),
    ({"age": "-3"}, "age", "age must be a person's age in years, from 0 to 150"),
    ({"age": "abc"}, "age", "got 'abc'"),
    ({"near": "Xyzzyville"}, "near", "near: no place called 'Xyzzyville'"),
    ({"near": "Bostn"}, "near", "did you mean Boston"),
    ({"near": "-"}, "near", "near must be a place's name"),
    ({"near": "91,0"}, "near", "latitude -90 to 90"),
    ({"near": "1,2", "radius": "30000"}, "radius", "from 0 to 20,000"),
    ({"radius": "5"}, "radius", "radius needs near"),
    ({"sex": "other"}, "sex", "sex is one of: all, female, male"),
    ({"healthy_volunteers": "maybe"}, "healthy_volunteers", "true or false"),
    ({"funder_type": "pharma co"}, "funder_type", "funder_type is one of"),
    ({"age_group": "teen"}, "age_group", "age_group is one of"),
    ({"near": ["1,2", "3,4"]}, "near", "near takes one value"),
]


@pytest.mark.parametrize(("filters", "param", "message"), BAD, ids=lambda v: str(v)[:30])
def test_bad_values_are_refused_naming_the_parameter(index, filters, param, message):
    with pytest.raises(QueryError, match=message) as raised:
        index.search(filters=filters)
    assert raised.value.param == param
    client = create_app(index_path=index.path).test_client()
    answer = client.get("/api/search", query_string=filters)
    assert answer.status_code == 400 and answer.json["param"] == param
    assert message in answer.json["error"]


def test_sort_by_distance_needs_a_point(index):
    with pytest.raises(QueryError, match="needs near") as raised:
        index.search(sort="distance")
    assert raised.value.param == "sort"
