"""Patient mode on the web: `POST /api/match` against its OpenAPI document (jsonschema), its bad
input (400 naming the parameter, 413 naming the limit, 415, 405 for a GET; never a 500), the
"Describe a patient" page (POST only, chips that correct and lift what was read, paging by POST
buttons, the record's markup inert), and a real gunicorn server whose log never holds a
description. Browser checks (axe-core, the phone width) are in test_accessibility.py and
test_patient_search.py."""

from __future__ import annotations

import re
import tempfile
import uuid

import jsonschema
import pytest
import requests
from live import gunicorn_server
from patients import ASTHMA_KIDS, LUNG, PROSTATE, WOMAN, XSS, XSS_LINE, write_patient_index

from indexer.search import MAX_DESCRIPTION
from webapp import create_app
from webapp.match_api import MATCH_MAX_BYTES
from webapp.patient_page import chips_key


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return write_patient_index(tmp_path_factory.mktemp("patient-web"))


@pytest.fixture(scope="module")
def app(index):
    return create_app(index_path=index)


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def validate(spec: dict, body: dict, name: str) -> None:
    jsonschema.validate(body, {"$ref": f"#/components/schemas/{name}",
                               "components": spec["components"]})


def match(client, **body):
    return client.post("/api/match", json=body)


# -- the API ----------------------------------------------------------------------------------
def test_a_description_in_the_studies_and_reasons_out(client, spec):
    response = match(client, description=WOMAN, per_page=5)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in response.headers  # another site cannot read it
    data = response.get_json()
    validate(spec, data, "MatchResponse")
    jsonschema.validate({"description": WOMAN, "per_page": 5},
                        spec["paths"]["/api/match"]["post"]["requestBody"]["content"]
                        ["application/json"]["schema"])
    assert data["filters"] == {"age": 58.0, "sex": "FEMALE"}
    assert data["patient"]["age_text"] == "58-year-old" and data["patient"]["sex_text"] == "woman"
    assert [c["name"] for c in data["patient"]["conditions"]] == ["Non-Small Cell Lung Cancer",
                                                                 "Hypertension"]
    assert data["patient"]["conditions"][1]["text"] == "HTN"
    first = data["results"][0]
    assert first["nct_id"] == LUNG and first["url"].endswith(f"/study/{LUNG}")
    assert {"kind": "exclusion", "text": "Uncontrolled hypertension", "mentions": ["Hypertension"],
            "flagged": True} in first["reasons"]["criteria"]
    found = {hit["nct_id"] for hit in data["results"]}
    assert PROSTATE not in found and ASTHMA_KIDS not in found


def test_corrections_lifts_filters_and_paging(client, spec):
    data = match(client, description=WOMAN, age=12, sex="MALE", conditions=["Asthma"],
                 status=["recruiting"], per_page=2).get_json()
    validate(spec, data, "MatchResponse")
    assert data["filters"] == {"age": 12.0, "sex": "MALE"}
    assert data["results"][0]["nct_id"] == ASTHMA_KIDS
    lifted = match(client, description=WOMAN, age_filter=False, sex_filter=False, per_page=100)
    assert {PROSTATE, ASTHMA_KIDS} <= {hit["nct_id"] for hit in lifted.get_json()["results"]}
    everything = [hit["nct_id"] for hit in lifted.get_json()["results"]]
    pages = [hit["nct_id"] for page in (1, 2) for hit in match(
        client, description=WOMAN, age_filter=False, sex_filter=False, per_page=2,
        page=page).get_json()["results"]]
    assert pages == everything[:4]


def test_no_age_or_sex_is_said_and_another_language_is_searched_as_given(client, spec):
    data = match(client, description="Chronic obstructive pulmonary disease, dyspnea.").get_json()
    validate(spec, data, "MatchResponse")
    assert data["filters"] == {"age": None, "sex": None}
    assert any("gives no age" in notice for notice in data["notices"])
    assert any("gives no sex" in notice for notice in data["notices"])
    spanish = match(client, description="Mujer de 58 años con disnea y una masa pulmonar.")
    assert spanish.status_code == 200
    validate(spec, spanish.get_json(), "MatchResponse")
    assert "seems to be in Spanish" in spanish.get_json()["notices"][0]


@pytest.mark.parametrize("body, status, param, message", [
    ({"description": ""}, 400, "description", "description is empty"),
    ({"description": " \n\t"}, 400, "description", "description is empty"),
    ({}, 400, "description", "description is required"),
    ({"description": 7}, 400, "description", "description must be a text"),
    ({"description": "x" * (MAX_DESCRIPTION + 1)}, 413, "description",
     "description is 20,001 characters long; the limit is 20,000"),
    ({"description": "x", "age": "58"}, 400, "age", "age must be a number from 0 to 150"),
    ({"description": "x", "age": True}, 400, "age", "age must be a number"),
    ({"description": "x", "age": 151}, 400, "age", "age must be a number"),
    ({"description": "x", "sex": "female"}, 400, "sex", "sex must be one of FEMALE, MALE"),
    ({"description": "x", "age_filter": "false"}, 400, "age_filter", "true or false"),
    ({"description": "x", "status": "RECRUITING"}, 400, "status", "status must be a list"),
    ({"description": "x", "status": ["sleeping"]}, 400, "status", "status"),
    ({"description": "x", "near": "Nowhere Atall"}, 400, "near", "no place called"),
    ({"description": "x", "radius": 50}, 400, "radius", "radius needs near"),
    ({"description": "x", "page": 1.5}, 400, "page", "a whole number"),
    ({"description": "x", "page": 1000, "per_page": 100}, 400, "page", "results beyond"),
    ({"description": "x", "per_page": 0}, 400, "per_page", "from 1 to 100"),
    ({"description": "x", "conditions": "asthma"}, 400, "conditions", "a list"),
    ({"description": "x", "mode": "psychic"}, 400, "mode", "one of keyword"),
    ({"description": "x", "q": "asthma"}, 400, "body", "unknown parameter 'q'"),
    ([WOMAN], 400, "body", "must be a JSON object"),
])
def test_bad_bodies_are_refused_naming_what_is_wrong(client, spec, body, status, param, message):
    response = client.post("/api/match", json=body)
    assert response.status_code == status, response.get_json()
    data = response.get_json()
    validate(spec, data, "Error")
    assert data["param"] == param and message in data["error"]


def test_not_json_not_post_and_too_big(client, spec):
    not_json = client.post("/api/match", data={"description": WOMAN})
    assert not_json.status_code == 415 and "Content-Type: application/json" in not_json.get_json()["error"]
    broken = client.post("/api/match", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["param"] == "body"
    get = client.get("/api/match", query_string={"description": WOMAN})
    assert get.status_code == 405 and "POST" in get.headers["Allow"]
    big = client.post("/api/match", data="x" * (MATCH_MAX_BYTES + 1), content_type="application/json")
    assert big.status_code == 413
    assert big.get_json()["error"] == "a patient search's body is limited to 262,144 bytes"
    assert set(spec["paths"]["/api/match"]) == {"post"}


# -- the page ---------------------------------------------------------------------------------
def page(client, **form):
    response = client.post("/patient", data=form)
    return response.status_code, response.get_data(as_text=True)


def test_the_empty_page_says_what_happens_to_a_description(client):
    response = client.get("/patient", query_string={"description": WOMAN})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<form id="patient-form" class="patient-form" method="post"' in html
    assert f'maxlength="{MAX_DESCRIPTION}"' in html
    assert "It is not stored or logged, and it never appears in a web address." in html
    assert "HTN" not in html and "read-back" not in html  # a description in a URL is not read
    assert 'aria-current="page">Describe a patient</a>' in html
    home = client.get("/").get_data(as_text=True)
    assert 'href="/patient"' in home


def test_results_show_what_was_read_and_why_each_study(client):
    status, html = page(client, description=WOMAN)
    assert status == 200
    assert f'name="chips_for" value="{chips_key(WOMAN)}"' in html
    assert 'value="58"' in html and "read from “58-year-old”" in html
    assert '<option value="FEMALE" selected>' in html and "read from “woman”" in html
    assert 'name="condition" value="Hypertension" checked> Hypertension (“HTN”)' in re.sub(r"\s+", " ", html)
    assert 'name="age_filter" checked' in html and 'name="sex_filter" checked' in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Shares Non-Small Cell Lung Cancer; Carcinoma, Non-Small-Cell Lung" in text
    assert "Ages 18 to 80 years: fits the patient's 58 years" in text
    assert "Exclusion, may rule the patient out Uncontrolled hypertension (mentions Hypertension)" in text
    assert PROSTATE not in html and ASTHMA_KIDS not in html
    # The record's markup, escaped in the reasons like everywhere else.
    assert XSS in html and "<script>alert(2)" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; Uncontrolled hypertension" in html
    assert XSS_LINE not in html


def test_chips_correct_and_lift_what_was_read(client):
    key = chips_key(WOMAN)
    # Unticking both filters: the studies for men and for children come back, each saying so.
    _, html = page(client, description=WOMAN, chips_for=key, age="58", sex="FEMALE",
                   condition=["Non-Small Cell Lung Cancer", "Hypertension"],
                   condition_shown=["Non-Small Cell Lung Cancer", "Hypertension"])
    assert PROSTATE in html and ASTHMA_KIDS in html
    assert "The age filter is lifted" in html and "does not fit" in html
    # A changed age and sex, a condition unticked and one added.
    _, html = page(client, description=WOMAN, chips_for=key, age="12", sex="MALE",
                   age_filter="on", sex_filter="on", condition=["Hypertension"],
                   condition_shown=["Non-Small Cell Lung Cancer", "Hypertension"],
                   condition_add="Asthma")
    assert ASTHMA_KIDS in html and LUNG not in html
    assert "as given" in html and 'value="Asthma" checked' in html
    assert 'value="Non-Small Cell Lung Cancer"' not in html
    # The same chips under another description are not applied: it is read afresh.
    other = WOMAN.replace("58", "30")
    _, html = page(client, description=other, chips_for=key, age="12", sex="MALE")
    assert 'value="30"' in html and "read from “30-year-old”" in html


def test_paging_is_by_post_buttons(client, monkeypatch):
    monkeypatch.setattr("webapp.patient_page.PER_PAGE", 3)
    form = {"description": WOMAN, "chips_for": chips_key(WOMAN)}  # both filters unticked
    _, first = page(client, **form)
    assert '<button type="submit" form="patient-form" name="page" value="2">Next →</button>' in first
    assert "Previous" not in first
    status, second = page(client, **form, page="2")
    assert status == 200 and '<ol class="hits" start="4">' in second
    assert '<button type="submit" form="patient-form" name="page" value="1">← Previous</button>' in second
    assert re.findall(r'<li class="hit">\s*<h2><a href="/study/(NCT\d+)"', first + second) == [
        hit["nct_id"] for hit in client.post("/api/match", json={
            "description": WOMAN, "age_filter": False, "sex_filter": False,
            "per_page": 6}).get_json()["results"]]


@pytest.mark.parametrize("form, status, message", [
    ({"description": ""}, 400, "description is empty"),
    ({"description": "x" * (MAX_DESCRIPTION + 1)}, 413,
     "description is 20,001 characters long; the limit is 20,000"),
    ({"description": WOMAN, "near": "Nowhere Atall"}, 400, "no place called"),
    ({"description": WOMAN, "page": "lots"}, 400, "page must be a whole number"),
    ({"description": WOMAN, "chips_for": chips_key(WOMAN), "age": "old"}, 400, "age must be"),
])
def test_bad_input_on_the_page_is_a_clear_message(client, form, status, message):
    code, html = page(client, **form)
    assert code == status
    assert '<div class="alert" role="alert">' in html and message in html
    assert '<textarea id="description"' in html  # the box is still there to fix it


def test_another_language_is_said_on_the_page(client):
    code, html = page(client, description="Mujer de 58 años con disnea y una masa pulmonar.")
    assert code == 200
    assert '<p class="notice">The description seems to be in Spanish: patient mode reads English' in html


def test_an_oversized_form_is_refused_naming_the_limit(client):
    response = client.post("/patient", data={"description": "x" * MATCH_MAX_BYTES})
    assert response.status_code == 413
    assert "a patient search is limited to 262,144 bytes" in response.get_data(as_text=True)


# -- a real server: the description never reaches the log ---------------------------------------
@pytest.mark.live_server
@pytest.mark.slow
def test_gunicorn_never_logs_a_description(index):
    marker = f"zebrafinch{uuid.uuid4().hex[:12]}"
    description = f"{WOMAN} She keeps a {marker} at home."
    with tempfile.TemporaryFile("w+") as log:
        with gunicorn_server(index, log=log, access_log=True) as base_url:
            api = requests.post(f"{base_url}/api/match", json={"description": description},
                                timeout=30)
            assert api.status_code == 200 and api.json()["results"]
            form = requests.post(f"{base_url}/patient", data={"description": description}, timeout=30)
            assert form.status_code == 200 and marker in form.text  # the box, filled again
            too_long = requests.post(f"{base_url}/api/match", timeout=30,
                                     json={"description": marker * 2000})
            assert too_long.status_code == 413
            bad = requests.post(f"{base_url}/api/match", timeout=30,
                                json={"description": marker, "age": "x"})
            assert bad.status_code == 400 and marker not in bad.text
            big = requests.post(f"{base_url}/api/match", data=marker * 30_000, timeout=30,
                                headers={"Content-Type": "application/json"})
            assert big.status_code == 413
        log.seek(0)
        written = log.read()
    assert '"POST /api/match HTTP/1.1" 200' in written  # the access log is on
    assert '"POST /patient HTTP/1.1" 200' in written
    assert marker not in written
