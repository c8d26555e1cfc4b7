"""Accessibility in a real browser: axe-core 4.14 (the npm package, installed by tests/run.sh into
.venv/axe) runs in headless Chromium against `trialsearch serve` (gunicorn) on every kind of
page a visitor meets: the empty search page, results, results with a facet ticked, pages of
results, results matched by meaning (labelled so, where the 'semantic' extra is installed),
study pages (one with many sites, contacts and its map, tiles from a local tile server),
/widget, /embed with and without results, and the widget on a host page
of another origin after typing into it. Each in the light and the dark colour scheme. Every
rule at every impact level must pass; a failure lists each violation's id and nodes. Each test
prints how many rules passed (and records it as the `axe_rules_passed` property).

Browser-visible polish is checked here too: long facet values wrap without shifting left, and
the widget says "1 study found" and "Status not given".

Every browser wait is explicit and bounded.
"""

from __future__ import annotations

import pytest
from conftest import PROJECT_ROOT
from live import chrome, gunicorn_server, static_server, tile_server
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from test_pages_polish import LONG_SPONSOR, NO_STATUS_ID, index_with_extra_records
from test_study_page import BOSTON, MISSING_ID, PATIENT_ID, PATIENT_RECORD

from indexer import update_index
from indexer.semantic import SemanticUnavailable

pytestmark = [pytest.mark.browser, pytest.mark.live_server]

AXE_VERSION = "4.14."
AXE_JS = PROJECT_ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WAIT = 10  # seconds, the longest any browser wait may take
SCHEMES = ("light", "dark")

# axe.run's result, cut down to what a failure message needs.
RUN_AXE_JS = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(result => done({
  version: result.testEngine.version,
  passes: result.passes.length,
  violations: result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
  })),
}), error => done({error: String(error)}));
"""
WIDGET_JS = "document.querySelector('.trialsearch-widget')?.shadowRoot"
WIDGET_ANSWERED = f"return !!{WIDGET_JS}?.querySelector('[role=option]')"

# name -> (path, JavaScript that is true once the page is ready to be checked)
PAGES = {
    "search page, empty": ("/", "return !!document.querySelector('.home-form')"),
    "help": ("/help", "return !!document.querySelector('.syntax')"),
    "results": ("/?q=exosomes", "return !!document.querySelector('.hit')"),
    "results, facet ticked": ("/?q=exosomes&status=RECRUITING",
                              "return !!document.querySelector('.facets a.active')"),
    "results, filters on and offered": ("/?q=cirrhosis+recruiting&status=open&age=60",
                                        "return !!document.querySelector('.chips .chip')"),
    "results, an NCT ID not in the index": ("/?q=NCT00000000",
                                            "return !!document.querySelector('.unknown-id')"),
    "results, page 2 of several": ("/?q=patients&per_page=2&page=2",
                                   "return !!document.querySelector('.pagination .page-count')"),
    # With the index's vectors (see `server`): hits labelled "Matched by meaning", or "... by
    # words and meaning"; the Match selector set to another choice than its default.
    "results matched by meaning": ("/?q=mammary+carcinoma&mode=semantic",
                                   "return !!document.querySelector('.result-count')"),
    "results by words and meaning": ("/?q=cardiomyopathy",
                                     "return !!document.querySelector('.hit')"),
    "study": ("/study/NCT99000001", "return !!document.querySelector('.similar')"),
    "study without a status": (f"/study/{NO_STATUS_ID}",
                               "return !!document.querySelector('.status-none')"),
    # Sites, contacts, criteria lists, the map with its markers and loaded tiles.
    "study for patients": (f"/study/{PATIENT_ID}?near={BOSTON}",
                           "return document.querySelectorAll('.site-marker').length == 12 && "
                           "!!document.querySelector('img.leaflet-tile-loaded')"),
    "study not in the index": (f"/study/{MISSING_ID}", "return !!document.querySelector('.alert')"),
    "patient page, empty": ("/patient", "return !!document.querySelector('#description')"),
    "widget docs": ("/widget",
                    "return document.querySelectorAll('.trialsearch-widget').length == 2"),
    "embed": ("/embed", f"return !!{WIDGET_JS}?.querySelector('input')"),
    "embed with results": ("/embed?q=exosomes", WIDGET_ANSWERED),
    "embed with results, dark, French": ("/embed?q=exosomes&theme=dark&lang=fr", WIDGET_ANSWERED),
}


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's browser build, or skip: tests/run.sh always installs it."""
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS.relative_to(PROJECT_ROOT)}: run "
                    "tests/run.sh, or npm install --no-save --prefix .venv/axe axe-core@4.14")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def server(corpus_dir, tmp_path_factory):
    """`trialsearch serve` on the test corpus plus a record without a status and the patient
    study, with the studies' vectors where the 'semantic' extra is installed (tests/run.sh
    installs it), so results show how they matched; map tiles from a local tile server."""
    index = index_with_extra_records(corpus_dir, tmp_path_factory)
    update_index([PATIENT_RECORD], index)
    try:
        from indexer.semantic.encoder import SentenceEncoder
        from indexer.semantic.fill import fill_vectors

        fill_vectors(index, SentenceEncoder())
    except (ImportError, SemanticUnavailable):
        pass  # the pages then match by words alone, and are checked so
    with tile_server() as (tile_url, _), gunicorn_server(
            index, env={"TRIALSEARCH_TILE_URL": tile_url}) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def host(server, tmp_path_factory):
    """Another origin serving a plain page with the widget in its <main>, in the theme that
    follows the visitor's colour scheme."""
    folder = tmp_path_factory.mktemp("a11y-host")
    (folder / "widget.html").write_text(
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Host</title>'
        '</head>\n<body><main><h1>Find a trial</h1>'
        f'<script src="{server}/widget.js" data-trialsearch data-theme="auto"></script>'
        '</main></body>\n</html>\n')
    with static_server(folder) as base_url:
        assert base_url != server
        yield base_url


@pytest.fixture(scope="module")
def driver():
    with chrome(width=1200, height=900) as browser:
        browser.set_script_timeout(30)
        yield browser


def use_scheme(driver, scheme: str) -> None:
    """Make the browser report `scheme` as the visitor's preferred colour scheme."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def open_page(driver, url: str, ready_js: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(ready_js))


def assert_no_violations(driver, axe_source: str, name: str, record_property) -> None:
    """Run axe on the current page; fail listing every violation, else report the rules passed."""
    driver.execute_script(axe_source)
    result = driver.execute_async_script(RUN_AXE_JS)
    assert "error" not in result, result.get("error")
    assert result["version"].startswith(AXE_VERSION), result["version"]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {node['summary']}" for node in v["nodes"])
        for v in result["violations"])
    assert not result["violations"], f"axe {result['version']} on {name}:\n{report}"
    assert result["passes"] > 20  # axe really checked the page
    record_property("axe_rules_passed", result["passes"])
    print(f"\naxe {result['version']}, {name}: 0 violations, {result['passes']} rules passed")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_axe_violations(axe_source, driver, server, record_property, name, scheme):
    path, ready_js = PAGES[name]
    use_scheme(driver, scheme)
    driver.get_log("browser")  # drop earlier pages' messages
    open_page(driver, server + path, ready_js)
    assert_no_violations(driver, axe_source, f"{path} ({scheme})", record_property)
    # Nothing failed to load either (a missing icon or stylesheet would be logged here); a
    # page's own 404 is its answer, not a failure.
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
              and not entry["message"].startswith(f"{server}{path} - ")]
    assert errors == []


# A patient the test corpus has studies for.
PATIENT_CASE = ("A 61-year-old man with decompensated liver cirrhosis from chronic hepatitis B. "
                "He has tense ascites that needs paracentesis every two weeks despite diuretics.")


def submit_patient(driver, server: str, description: str) -> None:
    """The patient page with `description` typed in (set by script when it is longer than the
    box allows) and sent."""
    open_page(driver, f"{server}/patient", "return !!document.querySelector('#description')")
    box = driver.find_element(By.ID, "description")
    if len(description) > 2000:
        driver.execute_script("arguments[0].value = arguments[1]", box, description)
    else:
        box.send_keys(description)
    driver.find_element(By.CSS_SELECTOR, ".patient-form button[type=submit]").click()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("state", ["results", "filters lifted and a condition added", "too long"])
def test_patient_page_states_have_no_axe_violations(axe_source, driver, server, record_property,
                                                    state, scheme):
    use_scheme(driver, scheme)
    submit_patient(driver, server, "x" * 20_001 if state == "too long" else PATIENT_CASE)
    ready = ".alert" if state == "too long" else ".read-back"
    WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready))
    if state.startswith("filters lifted"):
        for name in ("age_filter", "sex_filter"):
            driver.find_element(By.NAME, name).click()
        driver.find_element(By.ID, "condition_add").send_keys("ascites")
        driver.find_element(By.CSS_SELECTOR, ".patient-form button[type=submit]").click()
        WebDriverWait(driver, WAIT).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, "input[name=condition][value=ascites]"))
        assert not driver.find_element(By.NAME, "age_filter").is_selected()
    else:
        assert state == "too long" or driver.find_elements(By.CSS_SELECTOR, ".why")
    assert_no_violations(driver, axe_source, f"the patient page, {state} ({scheme})", record_property)


def widget_search(driver, text: str):
    """Type `text` into the widget on the current page; wait for its announcement."""
    root = WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(f"return {WIDGET_JS}"))
    box = root.find_element(By.CSS_SELECTOR, "input")
    box.clear()
    box.send_keys(text)
    status = root.find_element(By.CSS_SELECTOR, "[role=status]")
    WebDriverWait(driver, WAIT).until(lambda _: status.text)
    return root, box, status


def options(root) -> list:
    return root.find_elements(By.CSS_SELECTOR, "[role=option]")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_widget_on_another_origin_has_no_axe_violations(axe_source, driver, host, record_property,
                                                        scheme):
    use_scheme(driver, scheme)
    driver.get(f"{host}/widget.html")
    root, box, status = widget_search(driver, "exosomes")
    WebDriverWait(driver, WAIT).until(lambda _: options(root))
    box.send_keys(Keys.ARROW_DOWN)  # an active option, as a keyboard user sees the list
    assert box.get_attribute("aria-activedescendant") == "o0"
    theme = root.find_element(By.CSS_SELECTOR, ".ts").get_attribute("data-theme")
    assert theme == scheme
    assert_no_violations(driver, axe_source, f"the widget on another origin ({scheme})",
                         record_property)


def test_widget_says_one_study_and_a_missing_status(driver, host):
    use_scheme(driver, "light")
    driver.get(f"{host}/widget.html")
    root, _, status = widget_search(driver, NO_STATUS_ID)
    WebDriverWait(driver, WAIT).until(lambda _: options(root))
    assert status.text == "1 study found."
    [option] = options(root)
    meta = option.find_element(By.CSS_SELECTOR, ".meta").text
    assert meta == f"{NO_STATUS_ID} · Status not given · {LONG_SPONSOR}"


FACET_VALUES_JS = """
return [...document.querySelectorAll('.facets section')].map(section => [
  section.querySelector('h3').textContent,
  [...section.querySelectorAll('.value')].map(value => {
    const text = document.createRange();  // its line boxes: the span itself is one flex item
    text.selectNodeContents(value);
    const lines = text.getClientRects();
    return [value.textContent, lines[0].left, lines.length];
  })]);
"""


def test_long_facet_values_wrap_in_line_with_short_ones(driver, server):
    use_scheme(driver, "light")
    open_page(driver, f"{server}/?q=plasma+exosomes", "return !!document.querySelector('.facets')")
    facets = dict(driver.execute_script(FACET_VALUES_JS))
    [(_, _, lines)] = [value for value in facets["Sponsor"] if value[0] == LONG_SPONSOR]
    assert lines > 1, "the long sponsor name should wrap in the facet column"
    for facet, values in facets.items():
        lefts = {round(left, 1) for _, left, _ in values}
        assert len(lefts) == 1, f"{facet} values start at different places: {values}"


def test_the_phone_filters_panel_has_no_axe_violations(axe_source, server, record_property):
    with chrome(width=390, height=844) as phone:
        phone.set_script_timeout(30)
        use_scheme(phone, "light")
        open_page(phone, f"{server}/?q=exosomes&status=RECRUITING",
                  "return !!document.querySelector('.filters-link')")
        phone.find_element(By.CSS_SELECTOR, ".filters-link").click()
        WebDriverWait(phone, WAIT).until(lambda d: d.execute_script(
            "return document.getElementById('filters').classList.contains('open')"))
        assert_no_violations(phone, axe_source, "the filters panel on a phone", record_property)
