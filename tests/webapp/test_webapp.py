"""The web app through Flask's test client: search page, study page, JSON API, admin, freshness.

Real gunicorn and Chromium runs are in test_webapp_live.py.
"""

from __future__ import annotations

import re
import shutil
import time
from html.parser import HTMLParser

import jsonschema
import pytest
from conftest import INVENTED_DATA, SEED_RECORD, XSS_NCT_ID, XSS_TITLE

from indexer import build_index
from indexer.catalog.facets import FACETS
from indexer.eligibility import parse_criteria
from indexer.index.layout import write_lock
from webapp import create_app, live_index
from webapp.api import PLACES_CACHE_SECONDS
from webapp.live_index import warm_in_background
from webapp.openapi import SCHEMAS

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="module")
def app_config() -> dict:
    """The conftest `app`, with an admin token: the admin endpoints are tested here."""
    return {"ADMIN_TOKEN": ADMIN_TOKEN}


@pytest.fixture
def writable_index(corpus_dir, tmp_path):
    """An index of the test corpus that a test may rebuild."""
    path = tmp_path / "index_data"
    build_index([corpus_dir], path)
    return path


def validate(body: dict, schema_name: str) -> None:
    """Check an API response against the OpenAPI document's schema for it."""
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": {"schemas": SCHEMAS}}
    jsonschema.validate(body, schema)


class Links(HTMLParser):
    """Collects hrefs, script tags and the names of form fields from a page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.scripts, self.inputs = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs)
        if tag in ("input", "select") and attrs.get("name"):
            self.inputs.append(attrs["name"])


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def api_search(client, **params) -> dict:
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# -- search page -----------------------------------------------------------------------------

def test_first_screen_asks_what_where_and_whether_recruiting(client):
    page = client.get("/").get_data(as_text=True)
    form = parse(page)
    assert {"q", "near", "radius", "status"} <= set(form.inputs), form.inputs
    assert re.search(r'<input type="checkbox" name="status" value="open"\s+checked>', page)
    assert 'for="q">Condition, treatment or NCT ID</label>' in page and 'for="near">Near' in page
    assert 'href="/help"' in page and "title:" not in page  # the syntax lives on the help page


def test_help_teaches_the_syntax_with_examples_that_work(client):
    page = client.get("/help").get_data(as_text=True)
    assert 'id="syntax"' in page and "<code>mesh:</code>" in page
    examples = [href for href in parse(page).hrefs if href.startswith("/?q=")]
    assert len(examples) >= 6
    found = 0
    for href in examples:
        response = client.get(href)
        assert response.status_code == 200, href
        text = response.get_data(as_text=True)
        assert 'role="alert"' not in text, href
        found += not re.search(r"\b0 studies match", text)  # "10 studies match" is not "0 ..."
    assert found == len(examples), "every example should find something in the sample corpus"


def test_search_page_lists_highlighted_hits_with_count_and_time(client):
    page = client.get("/?q=exosomes").get_data(as_text=True)
    assert re.search(r"\d+ studies match\s*<span class=\"took\">\(\d+\.\d ms\)", page)
    assert re.search(r'<mark class="match term\d">exosomes</mark>', page, re.IGNORECASE)
    assert 'class="badge status-' in page
    if SEED_RECORD.is_file():
        assert "/study/NCT05871463" in page


def test_pages_work_without_javascript(client):
    # The search page's one script adds place suggestions, "use my location" and the phone's
    # filters panel; the form, the filters and every link work without it.
    for url in ("/", "/?q=exosomes"):
        assert parse(client.get(url).get_data(as_text=True)).scripts == [{"src": "/static/page.js", "defer": None}], url
    assert parse(client.get("/study/NCT99000001").get_data(as_text=True)).scripts == []


def test_field_selector_and_typed_field_syntax_agree(client):
    by_selector = client.get("/?q=exosomes&field=title").get_data(as_text=True)
    typed = client.get("/?q=title:exosomes").get_data(as_text=True)
    ids = lambda page: re.findall(r'href="/study/(NCT\d{8})"', page)  # noqa: E731
    assert ids(by_selector) and ids(by_selector) == ids(typed)
    everywhere = api_search(client, q="exosomes")["total"]
    assert api_search(client, q="exosomes", field="title")["total"] < everywhere


def test_facet_links_filter_and_toggle_off(client):
    page = client.get("/?q=cirrhosis").get_data(as_text=True)
    match = re.search(r'href="(/\?q=cirrhosis&amp;status=RECRUITING)"', page)
    assert match, "the status facet offers RECRUITING"
    filtered = client.get(match.group(1).replace("&amp;", "&")).get_data(as_text=True)
    badges = re.findall(r'class="badge status-([a-z_]+)"', filtered.split('class="hits"')[1])
    assert badges and set(badges) == {"recruiting"}
    assert 'aria-current="true"' in filtered
    # The active facet links back to the unfiltered search.
    assert 'href="/?q=cirrhosis"' in filtered
    api = api_search(client, q="cirrhosis", status="RECRUITING")
    assert f"{api['total']} studies match" in filtered or f"{api['total']} study matches" in filtered


def test_sort_and_pagination_links(client):
    page1 = client.get("/?q=study&per_page=5").get_data(as_text=True)
    assert 'rel="next"' in page1
    page2 = client.get("/?q=study&per_page=5&page=2").get_data(as_text=True)
    ids = lambda page: re.findall(r'href="/study/(NCT\d{8})"', page.split('class="hits"')[1])  # noqa: E731
    assert len(ids(page1)) == 5 and not set(ids(page1)) & set(ids(page2))
    assert 'aria-current="page">2<' in page2
    dated = api_search(client, q="study", sort="last_update", per_page=20)["results"]
    dates = [hit["last_update_posted"] for hit in dated if hit["last_update_posted"]]
    assert dates == sorted(dates, reverse=True) and len(dates) > 5


def test_did_you_mean_on_page_and_api(client):
    page = client.get("/?q=exosmes").get_data(as_text=True)
    assert 'Did you mean <a href="/?q=exosomes">exosomes</a>' in page
    assert api_search(client, q="exosmes")["suggestion"] == "exosomes"


@pytest.mark.parametrize("query", ['"unbalanced', "(open", "nosuchfield:x"])
def test_query_syntax_error_is_a_clear_message_on_a_200_page(client, query):
    response = client.get("/", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and 'href="/help#syntax"' in page
    error = client.get("/api/search", query_string={"q": query})
    assert error.status_code == 400 and error.get_json()["param"] == "q"


def test_syntax_error_on_the_page_still_searches_the_plain_words(client):
    page = client.get("/", query_string={"q": '"liver (cirrhosis'}).get_data(as_text=True)
    assert "unbalanced" in page and "<q>liver cirrhosis</q>" in page
    assert re.search(r"[1-9]\d* studies match", page)


def test_bad_page_parameter_on_the_page_names_it(client):
    page = client.get("/?q=exosomes&page=zero").get_data(as_text=True)
    assert 'role="alert"' in page and "<code>page</code>" in page


# -- study page ------------------------------------------------------------------------------

def test_study_page_shows_every_field_and_links_to_the_registry(client, app):
    study = client.get("/api/studies/NCT99000001").get_json()
    page = client.get("/study/NCT99000001").get_data(as_text=True)
    assert 'href="https://clinicaltrials.gov/study/NCT99000001"' in page
    escape = lambda text: text.replace("&", "&amp;").replace("'", "&#39;").replace('"', "&#34;")  # noqa: E731
    for name in ("brief_title", "official_title", "sponsor", "brief_summary"):
        if study[name]:
            assert escape(study[name][:40]) in page, name
    # The criteria as the registry's lists, item by item.
    criteria = parse_criteria(study["eligibility_criteria"])
    assert criteria.sections and all(escape(item) in page for s in criteria.sections for item in s.items)
    for condition in study["conditions"]:
        assert condition in page
    assert "Similar studies" in page
    assert client.get("/study/nct99000001").status_code == 200  # IDs are forgiving
    missing = client.get("/study/NCT12345678")
    assert missing.status_code == 404 and "NCT12345678" in missing.get_data(as_text=True)


def test_hostile_record_is_inert_in_page_snippets_and_study_page(client):
    for url in ("/?q=exosomes", "/?q=alert", f"/study/{XSS_NCT_ID}"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;" in page, url
        assert all(script["src"].startswith("/static/") for script in parse(page).scripts), url
    api = client.get(f"/api/studies/{XSS_NCT_ID}").get_json()
    assert api["brief_title"] == XSS_TITLE  # JSON carries the text as it is; HTML escapes it


# -- JSON API --------------------------------------------------------------------------------

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


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def parameter(spec: dict, path: str, name: str) -> dict:
    operation = next(iter(spec["paths"][path].values()))
    return next(p for p in operation["parameters"] if p["name"] == name)


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


def test_page_size_limit_comes_from_the_environment(built_index, monkeypatch):
    monkeypatch.setenv("TRIALSEARCH_MAX_PER_PAGE", "5")
    client = create_app(index_path=built_index).test_client()
    assert client.get("/api/search?q=study&per_page=5").status_code == 200
    response = client.get("/api/search?q=study&per_page=6")
    assert response.status_code == 400 and "between 1 and 5" in response.get_json()["error"]


def test_index_path_comes_from_the_environment(built_index, monkeypatch):
    monkeypatch.setenv("TRIALSEARCH_INDEX", str(built_index))
    assert create_app().test_client().get("/api/health").get_json()["documents"] >= 37


def test_links_follow_a_trusted_proxy(built_index):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "trials.example.org"}
    direct = create_app(index_path=built_index).test_client()
    assert api_search(direct, q="exosomes")["results"][0]["url"].startswith("http://localhost/")
    proxied = create_app(index_path=built_index, PROXIES=1).test_client()
    hit = proxied.get("/api/search?q=exosomes", headers=headers).get_json()["results"][0]
    assert hit["url"] == f"https://trials.example.org/study/{hit['nct_id']}"


def test_missing_index_is_a_503_with_a_clear_message(tmp_path):
    client = create_app(index_path=tmp_path / "nothing").test_client()
    response = client.get("/api/search?q=x")
    assert response.status_code == 503 and "trialsearch build" in response.get_json()["error"]
    assert client.get("/").status_code == 200  # the empty page needs no index
    assert "trialsearch build" in client.get("/?q=x").get_data(as_text=True)


def test_cors_default_allows_any_origin_but_not_admin(client):
    response = client.get("/api/search?q=x", headers={"Origin": "https://hospital.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    admin = client.post("/api/admin/reindex", headers={"Origin": "https://hospital.example"})
    assert "Access-Control-Allow-Origin" not in admin.headers


def test_cors_restricted_origins(built_index):
    client = create_app(index_path=built_index, WIDGET_ORIGINS=("https://ok.example",)).test_client()
    allowed = client.get("/api/search?q=x", headers={"Origin": "https://ok.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert "Origin" in allowed.headers["Vary"]
    refused = client.get("/api/search?q=x", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert client.get("/api/search?q=x").status_code == 200  # same-origin and non-browser clients
    # Place suggestions are public on the same terms.
    places = client.get("/api/places?q=Bos", headers={"Origin": "https://ok.example"})
    assert places.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert client.get("/api/places?q=Bos", headers={"Origin": "https://evil.example"}).status_code == 403


# -- admin and freshness ---------------------------------------------------------------------

def test_admin_reindex_needs_the_token_and_then_rebuilds(writable_index, corpus_dir):
    app = create_app(index_path=writable_index, ADMIN_TOKEN=ADMIN_TOKEN, SOURCES=[str(corpus_dir)])
    client = app.test_client()
    before = client.get("/api/health").get_json()["generation"]
    assert client.post("/api/admin/reindex?wait=true").status_code == 401
    wrong = client.post("/api/admin/reindex?wait=true", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.get("/api/health").get_json()["generation"] == before
    built = client.post("/api/admin/reindex?wait=true",
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert built.status_code == 200 and built.get_json()["report"]["indexed"] >= 37
    after = client.get("/api/health").get_json()["generation"]
    assert after != before
    started = client.post("/api/admin/reindex", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert started.status_code == 202
    deadline = time.monotonic() + 60
    while client.get("/api/health").get_json()["generation"] == after:
        assert time.monotonic() < deadline, "the background rebuild never switched generations"
        time.sleep(0.1)


def test_admin_wait_is_true_or_false(client):
    response = client.post("/api/admin/reindex?wait=yes",
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 400 and response.get_json()["param"] == "wait"


def test_admin_reindex_is_409_while_another_build_runs(writable_index, corpus_dir):
    app = create_app(index_path=writable_index, ADMIN_TOKEN=ADMIN_TOKEN, SOURCES=[str(corpus_dir)])
    client = app.test_client()
    with write_lock(writable_index):
        for url in ("/api/admin/reindex", "/api/admin/reindex?wait=true"):
            response = client.post(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert response.status_code == 409, url
            validate(response.get_json(), "Error")


def test_admin_is_off_without_a_token(built_index):
    client = create_app(index_path=built_index, ADMIN_TOKEN=None).test_client()
    response = client.post("/api/admin/reindex", headers={"Authorization": "Bearer None"})
    assert response.status_code == 403 and "TRIALSEARCH_ADMIN_TOKEN" in response.get_json()["error"]


def test_a_running_app_serves_a_new_build_without_restart(writable_index, tmp_path):
    client = create_app(index_path=writable_index).test_client()
    assert api_search(client, q="exosomes")["total"] > 0
    only_text = tmp_path / "new-corpus"
    shutil.copytree(INVENTED_DATA / "text", only_text)
    build_index([only_text], writable_index)
    health = client.get("/api/health").get_json()
    assert health["documents"] == len(list(only_text.glob("*.txt")))
    assert api_search(client, q="NCT99999999")["total"] == 0


def test_oversized_body_is_413(client):
    response = client.post("/api/admin/reindex", data=b"x" * (2 * 1024 * 1024),
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 413 and response.get_json()["error"]


def test_a_worker_warms_its_index_in_the_background(built_index):
    app = create_app(index_path=built_index)
    warm_in_background(app).join(timeout=30)
    index = app.extensions[live_index.EXTENSION]
    assert index is not None and index.snapshot().docsets._columns is not None


def test_warming_before_any_build_logs_and_leaves_opening_to_requests(tmp_path, caplog):
    app = create_app(index_path=tmp_path / "not_built")
    with caplog.at_level("INFO"):
        warm_in_background(app).join(timeout=30)
    assert "nothing to warm" in caplog.text and "Traceback" not in caplog.text
    assert app.extensions[live_index.EXTENSION] is None


def test_a_server_worker_uses_one_blas_thread():
    from threadpoolctl import threadpool_info

    from webapp.server import single_blas_thread

    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy links a BLAS"
    limiter = single_blas_thread()
    try:
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
    finally:
        limiter.restore_original_limits()
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == \
        [pool["num_threads"] for pool in blas]
