"""The embeddable widget in headless Chromium against `trialsearch serve` (gunicorn), with host
pages served from another port, i.e. another origin, by `tests/live.py`: a page holding only
the snippet finds NCT05871463 and opens it with the keyboard, with a click, and with Ctrl-click
in a new tab (the options hold no links); a syntax slip is explained while the plain words are
searched; a late answer to an older query is ignored; hostile global CSS leaves the widget's
layout alone; a server restricted to other origins gives a clear message and no data; a record
whose title holds markup shows as text; /embed works in an iframe; and a screenshot of the
widget on a host page is saved (and copied for the README with TRIALSEARCH_UPDATE_SCREENSHOT=1).

Every browser wait is explicit and bounded. The script, its docs page and /embed through the
Flask test client: test_widget.py.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import XSS_NCT_ID, XSS_TITLE
from live import chrome, gunicorn_server, static_server
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from test_widget import STATIC

SEED_ID = "NCT05871463"  # in built_index only with ../shared: tests finding it take shared_data
SCREENSHOT = STATIC / "widget-screenshot.png"
WAIT = 10  # seconds, the longest any browser wait may take
HOSTILE_CSS = ("* { display: inline !important; color: red !important; font-size: 30px !important;"
               " margin: 13px !important; padding: 7px !important; line-height: 3 !important;"
               " box-sizing: content-box !important; font-family: serif !important; }"
               " div { width: 200px !important; border: 5px solid green !important; }"
               " html { font-size: 40px !important; }")


@pytest.fixture(scope="module")
def server(built_index):
    """`trialsearch serve` on the test index, open to every origin."""
    with gunicorn_server(built_index, workers=2) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def driver():
    with chrome(width=1200, height=900) as browser:
        yield browser


SLOW_FETCH_JS = """
const realFetch = window.fetch;
window.fetch = (url, init = {}) => {
  if (!String(url).includes('q=cirrhosis')) return realFetch(url, init);
  window.slowStarted = true;
  const {signal, ...unabortable} = init;
  return new Promise(resolve => setTimeout(resolve, 1500))
    .then(() => realFetch(url, unabortable))
    .then(response => { setTimeout(() => { window.slowDone = true; }, 100); return response; });
};
"""


def host_pages(folder: Path, server_url: str) -> None:
    """Host pages for `server_url`'s widget: the bare snippet, the snippet under hostile CSS,
    a page framing /embed, and a realistic page for the screenshot."""
    snippet = f'<script src="{server_url}/widget.js" data-trialsearch></script>'
    head = '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Host</title>'
    (folder / "snippet.html").write_text(f"{head}</head>\n<body>{snippet}</body>\n</html>\n")
    (folder / "hostile.html").write_text(
        f"{head}<style>{HOSTILE_CSS}</style></head>\n<body><p id=host-text>Host text</p>"
        f"{snippet}</body>\n</html>\n")
    # A page whose fetch answers "cirrhosis" late, whatever the widget aborts: a stale answer.
    (folder / "slow.html").write_text(
        f"{head}<script>{SLOW_FETCH_JS}</script></head>\n<body>{snippet}</body>\n</html>\n")
    (folder / "iframe.html").write_text(
        f'{head}</head>\n<body><iframe src="{server_url}/embed?q=exosomes&amp;lang=fr&amp;'
        f'theme=dark&amp;status=RECRUITING" title="Trial search" width="700" height="600"></iframe>'
        f'</body>\n</html>\n')
    (folder / "showcase.html").write_text(
        f'{head}<style>body {{ font: 16px/1.5 Georgia, serif; margin: 0; background: #f4f1ea; }}'
        f' main {{ width: 720px; padding: 24px 32px; background: #fff; }}'
        f' h1 {{ color: #6b2737; margin: 0 0 8px; }}</style></head>\n<body><main id=page>'
        f'<h1>Northbridge Liver Research</h1><p>Looking for a clinical trial? Search the '
        f'studies open near you.</p><div id=trial-search></div>'
        f'<script src="{server_url}/widget.js" data-trialsearch data-target="#trial-search" '
        f'data-results="3"></script></main></body>\n</html>\n')


@dataclass
class Host:
    """The other origin: a static server's URL and the folder it serves (files written there
    later are served too)."""

    url: str
    folder: Path


@pytest.fixture(scope="module")
def host(server, tmp_path_factory):
    """A static server on another port (another origin) with the host pages."""
    folder = tmp_path_factory.mktemp("host")
    host_pages(folder, server)
    with static_server(folder) as base_url:
        assert base_url != server
        yield Host(base_url, folder)


def widget(driver):
    """The widget's shadow root on the current page, once the script has rendered it."""
    return WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.querySelector('.trialsearch-widget')?.shadowRoot"))


def search(driver, text: str):
    """Type `text` into the widget and wait for its answer (results or a message)."""
    root = widget(driver)
    box = root.find_element(By.CSS_SELECTOR, "input")
    box.clear()
    box.send_keys(text)
    WebDriverWait(driver, WAIT).until(lambda _: root.find_element(By.CSS_SELECTOR, ".msg").text)
    return root, box


def options(root) -> list:
    return root.find_elements(By.CSS_SELECTOR, "[role=option]")


@pytest.mark.browser
@pytest.mark.live_server
def test_snippet_on_another_origin_finds_and_opens_a_study_by_keyboard(driver, server, host, shared_data):
    driver.get(f"{host.url}/snippet.html")
    root, box = search(driver, "exosomes")
    listbox = root.find_element(By.CSS_SELECTOR, "[role=listbox]")
    WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))
    # Debounced: without it the keystrokes "ex" to "exosomes" would send 7 requests (a stall
    # of a loaded machine between two keystrokes may add one or two).
    requests_made = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/search')).length")
    assert 1 <= requests_made <= 3
    # ARIA 1.2 combobox + listbox, and a polite status announcing the count.
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-controls") == listbox.get_attribute("id")
    assert box.get_attribute("aria-autocomplete") == "list"
    assert root.find_element(By.CSS_SELECTOR, f"label[for={box.get_attribute('id')}]").text
    status = root.find_element(By.CSS_SELECTOR, "[role=status]")
    assert status.get_attribute("aria-live") == "polite"
    assert re.fullmatch(r"\d+ studies found[.;].*", status.text), status.text
    # Escape closes the list, an arrow key opens it again.
    box.send_keys(Keys.ESCAPE)
    assert box.get_attribute("aria-expanded") == "false" and not listbox.is_displayed()
    for _ in options(root):
        box.send_keys(Keys.ARROW_DOWN)
        active = root.find_element(By.ID, box.get_attribute("aria-activedescendant"))
        assert active.get_attribute("aria-selected") == "true"
        if SEED_ID in active.text:
            break
    assert SEED_ID in active.text
    # The focus never left the box; the active option is visibly outlined.
    assert driver.execute_script("return arguments[0].activeElement", root) == box
    assert active.value_of_css_property("border-top-style") == "solid"
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url == f"{server}/study/{SEED_ID}")
    assert SEED_ID in driver.find_element(By.TAG_NAME, "body").text


@pytest.mark.browser
@pytest.mark.live_server
def test_a_click_opens_a_result_and_ctrl_click_a_new_tab(driver, server, host, shared_data):
    # The options hold no links (a link in an option nests controls): the widget navigates,
    # keeping what a link click does.
    driver.get(f"{host.url}/snippet.html")
    root, box = search(driver, "exosomes")
    WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))
    [seed] = [o for o in options(root) if SEED_ID in o.text]
    page = driver.current_window_handle
    ActionChains(driver).key_down(Keys.CONTROL).click(seed).key_up(Keys.CONTROL).perform()
    WebDriverWait(driver, WAIT).until(lambda d: len(d.window_handles) == 2)
    assert driver.current_url == f"{host.url}/snippet.html"
    assert driver.execute_script("return arguments[0].activeElement", root) == box
    [tab] = [handle for handle in driver.window_handles if handle != page]
    driver.switch_to.window(tab)
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url == f"{server}/study/{SEED_ID}")
    driver.close()
    driver.switch_to.window(page)
    seed.click()
    WebDriverWait(driver, WAIT).until(lambda d: d.current_url == f"{server}/study/{SEED_ID}")
    assert driver.window_handles == [page]


@pytest.mark.browser
@pytest.mark.live_server
def test_a_syntax_slip_is_explained_and_the_plain_words_searched(driver, host, shared_data):
    driver.get(f"{host.url}/snippet.html")
    root, _ = search(driver, '"exosomes')  # a phrase being typed: its quote is not closed yet
    WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))
    notes = root.find_element(By.CSS_SELECTOR, ".notes").text
    assert notes.startswith("unbalanced quotes") and notes.endswith("Showing results for: exosomes")


@pytest.mark.browser
@pytest.mark.live_server
def test_stale_answers_are_ignored(driver, host, shared_data):
    driver.get(f"{host.url}/slow.html")
    box = widget(driver).find_element(By.CSS_SELECTOR, "input")
    box.send_keys("cirrhosis")
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return window.slowStarted"))
    root, box = search(driver, "exosomes")
    WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))
    shown = [o.text for o in options(root)]
    # The cirrhosis answer arrives after the exosomes one and changes nothing.
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script("return window.slowDone"))
    assert [o.text for o in options(root)] == shown
    assert box.get_attribute("value") == "exosomes"


LAYOUT_JS = """
const host = document.querySelector('.trialsearch-widget');
const origin = host.getBoundingClientRect();
const props = ['display', 'color', 'background-color', 'font-size', 'font-family', 'line-height',
               'margin-top', 'padding-left', 'border-top-width', 'box-sizing', 'width', 'height'];
const layout = {host: [origin.width, origin.height, getComputedStyle(host).display]};
for (const el of host.shadowRoot.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  // Hidden elements have no box: their styles still count, their position means nothing.
  const box = el.getClientRects().length ? [r.x - origin.x, r.y - origin.y, r.width, r.height] : [];
  layout[el.tagName + '#' + (el.id || el.className) + '@' + Object.keys(layout).length] =
    [...box, ...props.map(p => style[p])];
}
return layout;
"""


@pytest.mark.browser
@pytest.mark.live_server
def test_hostile_page_css_does_not_change_the_widget_layout(driver, host):
    layouts = {}
    for page in ("snippet", "hostile"):
        driver.get(f"{host.url}/{page}.html")
        root, box = search(driver, "exosomes")
        WebDriverWait(driver, WAIT).until(lambda _: len(options(root)) >= 2)  # noqa: B023 - waited on here
        box.send_keys(Keys.ARROW_DOWN)
        layouts[page] = driver.execute_script(LAYOUT_JS)
    # The hostile rules do apply to the host page itself ...
    text = driver.find_element(By.ID, "host-text")
    assert text.value_of_css_property("color") == "rgba(255, 0, 0, 1)"
    assert text.value_of_css_property("font-size") == "30px"
    # ... and change nothing inside the widget: same boxes, positions and computed styles.
    assert len(layouts["snippet"]) > 20
    assert layouts["hostile"] == layouts["snippet"]
    assert layouts["hostile"]["host"][2] == "block"


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.live_server
def test_restricted_origins_get_a_clear_message_and_no_data(driver, built_index, host, shared_data):
    env = {"TRIALSEARCH_WIDGET_ORIGINS": "https://partner.example"}
    with gunicorn_server(built_index, env=env, workers=1) as restricted:
        (host.folder / "restricted.html").write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Other site</title>'
            f'</head><body><script src="{restricted}/widget.js" data-trialsearch></script>'
            '</body></html>')
        driver.get(f"{host.url}/restricted.html")
        root, _ = search(driver, "exosomes")
        message = root.find_element(By.CSS_SELECTOR, "[role=status]")
        assert message.text == "This site is not allowed to use this search service."
        assert "err" in message.get_attribute("class").split()
        assert options(root) == [] and SEED_ID not in root.find_element(By.CSS_SELECTOR, ".ts").text
        # The server's own pages still search: the refusal is about the other origin.
        driver.get(f"{restricted}/embed?q=exosomes")
        root = widget(driver)
        WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))


@pytest.mark.browser
@pytest.mark.live_server
def test_record_markup_is_shown_as_text(driver, host):
    driver.get(f"{host.url}/snippet.html")
    root, _ = search(driver, "exosomes")
    WebDriverWait(driver, WAIT).until(lambda _: any(XSS_NCT_ID in o.text for o in options(root)))
    [hostile] = [o for o in options(root) if XSS_NCT_ID in o.text]
    title = hostile.find_element(By.CSS_SELECTOR, ".title")
    assert title.get_attribute("textContent") == XSS_TITLE
    assert "<b>Evil</b> Sponsor & Co" in hostile.text
    # Only <mark> elements come from the data; nothing ran and nothing was injected.
    tags = driver.execute_script(
        "return [...arguments[0].querySelectorAll('li *')].map(e => e.tagName.toLowerCase())", root)
    assert set(tags) <= {"span", "mark"}, set(tags)
    assert driver.execute_script("return document.querySelectorAll('img, b, i').length") == 0
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it raises when there is no alert


@pytest.mark.browser
@pytest.mark.live_server
def test_embed_works_in_an_iframe_with_its_options(driver, host, shared_data):
    driver.get(f"{host.url}/iframe.html")
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    try:
        root = widget(driver)
        WebDriverWait(driver, WAIT).until(lambda _: any(SEED_ID in o.text for o in options(root)))
        assert root.find_element(By.CSS_SELECTOR, "label").text == "Rechercher des essais cliniques"
        assert root.find_element(By.CSS_SELECTOR, ".ts").get_attribute("data-theme") == "dark"
        assert all(" · Recruiting · " in o.text for o in options(root))  # the preset filter
        # Framed, a chosen result opens in a new tab rather than inside the frame.
        page = driver.current_window_handle
        [seed] = [o for o in options(root) if SEED_ID in o.text]
        seed.click()
        WebDriverWait(driver, WAIT).until(lambda d: len(d.window_handles) == 2)
        [tab] = [handle for handle in driver.window_handles if handle != page]
        driver.switch_to.window(tab)
        WebDriverWait(driver, WAIT).until(lambda d: d.current_url.endswith(f"/study/{SEED_ID}"))
        # Opened with noopener: the study page cannot reach back into the host page.
        assert driver.execute_script("return window.opener") is None
        driver.close()
        driver.switch_to.window(page)
        assert driver.current_url == f"{host.url}/iframe.html"
    finally:
        driver.switch_to.default_content()


@pytest.mark.browser
@pytest.mark.live_server
def test_docs_page_demo_runs_under_the_site_csp(driver, server):
    driver.get_log("browser")  # drop earlier pages' messages
    driver.get(f"{server}/widget")
    WebDriverWait(driver, WAIT).until(lambda d: d.execute_script(
        "return document.querySelectorAll('.trialsearch-widget').length") == 2)
    root, _ = search(driver, "cirrhosis")
    WebDriverWait(driver, WAIT).until(lambda _: options(root))
    # The constructed stylesheet applied although the CSP allows no inline style.
    panel = root.find_element(By.CSS_SELECTOR, ".ts")
    assert panel.value_of_css_property("border-top-left-radius") == "8px"
    copy = driver.find_element(By.CSS_SELECTOR, "button[data-copy]")
    assert copy.is_displayed()  # widget-docs.js ran
    violations = [entry["message"] for entry in driver.get_log("browser")
                  if "Content Security Policy" in entry["message"]]
    assert violations == []


@pytest.mark.browser
@pytest.mark.live_server
def test_screenshot_of_the_widget_on_a_host_page(driver, host, tmp_path):
    driver.get(f"{host.url}/showcase.html")
    root, box = search(driver, "cirrhosis")
    WebDriverWait(driver, WAIT).until(lambda _: len(options(root)) == 3)
    box.send_keys(Keys.ARROW_DOWN)
    path = tmp_path / "widget.png"
    assert driver.find_element(By.ID, "page").screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("TRIALSEARCH_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(path, SCREENSHOT)
