"""Searching as a patient: several values per filter (and "recruiting or not yet recruiting" in
one click), filter words offered as filters, an NCT ID the index does not hold, and hits that
say who can join and where. API, page and CLI through the Flask test client and click's runner;
the phone layout and the widget's chips in headless Chromium."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from live import chrome, gunicorn_server, static_server
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from indexer import open_index
from indexer.cli import main
from webapp import create_app

WAIT = 10
OPEN = ["RECRUITING", "NOT_YET_RECRUITING"]


@pytest.fixture(scope="module")
def client(built_index):
    return create_app(index_path=built_index).test_client()


@pytest.fixture(scope="module")
def index(built_index):
    return open_index(built_index)


def api(client, **params):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def total(index, **filters) -> int:
    return index.search("", filters=filters).total


# -- several values per filter ---------------------------------------------------------------

def test_values_of_one_filter_are_any_of_them_and_filters_are_all(client, index):
    recruiting, coming = total(index, status=["RECRUITING"]), total(index, status=["NOT_YET_RECRUITING"])
    assert recruiting and coming
    both = api(client, status=OPEN)
    assert both["total"] == recruiting + coming
    assert api(client, status="open")["total"] == both["total"]  # the one-word form
    narrowed = api(client, status=OPEN, phase=["PHASE2", "PHASE3"], per_page=100)
    every = index.search("", per_page=100).hits
    expected = {hit.nct_id for hit in every if hit.status in OPEN and {"PHASE2", "PHASE3"} & set(hit.phases)}
    assert 0 < narrowed["total"] < both["total"]
    assert {hit["nct_id"] for hit in narrowed["results"]} == expected


def test_a_chosen_facet_keeps_offering_its_other_values(client):
    body = api(client, status="RECRUITING")
    counts = {item["value"]: item["count"] for item in body["facets"]["status"]}
    # Counted under the other filters only: the other statuses stay on offer, with the number
    # of studies ticking each would add.
    assert counts["RECRUITING"] == body["total"] and len(counts) > 2
    assert counts == {item["value"]: item["count"] for item in api(client)["facets"]["status"]}
    # Another facet counts within the chosen statuses.
    recruiting = api(client, status="RECRUITING", per_page=100)["results"]
    types = Counter(hit["study_type"] for hit in recruiting if hit["study_type"])
    assert {item["value"]: item["count"] for item in body["facets"]["type"]} == types


def test_the_page_keeps_every_chosen_box_ticked_and_says_so_at_the_top(client):
    page = client.get("/", query_string={"q": "", "status": OPEN, "phase": "PHASE2"}).get_data(as_text=True)
    ticked = re.findall(r'<a href="([^"]+)" class="active" aria-current="true">\s*<span class="check"[^>]*>✓</span>\s*'
                        r'<span class="value">([^<]+)</span>', page)
    assert {label for _, label in ticked} == {"Recruiting", "Not yet recruiting", "Phase 2"}
    # Unticking one keeps the others.
    [untick] = [href for href, label in ticked if label == "Recruiting"]
    assert sorted(parse_qsl(urlsplit(untick.replace("&amp;", "&")).query)) == [
        ("phase", "PHASE2"), ("status", "NOT_YET_RECRUITING")]
    # The filters on are chips at the top, each removing itself, and the Filters control counts them.
    assert 'class="filter-count">(3 on)' in page
    chips = re.findall(r'<a class="chip" href="[^"]+" aria-label="Remove filter ([^"]+)">', page)
    assert chips == ["Status: Recruiting", "Status: Not yet recruiting", "Phase: Phase 2"]
    # The recruiting box of the form stands for both values.
    assert re.search(r'name="status" value="open"\s+checked', page)
    one_click = re.search(r'<p class="open-link"><a href="([^"]+)">Recruiting or not yet recruiting</a>', page)
    assert one_click and one_click.group(1).count("status=") == 2


def test_the_first_screen_ticks_recruiting_and_a_fresh_search_keeps_to_open_studies(client, index):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'name="status" value="open"\s+checked', page)
    # What the form sends: the box, and a distance the page ignores without a place.
    result = client.get("/", query_string={"q": "", "near": "", "radius": "50", "status": "open"})
    shown = re.search(r"([\d,]+) (?:study matches|studies match)", result.get_data(as_text=True))
    assert shown and int(shown.group(1)) == total(index, status=OPEN)


# -- filter words offered as filters ---------------------------------------------------------

def test_filter_words_are_offered_as_filters_and_still_searched_as_typed(client, index):
    body = api(client, q="cirrhosis recruiting")
    assert body["total"] == index.search("cirrhosis recruiting").total  # the word still searches
    [offer] = [o for o in body["suggested_filters"] if o["name"] == "status"]
    assert offer == {"name": "status", "value": "RECRUITING", "label": "Status: Recruiting",
                     "words": "recruiting", "query": "q=cirrhosis&status=RECRUITING"}
    applied = client.get("/api/search?" + offer["query"]).get_json()
    assert applied["total"] == index.search("cirrhosis", filters={"status": ["RECRUITING"]}).total
    assert applied["suggested_filters"] == []
    page = client.get("/", query_string={"q": "cirrhosis recruiting"}).get_data(as_text=True)
    assert f'href="/?{offer["query"].replace("&", "&amp;")}"' in page and "+ Status: Recruiting" in page


@pytest.mark.parametrize(("query", "expected"), [
    ("asthma in children", [("age_group", "CHILD", "children")]),
    ("phase 3 vaccine older adults", [("phase", "PHASE3", "phase 3"), ("age_group", "OLDER_ADULT", "older adults")]),
    ("healthy volunteers in Germany", [("country", "DE", "Germany"), ("healthy_volunteers", "true", "healthy volunteers")]),
    ("women with breast cancer not yet recruiting", [("status", "NOT_YET_RECRUITING", "not yet recruiting"),
                                                     ("sex", "FEMALE", "women")]),
    ('"recruiting"', []), ("title:recruiting", []),  # syntax: the words are meant as typed
])
def test_what_filter_words_name(client, query, expected):
    offers = api(client, q=query)["suggested_filters"]
    assert [(o["name"], o["value"], o["words"]) for o in offers] == expected


# -- an NCT ID not in the index ---------------------------------------------------------------

def test_an_nct_id_not_in_the_index_says_so_and_links_the_registry(client):
    body = api(client, q="NCT00000000")
    assert body["total"] == 0 and body["unknown_nct_ids"] == ["NCT00000000"]
    page = client.get("/?q=NCT00000000").get_data(as_text=True)
    assert "NCT00000000 is not in this index" in page
    assert 'href="https://clinicaltrials.gov/study/NCT00000000"' in page
    assert "No study matches" not in page
    known = api(client, q="NCT99000001 NCT00000000")
    assert [hit["nct_id"] for hit in known["results"]][:1] == ["NCT99000001"]
    assert known["unknown_nct_ids"] == ["NCT00000000"]
    cli = CliRunner().invoke(main, ["search", "NCT00000000", "--index", client.application.config["INDEX_PATH"]])
    assert cli.exit_code == 0 and "NCT00000000 is not in this index" in cli.stderr


# -- hits for patients --------------------------------------------------------------------------

def test_hits_say_who_can_join_and_where(client, index):
    body = api(client, q="cirrhosis", per_page=20)
    for hit in body["results"]:
        study = index.get(hit["nct_id"])
        assert (hit["minimum_age"], hit["maximum_age"], hit["sex"]) == (
            study.minimum_age, study.maximum_age, study.sex)
        assert hit["sites"] == len(study.sites)
        assert hit["countries"] == list(dict.fromkeys(s.country for s in study.sites if s.country))
    page = client.get("/?q=cirrhosis&per_page=20").get_data(as_text=True)
    assert page.count('<span class="fact-label">Conditions</span>') == len([h for h in body["results"] if h["conditions"]])
    with_sites = [hit for hit in body["results"] if hit["sites"]]
    assert with_sites and page.count('<span class="fact-label">Where</span>') == len(with_sites)
    assert re.search(r'<span class="fact-label">Who</span> \d+ (?:to \d+ )?years', page)


def test_the_cli_offers_filter_words_as_filters(built_index):
    run = CliRunner().invoke(main, ["search", "cirrhosis recruiting", "--index", str(built_index)])
    assert run.exit_code == 0
    assert 'Filter instead: --filter status=RECRUITING (for "recruiting")' in run.stderr
    both = CliRunner().invoke(main, ["search", "--index", str(built_index), "--filter", "status=open", "--json"])
    assert both.exit_code == 0 and '"total"' in both.stdout


# -- in a browser: the phone layout, and the widget's chips ------------------------------------

PAGES = ["/", "/help", "/?q=cirrhosis+recruiting&status=open", "/?q=stem+cell&near=42.36,-71.06&radius=500",
         "/study/NCT99000001", "/widget", "/embed?q=exosomes", "/patient"]
# The patient page with results: what was read back, and each study's reasons with its criteria.
PATIENT_CASE = ("A 61-year-old man with decompensated liver cirrhosis from chronic hepatitis B and "
                "tense ascites, on diuretics; hepatocellular carcinoma was ruled out.")
OVERFLOW_JS = "return [document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture(scope="module")
def server(built_index):
    with gunicorn_server(built_index) as base_url:
        yield base_url


@pytest.mark.browser
@pytest.mark.live_server
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_no_page_is_wider_than_the_screen(server, width, height):
    with chrome(width=width, height=height) as browser:
        for path in PAGES:
            browser.get(server + path)
            WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
            scroll_width, inner_width = browser.execute_script(OVERFLOW_JS)
            assert scroll_width <= inner_width, f"{path} is {scroll_width} px wide at {inner_width} px"


@pytest.mark.browser
@pytest.mark.live_server
@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_patient_page_with_results_fits_the_screen(server, width, height):
    with chrome(width=width, height=height) as browser:
        # Headless Chromium's windows are at least 500 px wide: emulate the phone's 390 exactly.
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500})
        browser.get(f"{server}/patient")
        assert browser.execute_script("return innerWidth") == width
        box = WebDriverWait(browser, WAIT).until(lambda d: d.find_element(By.ID, "description"))
        box.send_keys(PATIENT_CASE)
        browser.find_element(By.NAME, "status").click()  # every study, not only recruiting ones
        browser.find_element(By.CSS_SELECTOR, ".patient-form button[type=submit]").click()
        WebDriverWait(browser, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".why"))
        assert browser.find_elements(By.CSS_SELECTOR, ".why .criterion")  # long lines are shown
        scroll_width, inner_width = browser.execute_script(OVERFLOW_JS)
        assert scroll_width <= inner_width, f"/patient is {scroll_width} px wide at {inner_width} px"
        assert "cirrhosis" not in browser.current_url  # POST: the description is in no URL


@pytest.mark.browser
@pytest.mark.live_server
def test_on_a_phone_the_filters_are_one_tap_from_the_first_screen(server):
    with chrome(width=390, height=844) as phone:
        phone.get(f"{server}/?q=cirrhosis&status=open")
        control = WebDriverWait(phone, WAIT).until(lambda d: d.find_element(By.CSS_SELECTOR, ".filters-link"))
        top, bottom, height = phone.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, innerHeight]", control)
        assert top >= 0 and bottom <= height, "the Filters control is below the first screen"
        assert control.text == "Filters (2 on)"
        panel = phone.find_element(By.ID, "filters")
        assert not panel.is_displayed() or panel.location["y"] > height  # after the results
        control.click()
        WebDriverWait(phone, WAIT).until(lambda _: "open" in panel.get_attribute("class"))
        status = panel.find_element(By.XPATH, ".//h3[text()='Status']")
        assert status.is_displayed() and status.location["y"] < height
        panel.find_element(By.CSS_SELECTOR, ".facets-close").click()
        WebDriverWait(phone, WAIT).until(lambda _: "open" not in panel.get_attribute("class"))


@pytest.fixture(scope="module")
def host(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("patient-host")
    (folder / "widget.html").write_text(
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Host</title></head>\n'
        f'<body><script src="{server}/widget.js" data-trialsearch></script></body>\n</html>\n')
    with static_server(folder) as base_url:
        yield base_url


@pytest.mark.browser
@pytest.mark.live_server
def test_the_widget_offers_filter_words_as_filters(host):
    with chrome() as browser:
        browser.get(f"{host}/widget.html")
        root = WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(
            "return document.querySelector('.trialsearch-widget')?.shadowRoot"))
        box = root.find_element(By.CSS_SELECTOR, "input")
        box.send_keys("cirrhosis recruiting")
        chip = WebDriverWait(browser, WAIT).until(lambda _: root.find_element(By.CSS_SELECTOR, "button.chip"))
        assert chip.text == "+ Status: Recruiting"
        facts = root.find_elements(By.CSS_SELECTOR, "[role=option] .meta")
        assert facts, "no results"
        chip.click()
        WebDriverWait(browser, WAIT).until(lambda _: box.get_attribute("value") == "cirrhosis")
        WebDriverWait(browser, WAIT).until(lambda _: not root.find_elements(By.CSS_SELECTOR, "button.chip"))
        sent = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)"
                                      ".filter(n => n.includes('/api/search'))")
        assert any("q=cirrhosis&" in url and "status=RECRUITING" in url for url in sent), sent
