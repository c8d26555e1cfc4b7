"""Near me and for me, end to end: recruiting COVID-19 studies within 50 km of Paris for a
70-year-old woman, through the API, the search page and the widget, are exactly the studies a
direct scan of the shared records finds (tests/scan.py: sites in the recruiting status, the
haversine formula, the age limits and sex read from each record). A place typed by name
(`near=Boston`) finds what a scan from GeoNames' point for it finds, through the API, /embed
and the widget."""

from __future__ import annotations

import re

import pytest
import scan
from live import chrome, gunicorn_server, static_server
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from indexer import open_index
from indexer.gazetteer import place_sites
from indexer.place_names import resolve_place
from indexer.readers import read_sources
from webapp import create_app

PARIS = "48.8566,2.3522"
Q = "covid-19"
FILTERS = {"status": ["RECRUITING"], "near": PARIS, "radius": "50", "age": "70", "sex": "FEMALE"}
WAIT = 20


@pytest.fixture(scope="module")
def records(shared_data):
    """Every shared record by NCT ID, its sites placed as the index places them."""
    return {study.nct_id: place_sites(study) for study in read_sources([shared_data])
            if not hasattr(study, "reason")}


@pytest.fixture(scope="module")
def worded(shared_index) -> set[str]:
    """The studies the words match (the words' own matching is tested elsewhere; here the
    place and person filters are)."""
    index = open_index(shared_index)
    found = set()
    first = index.search(Q, per_page=100)
    for page in range(1, -(-first.total // 100) + 1):
        found |= {hit.nct_id for hit in index.search(Q, per_page=100, page=page).hits}
    return found


@pytest.fixture(scope="module")
def expected(worded, records):
    """The qualifying studies by direct scan, among those the words match."""
    found = {nct_id for nct_id in worded if scan.passes(records[nct_id], FILTERS)}
    recruiting = {nct_id for nct_id in worded if records[nct_id].status == "RECRUITING"}
    assert 20 < len(found) < len(recruiting), "the filters must select, and leave some out"
    return found


BOSTON = {"status": ["RECRUITING"], "near": "Boston", "radius": "50"}


@pytest.fixture(scope="module")
def expected_near_boston(worded, records):
    """The recruiting studies with a recruiting site within 50 km of GeoNames' Boston, by
    direct scan from its coordinates."""
    place = resolve_place("Boston")
    point = {**BOSTON, "near": f"{place.lat},{place.lon}"}
    found = {nct_id for nct_id in worded if scan.passes(records[nct_id], point)}
    assert 20 < len(found) < len(worded)
    return found


@pytest.fixture(scope="module")
def client(shared_index):
    return create_app(index_path=shared_index).test_client()


def test_the_api_returns_exactly_the_qualifying_studies_nearest_first(client, records, expected):
    found, distances = [], []
    page = 1
    while True:
        body = client.get("/api/search", query_string={"q": Q, **FILTERS, "sort": "distance",
                                                       "per_page": 100, "page": page}).json
        assert body["total"] == len(expected)
        for hit in body["results"]:
            found.append(hit["nct_id"])
            site = hit["nearest_site"]
            distances.append(site["distance_km"])
            # The nearest recruiting site, as the scan measures it.
            study = records[hit["nct_id"]]
            nearest = min(scan.km_between(tuple(map(float, PARIS.split(","))), (s.lat, s.lon))
                          for s in scan.sites_in(study, ["RECRUITING"]) if s.has_coordinates)
            assert site["distance_km"] == pytest.approx(nearest, abs=0.1)
            assert site["distance_km"] <= 50 and site["status"] in ("", "RECRUITING")
        if page * 100 >= body["total"]:
            break
        page += 1
    assert set(found) == expected and len(found) == len(expected)
    assert distances == sorted(distances)


def test_the_api_takes_a_place_by_name_and_says_which_it_used(client, expected_near_boston):
    body = client.get("/api/search", query_string={"q": Q, **BOSTON, "per_page": 100}).json
    assert body["total"] == len(expected_near_boston)
    assert {hit["nct_id"] for hit in body["results"]} == expected_near_boston
    assert body["place"]["label"] == "Boston, Massachusetts, US" and body["place"]["query"] == "Boston"
    # The same place however it is written.
    for written in ("boston", "BOSTON, MA", "Boston, Massachusetts, United States", "boston ma"):
        again = client.get("/api/search", query_string={"q": Q, **BOSTON, "near": written}).json
        assert again["total"] == body["total"] and again["place"]["label"] == body["place"]["label"]
    unknown = client.get("/api/search", query_string={"q": Q, "near": "Bostn"})
    assert unknown.status_code == 400 and unknown.json["param"] == "near"
    assert unknown.json["error"].startswith("near: no place called 'Bostn'; did you mean Boston (US, Massachusetts)")


def test_embed_takes_a_place_by_name(client):
    page = client.get("/embed", query_string={"near": "Boston, MA", "radius": "50"})
    assert page.status_code == 200
    assert 'data-near="Boston, MA" data-radius="50"' in page.get_data(as_text=True)
    for bad in ("91,0", "-", "Bo\x01ston", "x" * 300):
        refused = client.get("/embed", query_string={"near": bad})
        assert refused.status_code == 400 and "Option &#39;near&#39; must be" in refused.get_data(as_text=True)


def test_closed_sites_do_not_count_for_a_recruiting_search(client, records):
    """Near a recruiting study's closed site (and none of its recruiting ones), the study is
    not found by a recruiting search, as a patient looking for a place to enrol needs; a
    search without a status finds it there."""
    closed = [(study, site) for study in records.values() if study.status == "RECRUITING"
              for site in study.sites if site.has_coordinates and site.status
              and site.status != "RECRUITING"
              and not any(scan.km_between((site.lat, site.lon), (other.lat, other.lon)) <= 1
                          for other in scan.sites_in(study, ["RECRUITING"]) if other.has_coordinates)]
    assert len(closed) >= 3, "the shared records hold recruiting studies with closed sites"
    for study, site in closed[:3]:
        near = {"near": f"{site.lat},{site.lon}", "radius": "1", "q": f"nct:{study.nct_id}"}
        assert client.get("/api/search", query_string=near).json["total"] == 1
        recruiting = client.get("/api/search", query_string={**near, "status": "RECRUITING"})
        assert recruiting.status_code == 200 and recruiting.json["total"] == 0, study.nct_id
        # Its own status, asked for, finds it there.
        own = client.get("/api/search", query_string={**near, "status": [site.status, "RECRUITING"]})
        assert own.json["total"] == 1


def test_the_search_page_lists_the_same_studies(client, expected):
    shown = set()
    page = 1
    while True:
        html = client.get("/", query_string={"q": Q, **FILTERS, "per_page": 100, "page": page}).get_data(as_text=True)
        total = int(re.search(r"([\d,]+) (?:study matches|studies match)", html).group(1).replace(",", ""))
        assert total == len(expected)
        shown |= set(re.findall(r'<span class="nct">(NCT\d{8})</span>', html))
        assert '<span class="fact-label">Nearest site</span>' in html and "km" in html
        if page * 100 >= total:
            break
        page += 1
    assert shown == expected


def widget_listing(server_url: str, folder, attributes: str) -> tuple[int, list[tuple[str, float]], str]:
    """The widget embedded in a host page with `attributes` on its tag, `Q` typed into it:
    the total its message gives, each listed study's NCT ID and distance in km, and its link
    to all results."""
    snippet = f'<script src="{server_url}/widget.js" data-trialsearch {attributes}></script>'
    (folder / "host.html").write_text(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head>'
        f"<body>{snippet}</body></html>")
    with static_server(folder) as host_url, chrome() as driver:
        driver.get(f"{host_url}/host.html")
        root = WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
            "return document.querySelector('.trialsearch-widget')?.shadowRoot"))
        root.find_element(By.CSS_SELECTOR, "input").send_keys(Q)
        WebDriverWait(driver, WAIT).until(lambda _: root.find_elements(By.CSS_SELECTOR, "[role=option]"))
        message = root.find_element(By.CSS_SELECTOR, ".msg").text
        listed = [(re.search(r"NCT\d{8}", option.text).group(0),
                   float(re.search(r"([\d.]+) km", option.text).group(1)))
                  for option in root.find_elements(By.CSS_SELECTOR, "[role=option]")]
        everything = root.find_element(By.CSS_SELECTOR, "a.all").get_attribute("href")
    return int(re.search(r"[\d,]+", message).group(0).replace(",", "")), listed, everything


@pytest.mark.browser
@pytest.mark.live_server
def test_the_widget_with_host_presets_shows_the_same_studies(shared_index, expected, tmp_path):
    with gunicorn_server(shared_index) as server_url:
        total, listed, everything = widget_listing(
            server_url, tmp_path, f'data-status="RECRUITING" data-near="{PARIS}" data-radius="50" '
                                  'data-age="70" data-sex="FEMALE" data-results="20"')
    assert total == len(expected) and len(listed) == 20
    assert all(nct_id in expected and km <= 50 for nct_id, km in listed), listed
    assert "near=48.8566%2C2.3522" in everything and "age=70" in everything


@pytest.mark.browser
@pytest.mark.live_server
def test_the_widget_takes_a_place_by_name(shared_index, expected_near_boston, tmp_path):
    """`data-near="Boston"` on the tag: the widget takes it (the served configuration's
    pattern for `near` is the catalog's) and lists the studies a scan from GeoNames' Boston
    finds, with their distances; its link to all results carries the name."""
    with gunicorn_server(shared_index) as server_url:
        total, listed, everything = widget_listing(
            server_url, tmp_path, 'data-status="RECRUITING" data-near="Boston" data-radius="50" '
                                  'data-results="20"')
    assert total == len(expected_near_boston) and len(listed) == 20
    assert all(nct_id in expected_near_boston and km <= 50 for nct_id, km in listed), listed
    assert "near=Boston&" in everything and "radius=50" in everything
