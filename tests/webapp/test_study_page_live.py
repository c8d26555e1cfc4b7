"""The study page in headless Chromium on `trialsearch serve` (gunicorn): the map draws one
marker per placed site whether the tile server answers, cannot be reached or is switched off,
tiles load from the configured server under the page's CSP, and at 1280×900 and 390×844
nothing is wider than the window: not the page, not any section (sites, contacts, other
fields, the map), and no field's label overlaps its value. On the invented patient study
(always) and on real records with many sites and contacts (../shared).

Every browser wait is explicit and bounded."""

from __future__ import annotations

import pytest
from live import chrome, free_port, gunicorn_server, tile_server
from selenium.webdriver.support.ui import WebDriverWait
from test_study_page import BOSTON, MISSING_ID, PATIENT_ID, patient_index

pytestmark = [pytest.mark.browser, pytest.mark.live_server]

WAIT = 10  # seconds, the longest any browser wait may take
PLACED = 12  # the patient study's sites with coordinates (13 sites, one in no known city)
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
# Real records: many sites (105, 22), central and site contacts, backup contacts.
REAL_STUDIES = ("NCT02552212", "NCT03424005", "NCT06171568", "NCT03475563", "NCT01220531")

MARKERS_JS = "return document.querySelectorAll('#site-map .site-marker').length"
# Every box the page lays out, bar the map's own panes, as [what, its right edge, how much
# wider its content is than itself]. A box that clips its content (the map: Leaflet places
# tiles and markers beyond its edges) shows none of the excess, so it counts as 0.
BOXES_JS = """
const boxes = [...document.querySelectorAll(
  'main section, main details, main figure, main dl, main ul, main li, main p, main h1, main h2, main h3, #site-map')];
return boxes.filter(el => !el.closest('.leaflet-pane')).map(el => {
  const clips = getComputedStyle(el).overflowX != 'visible';
  const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + el.textContent.trim().slice(0, 40);
  return [what, el.getBoundingClientRect().right, clips ? 0 : el.scrollWidth - el.clientWidth];
});
"""
# Each field row's label and value boxes, as [label, overlap in px²].
OVERLAPS_JS = """
return [...document.querySelectorAll('dl.fields dt')].map(dt => {
  const dd = dt.nextElementSibling, a = dt.getBoundingClientRect(), b = dd.getBoundingClientRect();
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return [dt.textContent, w > 0.5 && h > 0.5 ? w * h : 0];
});
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return patient_index(tmp_path_factory)


@pytest.fixture(scope="module")
def driver():
    with chrome(width=1280, height=900) as browser:
        yield browser


def use_size(driver, name: str) -> None:
    """Make the viewport `name`'s size: a phone's is a mobile one (its viewport meta counts)."""
    width, height = SIZES[name]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 3 if name == "phone" else 1,
        "mobile": name == "phone"})


def open_study(driver, url: str, markers: int | None = None) -> None:
    """Open a study page; wait for its map's markers (`markers` of them, or any) when it has
    placed sites."""
    driver.get_log("browser")  # drop earlier pages' messages
    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.readyState == 'complete'"))
    if markers is None:
        markers = driver.execute_script(
            "const d = document.getElementById('site-map-data');"
            "return d ? JSON.parse(d.textContent).length : 0")
    if markers:
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(MARKERS_JS) == markers)


def csp_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"]]


# -- the map ---------------------------------------------------------------------------------

def test_with_no_tile_server_the_sites_still_show_as_points(driver, index):
    closed = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"  # nothing listens there
    with gunicorn_server(index, env={"TRIALSEARCH_TILE_URL": closed}, workers=1) as server:
        use_size(driver, "desktop")
        open_study(driver, f"{server}/study/{PATIENT_ID}", PLACED)
        assert driver.execute_script("return document.getElementById('site-map-figure').hidden") is False
        assert driver.execute_script("return document.querySelectorAll('li.site').length") == 13
        assert driver.execute_script(
            "return document.querySelectorAll('img.leaflet-tile-loaded').length") == 0
        # Every marker is on the map's face, each named for its site.
        titles = driver.execute_script("""
            const map = document.getElementById('site-map').getBoundingClientRect();
            return [...document.querySelectorAll('#site-map .site-marker')].filter(m => {
              const r = m.getBoundingClientRect();
              return r.left >= map.left && r.right <= map.right && r.top >= map.top && r.bottom <= map.bottom;
            }).map(m => m.title);""")
        assert len(titles) == PLACED and "Lakeshore Stroke Recovery Institute, Toronto, Canada" in titles
        # A marker opens its site's name (as text).
        driver.execute_script("document.querySelector('#site-map .site-marker').click()")
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
            "return document.querySelector('.leaflet-popup-content')?.textContent"))
        assert csp_violations(driver) == []


def test_tiles_come_from_the_configured_server_under_the_csp(driver, index):
    with tile_server() as (tile_url, requested), gunicorn_server(index, env={
            "TRIALSEARCH_TILE_URL": tile_url,
            "TRIALSEARCH_TILE_ATTRIBUTION": 'Test tiles © <a href="https://example.org/">Example</a>'},
            workers=1) as server:
        use_size(driver, "desktop")
        open_study(driver, f"{server}/study/{PATIENT_ID}?near={BOSTON}", PLACED)
        WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
            "return document.querySelectorAll('img.leaflet-tile-loaded').length") > 0)
        assert requested and all(path.endswith(".png") for path in requested)
        attribution = driver.execute_script(
            "return document.querySelector('.leaflet-control-attribution').textContent")
        assert "Test tiles © Example" in attribution and "Leaflet" in attribution
        errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []


def test_with_tiles_off_the_map_shows_the_sites_alone(driver, index):
    with gunicorn_server(index, env={"TRIALSEARCH_TILE_URL": ""}, workers=1) as server:
        use_size(driver, "phone")
        open_study(driver, f"{server}/study/{PATIENT_ID}", PLACED)
        assert driver.execute_script("return document.querySelectorAll('img.leaflet-tile').length") == 0
        errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []


# -- nothing wider than the window ---------------------------------------------------------------------

def assert_fits(driver, url: str, size: str) -> None:
    """At `size`, with every fold opened: the page is no wider than the window, no box pokes
    out of it or out of itself, and no label overlaps its value. (A phone widens its layout
    viewport to fit a page too wide for it, so the window must keep its width, too.)"""
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    width = SIZES[size][0]
    assert driver.execute_script("return window.innerWidth") == width, url
    assert driver.execute_script("return document.documentElement.scrollWidth") <= width, url
    wide = [(what, right, excess) for what, right, excess in driver.execute_script(BOXES_JS)
            if right > width + 0.5 or excess > 1]
    assert wide == [], f"{url} at {width} px: {wide[:5]}"
    overlaps = [(label, area) for label, area in driver.execute_script(OVERLAPS_JS) if area]
    assert overlaps == [], f"{url} at {width} px: labels over values: {overlaps}"


@pytest.mark.parametrize("size", SIZES)
def test_the_patient_study_fits_the_window(driver, index, size):
    with tile_server() as (tile_url, _), gunicorn_server(
            index, env={"TRIALSEARCH_TILE_URL": tile_url}, workers=1) as server:
        use_size(driver, size)
        for url in (f"/study/{MISSING_ID}", f"/study/{PATIENT_ID}", f"/study/{PATIENT_ID}?near={BOSTON}"):
            open_study(driver, server + url)
            assert_fits(driver, url, size)
        # The map spans the column, inside the page's margins.
        left, right = driver.execute_script(
            "const r = document.getElementById('site-map').getBoundingClientRect();"
            "return [r.left, r.right]")
        width = SIZES[size][0]
        assert 0 < left < 0.15 * width and 0.85 * width < right < width


@pytest.fixture(scope="module")
def real_server(shared_data, tmp_path_factory):
    """`trialsearch serve` over the shared corpus's native records, tiles from a local server."""
    from indexer import build_index

    path = tmp_path_factory.mktemp("real-live-index") / "index_data"
    build_index([shared_data / "ctgov"], path)
    with tile_server() as (tile_url, _), gunicorn_server(
            path, env={"TRIALSEARCH_TILE_URL": tile_url}, workers=1) as server:
        yield server


@pytest.mark.parametrize("size", SIZES)
def test_real_studies_with_many_sites_and_contacts_fit_the_window(driver, real_server, size):
    use_size(driver, size)
    for nct_id in REAL_STUDIES:
        for url in (f"/study/{nct_id}", f"/study/{nct_id}?near=40.71,-74.01"):
            open_study(driver, real_server + url)
            assert_fits(driver, url, size)
    # The 105 sites of NCT02552212 are all listed; the ones placed are all on the map.
    open_study(driver, f"{real_server}/study/NCT02552212")
    assert driver.execute_script("return document.querySelectorAll('li.site').length") == 105
    placed = driver.execute_script("return JSON.parse(document.getElementById('site-map-data').textContent).length")
    assert placed > 90 and driver.execute_script(MARKERS_JS) == placed
