"""The web app's JSON API through Flask's test client: search, studies, similar studies, health,
place suggestions, and the parameters and errors the OpenAPI document describes.

Pages are in test_webapp_pages.py, configuration, admin and freshness in
test_webapp_server.py, real gunicorn and Chromium runs in test_webapp_live.py.
"""

from __future__ import annotations

import jsonschema
import pytest
from webapp_helpers import api_search, validate

from indexer.catalog.facets import FACETS
from webapp import create_app
from webapp.api import PLACES_CACHE_SECONDS
from webapp.openapi import SCHEMAS


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def parameter(spec: dict, path: str, name: str) -> dict:
    operation = next(iter(spec["paths"][path].values()))
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_search_api_shape_matches_the_openapi_document(client):
    body = api_search(client, q="cirrhosis", status="RECRUITING")
    validate(body, "SearchResponse")
    assert list(body)[:6] == ["query", "total", "page", "per_page", "took_ms", "results"]
    assert body["per_page"] == 10 and body["total"] >= len(body["results"]) > 0
    assert set(body["facets"]) == {facet.name for facet in FACETS if facet.counted}
    hit = body["results"][0]
    assert hit["url"] == f"http://localhost/study/{hit['nct_id']}"
    assert hit["ctgov_url"] == f"https://clinicaltrials.gov/study/{hit['nct_id']}"
    assert "<mark" in hit["highlights"]["title"] + hit["highlights"]["summary"]


def test_study_similar_health_and_error_shapes(client):
    study = client.get("/api/studies/NCT99000001")
    validate(study.get_json(), "Study")
    assert "source" not in study.get_json(), "server paths stay private"
    similar = client.get("/api/studies/NCT99000001/similar?limit=3").get_json()
    validate(similar, "SearchResponse")
    assert 0 < len(similar["results"]) <= 3
    assert "NCT99000001" not in [hit["nct_id"] for hit in similar["results"]]
    health = client.get("/api/health").get_json()
    validate(health, "Health")
    assert health["documents"] >= 37
    assert health["vectors"]["studies"] == 0 and "no study vectors" in health["vectors"]["meaning_unavailable"]
    missing = client.get("/api/studies/NCT12345678")
    assert missing.status_code == 404
    validate(missing.get_json(), "Error")
    assert client.get("/api/studies/NCT12345678/similar").status_code == 404
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0" and "/api/search" in spec["paths"]


def test_search_with_near_says_which_place_it_used(client):
    named = api_search(client, q="", near="Toronto, ON", radius="20000", sort="distance")
    validate(named, "SearchResponse")
    assert named["place"]["query"] == "Toronto, ON" and named["place"]["label"] == "Toronto, Ontario, CA"
    point = api_search(client, q="", near=f"{named['place']['lat']},{named['place']['lon']}",
                       radius="20000", sort="distance")
    validate(point, "SearchResponse")
    assert point["place"]["label"] is None and point["place"]["lat"] == named["place"]["lat"]
    assert [hit["nearest_site"] for hit in point["results"]] == [hit["nearest_site"] for hit in named["results"]]
    assert api_search(client, q="exosomes")["place"] is None


def test_place_suggestions(client, spec):
    response = client.get("/api/places", query_string={"q": "Bos", "limit": "3"})
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    schema = spec["paths"]["/api/places"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": {"schemas": SCHEMAS}})
    assert len(body) == 3 and body[0]["label"] == "Boston, Massachusetts, US"
    assert body[0]["name"] == "Boston" and abs(body[0]["lat"] - 42.36) < 0.01
    assert [place["population"] for place in body[1:]] == sorted((place["population"] for place in body[1:]),
                                                                 reverse=True)
    # Each label is a value `near` takes, and names that place.
    near = api_search(client, q="", near=body[0]["label"])
    assert near["place"]["label"] == body[0]["label"]
    assert len(client.get("/api/places?q=b").get_json()) == 8  # the default limit
    assert client.get("/api/places?q=Qqqqqq").get_json() == []
    assert client.get("/api/places?q=b&limit=").status_code == 200
    # Public and cacheable like the search: the gazetteer changes only with a deploy.
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.cache_control.public and response.cache_control.max_age == PLACES_CACHE_SECONDS


def test_place_suggestions_need_no_index(tmp_path):
    client = create_app(index_path=tmp_path / "never-built").test_client()
    assert client.get("/api/places?q=Paris").get_json()[0]["label"] == "Paris, Île-de-France, FR"


@pytest.mark.parametrize(("query", "param"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "b" * 101}, "q"),
    ({"q": "Bos", "limit": "0"}, "limit"), ({"q": "Bos", "limit": "21"}, "limit"),
    ({"q": "Bos", "limit": "eight"}, "limit"), ({"q": "Bos", "limit": "²"}, "limit"),
])
def test_bad_place_suggestion_parameters_are_400_naming_them(client, query, param):
    response = client.get("/api/places", query_string=query)
    assert response.status_code == 400
    validate(response.get_json(), "Error")
    assert response.get_json()["param"] == param


@pytest.mark.parametrize(("params", "param"), [
    ({"q": "x", "per_page": "101"}, "per_page"),
    ({"q": "x", "per_page": "0"}, "per_page"),
    ({"q": "x", "page": "0"}, "page"),
    ({"q": "x", "page": "two"}, "page"),
    ({"q": "x", "page": "2000", "per_page": "10"}, "page"),
    ({"q": "x", "sort": "newest"}, "sort"),
    ({"q": "x", "field": "colour"}, "field"),
    ({"q": "x", "year": "twenty"}, "year"),
    ({"q": "x", "operator": "xor"}, "operator"),
    ({"q": "a" * 1001}, "q"),
    ({"q": "*"}, "q"),
    ({"q": "!?"}, "q"),
    ({"q": "x", "field": "Title"}, "field"),
    ({"q": "x", "per_page": "²"}, "per_page"),
    ({"q": "x", "year": "0000"}, "year"),
    ({"q": "x", "year": " 2020"}, "year"),
    ({"q": "x", "status": "bogus"}, "status"),
    ({"q": "x", "phase": "7"}, "phase"),
    ({"q": "x", "mode": "fuzzy"}, "mode"),
    ({"q": "title:x", "mode": "semantic"}, "mode"),
])
def test_bad_api_parameters_are_400_naming_the_parameter(client, params, param):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    validate(body, "Error")
    assert body["param"] == param and len(body["error"]) < 300


def test_field_takes_exactly_the_documented_names(client, spec):
    field = parameter(spec, "/api/search", "field")
    assert {"keyword", "eligibility", "conditions", "nct"} <= set(field["schema"]["enum"])
    for name in field["schema"]["enum"]:
        response = client.get("/api/search", query_string={"q": "2021", "field": name})
        # The name is taken; only the words may not suit the field (2021 is no status).
        assert response.status_code == 200 or response.get_json()["param"] == "q", name
    # Empty is documented as "all fields": the page's selector sends it.
    assert field["allowEmptyValue"]
    everywhere = api_search(client, q="exosomes")["total"]
    assert api_search(client, q="exosomes", field="")["total"] == everywhere


@pytest.mark.parametrize(("nct_id", "status"), [
    ("NCT99000001", 200), ("nct99000001", 200), ("NCT12345678", 404),
    ("0", 400), ("NCT9900000", 400), ("NCT990000011", 400), (" NCT99000001", 400),
    ("NCT٩٩٠٠٠٠٠١", 400),  # Arabic-Indic digits: \d would take them
])
def test_study_ids_are_refused_exactly_where_the_document_says(client, spec, nct_id, status):
    schema = parameter(spec, "/api/studies/{nct_id}", "nct_id")["schema"]
    assert jsonschema.Draft202012Validator(schema).is_valid(nct_id) == (status != 400)
    for url in (f"/api/studies/{nct_id}", f"/api/studies/{nct_id}/similar"):
        response = client.get(url)
        assert response.status_code == status, url
        if status == 400:
            assert response.get_json()["param"] == "nct_id"


def test_similar_limit_is_a_whole_number(client):
    response = client.get("/api/studies/NCT99000001/similar?limit=²")  # isdigit, but int() fails
    assert response.status_code == 400 and response.get_json()["param"] == "limit"
    assert client.get("/api/studies/NCT99000001/similar?limit=").status_code == 200  # the default


def test_documented_filter_examples_are_accepted(client, spec):
    for name in ("status", "phase", "type", "sponsor", "year"):
        for example in parameter(spec, "/api/search", name)["schema"]["examples"]:
            assert client.get("/api/search", query_string={name: example}).status_code == 200, name


def test_every_operation_documents_what_it_answers(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("parameters"):  # any parameter can be bad
                assert "400" in operation["responses"], (method, path)
            for code, response in operation["responses"].items():
                if code >= "400" and "content" in response:
                    assert response["content"]["application/json"]["schema"] == \
                        {"$ref": "#/components/schemas/Error"}, (method, path, code)


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("POST", "/api/search", "GET"), ("DELETE", "/api/studies/NCT99000001", "GET"),
    ("TRACE", "/api/health", "GET"), ("GET", "/api/admin/reindex", "POST"),
])
def test_method_not_allowed_names_the_allowed_methods(client, method, url, allowed):
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert allowed in {m.strip() for m in response.headers["Allow"].split(",")}
    validate(response.get_json(), "Error")
