"""Security: output safety, headers, admin authentication, request size, query cost.

* XSS payloads in records (title, official title, sponsor, conditions, summary) and in queries
  are inert in the search page, the study page, snippets, the widget (in headless Chromium, on
  a page of another origin and in /embed) and the JSON API: parsed with an HTML parser, no
  payload becomes an element, an event-handler attribute or a javascript: URL, no payload runs
  in the browser, and the payload text is still shown, as text.
* Security headers on every response, errors and 413s included: the contract's CSP, nosniff,
  `frame-ancestors 'none'` everywhere but /embed, which the configured widget origins (any by
  default) may frame; the same through gunicorn.
* POST /api/admin/reindex: 401 without a Bearer token, 403 with a wrong one, nothing rebuilt,
  and a rebuild with the right one (a positive control); disabled without a configured token;
  the comparison goes through hmac.compare_digest.

Request sizes and query cost: test_request_bounds.py.
"""

from __future__ import annotations

import http.client
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import XSS_NCT_ID
from live import chrome, gunicorn_server, static_server
from selenium.webdriver.support.ui import WebDriverWait

from indexer import build_index, open_index

# Payloads that, if they ever ran in a browser, would leave a trace; as markup they are
# recognisable by the "xss" marker in script text, event handlers and URLs.
PAYLOAD_ID = "NCT99999998"
PAYLOAD_RECORD = f"""Viewing Study {PAYLOAD_ID}

Study NCT ID: {PAYLOAD_ID}
Status: RECRUITING
First Post: 2024-01-02

Brief Title: Exosomes xssprobe <script>document.documentElement.dataset.xss='title'</script> <img src=x onerror="document.documentElement.dataset.xss='img'">
Official Title: "><svg onload=document.documentElement.dataset.xss='svg'> '><a href="javascript:document.documentElement.dataset.xss='href'">link</a>
Sponsor: </textarea></title><script>document.documentElement.dataset.xss='sponsor'</script>
Conditions: <iframe src="javascript:parent.document.documentElement.dataset.xss='iframe'"></iframe>

Study Overview

Brief Summary: xssprobe summary {{{{7*7}}}} <style>body{{display:none}}</style> <details open ontoggle="document.documentElement.dataset.xss='toggle'"> exosomes <math><mi xlink:href="javascript:alert(1)">x</mi></math> &lt;b&gt;already escaped&lt;/b&gt;
"""
QUERY_PAYLOADS = [
    '<script>document.documentElement.dataset.xss="q"</script>',
    '"><img src=x onerror="document.documentElement.dataset.xss=\'qimg\'">',
    "' onmouseover='document.documentElement.dataset.xss=1' x='",
    "javascript:document.documentElement.dataset.xss='qjs'",
    "</script><script>document.documentElement.dataset.xss='qbreak'</script>",
    "exosomes <svg/onload=alert(1)>",
]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc", "poster"}


class Markup(HTMLParser):
    """Every element, attribute and script body of an HTML document or fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script = attributes
            self.scripts.append((attributes, ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            attributes, body = self.scripts[-1]
            self.scripts[-1] = (attributes, body + data)
        else:
            self.text.append(data)


def parse_markup(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert(html: str, where: str = "") -> Markup:
    """No payload became live markup: no executable script holding a payload, no event-handler
    attribute, no javascript: URL, no element a payload introduces."""
    markup = parse_markup(html)
    for tag, attributes in markup.tags:
        for name, value in attributes.items():
            assert not name.startswith("on"), f"{where}: <{tag} {name}={value!r}> event handler"
            if name in URL_ATTRIBUTES and value:
                assert not re.match(r"\s*(javascript|vbscript|data:text/html)", value, re.I), (
                    f"{where}: <{tag} {name}={value!r}>")
        assert tag not in ("iframe", "svg", "math", "style", "details") or "xss" not in json.dumps(
            attributes), f"{where}: payload element <{tag} {attributes}>"
        if tag == "img":
            assert attributes.get("src") != "x", f"{where}: payload <img src=x>"
    for attributes, body in markup.scripts:
        data_only = (attributes.get("type") or "").lower() in ("application/json",
                                                               "application/ld+json")
        if not data_only:
            assert "dataset.xss" not in body and not re.search(r"alert\(\d\)", body), (
                f"{where}: payload inside an executable <script>: {body[:200]!r}")
    return markup


def assert_only_mark_tags(fragment: str, where: str = "") -> None:
    """A highlight/snippet fragment: escaped text plus <mark> and nothing else."""
    markup = assert_inert(fragment, where)
    assert {tag for tag, _ in markup.tags} <= {"mark"}, (where, fragment)
    for _, attributes in markup.tags:  # at most a plain class name, as Whoosh writes it
        assert set(attributes) <= {"class"}, (where, fragment)
        assert re.fullmatch(r"[\w -]*", attributes.get("class") or ""), (where, fragment)


# -- the search core: snippets and highlights ------------------------------------------------

@pytest.fixture(scope="module")
def payload_index(corpus_dir, tmp_path_factory) -> Path:
    """The shared test corpus (with conftest's alert() record, XSS_NCT_ID) plus PAYLOAD_RECORD."""
    corpus = tmp_path_factory.mktemp("payload-corpus")
    (corpus / "payloads.txt").write_text(PAYLOAD_RECORD, encoding="utf-8")
    path = tmp_path_factory.mktemp("payload-index") / "index"
    build_index([corpus_dir, corpus], path)
    return path


@pytest.mark.parametrize("query", ["exosomes", "xssprobe", "script", "img onerror", "javascript",
                                   "alert", "evil sponsor", "exo*", "exosme~"])
def test_highlights_and_snippets_are_escaped_text_with_only_mark_tags(payload_index, query):
    result = open_index(payload_index).search(query, per_page=100)
    for hit in result.hits:
        for field, fragment in hit.highlights.items():
            assert_only_mark_tags(fragment, f"{query!r} {hit.nct_id} {field}")
    hostile = [hit for hit in result.hits if hit.nct_id in (PAYLOAD_ID, XSS_NCT_ID)]
    if query in ("exosomes", "xssprobe"):
        assert hostile, "the hostile records should match"
    for hit in hostile:
        title = hit.highlights["title"]
        assert "&lt;script&gt;" in title or "&lt;img" in title, title


# -- the web app ---------------------------------------------------------------------------------

ADMIN_TOKEN = "t0ken-" + "a1b2c3d4e5f6" * 4
CONTRACT_CSP = {"default-src": ["'self'"], "script-src": ["'self'"], "style-src": ["'self'"],
                "object-src": ["'none'"]}


def make_app(index_path: Path, **overrides):
    """The app under test, as production runs it (no TESTING: errors go through the handlers)."""
    from webapp import create_app

    application = create_app(index_path=str(index_path), **overrides)
    application.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    return application


@pytest.fixture(scope="module")
def app(payload_index):
    """Not the conftest `app`: this one serves the hostile payload index, runs as production
    does (make_app: errors go through the handlers) and takes the admin token from the
    environment, as documented. The conftest `client` is its test client."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIALSEARCH_ADMIN_TOKEN", ADMIN_TOKEN)
        mp.delenv("TRIALSEARCH_WIDGET_ORIGINS", raising=False)
        yield make_app(payload_index)


def html_routes(app) -> list[str]:
    """Every GET route of the app that renders a page: parameterless ones as they are, ones
    taking an NCT ID with the hostile record's."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api"):
            continue
        if not rule.arguments:
            urls.append(rule.rule)
        elif len(rule.arguments) == 1:
            urls.append(re.sub(r"<[^>]+>", PAYLOAD_ID, rule.rule))
    return sorted(set(urls))


def test_pages_render_hostile_records_and_queries_inert(app, client):
    pages = html_routes(app)
    assert {"/", "/embed", f"/study/{PAYLOAD_ID}"} <= set(pages), pages
    checked, html_pages = 0, set()
    for url in pages:
        for q in ["exosomes", "xssprobe", *QUERY_PAYLOADS]:
            response = client.get(url, query_string={"q": q})
            if not response.mimetype.startswith("text/html"):  # /widget.js, /favicon.ico
                continue
            html_pages.add(url)
            assert response.status_code in (200, 400), (url, q, response.status_code)
            html = response.get_data(as_text=True)
            markup = assert_inert(html, f"{url}?q={q}")
            checked += 1
            if url == "/" and q == "xssprobe":
                # The hostile record is found and its markup shown as text, not dropped.
                text = " ".join(markup.text)
                assert PAYLOAD_ID in html and "dataset.xss='title'" in text, text[:2000]
    # The study page shows every field of the hostile record, as text.
    study = client.get(f"/study/{PAYLOAD_ID}")
    assert study.status_code == 200
    text = " ".join(assert_inert(study.get_data(as_text=True), "study page").text)
    for shown in ("<script>document.documentElement.dataset.xss='title'</script>",
                  "</textarea></title><script>", "<iframe src=", "ontoggle="):
        assert shown in text, shown
    assert {"/", "/embed", "/widget", f"/study/{PAYLOAD_ID}"} <= html_pages, html_pages
    assert checked == len(html_pages) * (2 + len(QUERY_PAYLOADS)), (checked, html_pages)


def test_api_output_is_json_with_escaped_highlights(client):
    response = client.get("/api/search", query_string={"q": "xssprobe exosomes", "per_page": 50})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    hits = response.get_json()["results"]
    assert any(hit["nct_id"] == PAYLOAD_ID for hit in hits)
    for hit in hits:
        assert hit["highlights"], hit
        for field, fragment in hit["highlights"].items():
            assert_only_mark_tags(fragment, f"api {hit['nct_id']} {field}")
    # The raw title is data: JSON-encoded, never interpreted (the consumer escapes it).
    detail = client.get(f"/api/studies/{PAYLOAD_ID}")
    assert detail.status_code == 200 and detail.mimetype == "application/json"
    assert "<script>" in detail.get_json()["brief_title"]
    # No JSONP: a callback parameter never turns the JSON into script.
    jsonp = client.get("/api/search", query_string={"q": "exosomes", "callback": "alert"})
    assert jsonp.mimetype == "application/json"
    assert jsonp.get_data(as_text=True).lstrip().startswith("{")


def test_api_errors_are_json_and_never_reflect_markup_as_html(client):
    for q in QUERY_PAYLOADS + ['"<script>alert(1)</script>', "*<img src=x onerror=alert(1)>",
                               "title:<svg/onload=alert(1)>", "<0"]:
        response = client.get("/api/search", query_string={"q": q})
        assert response.status_code in (200, 400), (q, response.status_code)
        assert response.mimetype == "application/json", (q, response.mimetype)
        if response.status_code == 400:
            assert response.get_json()["param"] == "q"
    for url in ("/api/studies/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/api/no-such-thing"):
        response = client.get(url)
        assert response.status_code in (400, 404) and response.mimetype == "application/json"


def test_unexpected_errors_are_a_plain_500_without_internals(app, client, monkeypatch):
    from indexer.search import SearchIndex

    def explode(*args, **kwargs):
        raise RuntimeError("secret /srv/internal/path")

    monkeypatch.setattr(SearchIndex, "search", explode)
    assert not app.debug
    for url in ("/api/search?q=exosomes", "/?q=exosomes"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 500, (url, response.status_code)
        assert "secret" not in body and "Traceback" not in body and "RuntimeError" not in body
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert client.get("/api/search?q=exosomes").get_json()["error"]


# -- headers ---------------------------------------------------------------------------------

def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def check_headers(url: str, response, frame_ancestors: list[str]) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{url} ({response.status_code}) has no Content-Security-Policy"
    directives = csp_directives(csp)
    for name, value in CONTRACT_CSP.items():
        assert directives.get(name) == value, (url, name, csp)
    embed = url.split("?")[0] == "/embed"
    if embed:
        # Other sites must be able to frame the widget: the allowed origins (default any).
        assert directives.get("frame-ancestors") == frame_ancestors, (url, csp)
        assert headers.get("X-Frame-Options") is None, url
    else:
        assert directives.get("frame-ancestors") == ["'none'"], (
            f"{url} can be framed by other sites (clickjacking): {csp}")


def header_urls(app) -> list[str]:
    return [*html_routes(app), "/embed?q=exosomes", "/?q=%22unbalanced", "/no/such/page",
            "/static/style.css", "/widget.js", "/api/search?q=exosomes",
            f"/api/studies/{PAYLOAD_ID}", f"/api/studies/{PAYLOAD_ID}/similar", "/api/health",
            "/api/openapi.json", "/api/search?q=%22unbalanced", "/api/studies/bogus",
            "/api/places?q=Bos", "/api/places?q=", "/embed?results=9999"]


def test_security_headers_on_pages_api_and_errors(app, client):
    statuses = set()
    for url in header_urls(app):
        response = client.get(url)
        statuses.add(response.status_code)
        check_headers(url, response, ["*"])
    for response in (client.post("/api/admin/reindex"),
                     client.post("/api/admin/reindex", data=b"x" * (2 * 1024 * 1024))):
        statuses.add(response.status_code)
        check_headers("/api/admin/reindex", response, ["*"])
    assert {200, 400, 401, 404, 413} <= statuses, statuses


def test_embed_may_be_framed_only_by_the_configured_widget_origins(payload_index, monkeypatch):
    origins = "https://trials.example.org, https://partner.example.com"
    monkeypatch.setenv("TRIALSEARCH_WIDGET_ORIGINS", origins)
    application = make_app(payload_index)
    client = application.test_client()
    allowed = ["https://trials.example.org", "https://partner.example.com"]
    for url in ("/embed", "/embed?q=exosomes&status=RECRUITING", "/", "/widget"):
        check_headers(url, client.get(url), allowed)


# -- admin -------------------------------------------------------------------------------------

def admin_rules(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/api/admin")})


@pytest.fixture
def admin_index(corpus_dir, tmp_path) -> Path:
    """An index of its own: the admin tests may rebuild it."""
    path = tmp_path / "index"
    build_index([corpus_dir / "sample"], path)
    return path


MISSING = [None, "", "Bearer", "Bearer ", f"Basic {ADMIN_TOKEN}", ADMIN_TOKEN,
           f"Token {ADMIN_TOKEN}", f"bearer{ADMIN_TOKEN}"]
WRONG = [f"Bearer {ADMIN_TOKEN[:-1]}", f"Bearer {ADMIN_TOKEN}x", f"Bearer {ADMIN_TOKEN.upper()}",
         "Bearer " + "x" * len(ADMIN_TOKEN), f"Bearer  {ADMIN_TOKEN}", f"Bearer {ADMIN_TOKEN} x",
         "Bearer \x00", "Bearer " + "A" * 10_000, "Bearer None", "Bearer null"]


def test_admin_endpoints_reject_missing_and_wrong_tokens_and_accept_the_right_one(
        admin_index, corpus_dir):
    application = make_app(admin_index, ADMIN_TOKEN=ADMIN_TOKEN,
                           SOURCES=[str(corpus_dir / "sample")])
    client = application.test_client()
    assert admin_rules(application) == ["/api/admin/reindex"]
    generation = open_index(admin_index).generation
    for authorizations, status in ((MISSING, 401), (WRONG, 403)):
        for authorization in authorizations:
            headers = {} if authorization is None else {"Authorization": authorization}
            response = client.post("/api/admin/reindex?wait=true", headers=headers)
            assert response.status_code == status, (authorization and authorization[:30],
                                                    response.status_code)
            assert response.mimetype == "application/json"
            body = response.get_data(as_text=True)
            assert ADMIN_TOKEN not in body and response.get_json()["error"]
            assert "Access-Control-Allow-Origin" not in response.headers
    # Nothing was rebuilt by all of that...
    assert open_index(admin_index).generation == generation
    # ...while the right token rebuilds (a positive control: the endpoint is not just closed).
    response = client.post("/api/admin/reindex?wait=true",
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert open_index(admin_index).generation != generation
    # Only POST: a GET cannot trigger it (no CSRF through an <img src>).
    assert client.get("/api/admin/reindex",
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 405


def test_admin_is_disabled_without_a_configured_token(admin_index, monkeypatch):
    monkeypatch.delenv("TRIALSEARCH_ADMIN_TOKEN", raising=False)
    client = make_app(admin_index).test_client()
    generation = open_index(admin_index).generation
    for authorization in (None, "Bearer ", "Bearer None", "Bearer null", "Bearer undefined",
                          "Bearer  ", "Bearer false"):
        headers = {} if authorization is None else {"Authorization": authorization}
        response = client.post("/api/admin/reindex?wait=true", headers=headers)
        assert response.status_code in (401, 403, 404), (authorization, response.status_code)
    assert open_index(admin_index).generation == generation


def test_admin_token_is_compared_with_hmac_compare_digest(admin_index, monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = make_app(admin_index, ADMIN_TOKEN=ADMIN_TOKEN).test_client()
    response = client.post("/api/admin/reindex?wait=true",
                           headers={"Authorization": "Bearer wrong-token"})
    assert response.status_code == 403
    # The given and the configured token went through compare_digest (not ==).
    assert len(calls) == 1, calls
    given, expected = (v.decode() if isinstance(v, bytes) else v for v in calls[0])
    assert {given, expected} == {"wrong-token", ADMIN_TOKEN}


# -- through a real server and a real browser -------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.live_server
def test_widget_and_embed_render_hostile_records_inert_in_chromium(payload_index, tmp_path):
    host_page = tmp_path / "site"
    host_page.mkdir()
    with gunicorn_server(payload_index, workers=1) as base_url, chrome() as driver:
        # The same headers through gunicorn as through the test client,
        for url in ("/", "/embed", "/api/search?q=exosomes"):
            check_headers(url, requests.get(base_url + url, timeout=10), ["*"])
        # and the same size limits: a huge URL is cut off by gunicorn, a huge body refused.
        huge_url = requests.get(f"{base_url}/api/search", params={"q": "x" * 50_000}, timeout=10)
        assert huge_url.status_code in (400, 414), huge_url.status_code
        # (the body is announced, never sent: the answer must come without reading it).
        connection = http.client.HTTPConnection(urlsplit(base_url).netloc, timeout=10)
        connection.putrequest("POST", "/api/admin/reindex")
        connection.putheader("Authorization", "Bearer x")
        connection.putheader("Content-Length", str(1024 * 1024 * 1024))
        connection.endheaders()
        assert connection.getresponse().status == 413
        connection.close()
        (host_page / "index.html").write_text(
            f'<!doctype html><html><body><h1>Partner site</h1><div id="t"></div>'
            f'<script src="{base_url}/widget.js" data-trialsearch data-target="#t" '
            f'data-q="xssprobe" data-results="10"></script></body></html>', encoding="utf-8")
        with static_server(host_page) as site_url:
            for page in (f"{site_url}/index.html", f"{base_url}/embed?q=xssprobe&results=10"):
                driver.get(page)
                rendered = WebDriverWait(driver, 20).until(lambda d: d.execute_script(
                    "const host = document.querySelector('.trialsearch-widget');"
                    "const root = host && host.shadowRoot;"
                    "return root && root.textContent.includes('xssprobe') && root.innerHTML;"))
                assert driver.execute_script("return document.documentElement.dataset.xss") \
                    is None, f"a payload ran on {page}"
                assert_inert(rendered, f"widget on {page}")
                # The payload is displayed as text, and the match is marked.
                assert "dataset.xss='title'" in driver.execute_script(
                    "return document.querySelector('.trialsearch-widget').shadowRoot.textContent")
                assert "<mark" in rendered
