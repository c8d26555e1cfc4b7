"""The embeddable widget (issue 4).

* Flask test client: /widget.js (JavaScript, cacheable, loadable by any site, small, no HTML
  sinks), /widget (the documentation: demo, snippets, every option, no inline script) and
  /embed (options from the query string validated, escaped onto the script tag, frameable).
* In headless Chromium, on pages of another origin: test_widget_browser.py.
"""

from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser

import pytest
from conftest import PROJECT_ROOT

webapp = pytest.importorskip("webapp")
from webapp.widget import CONFIG_SLOT, LANGUAGES, OPTIONS, SCRIPT_MAX_AGE, served_configuration  # noqa: E402

STATIC = PROJECT_ROOT / "webapp" / "static"
WIDGET_JS = STATIC / "widget.js"
GZIP_BUDGET = 8704  # 8.5 KB; the README states the measured size (unminified: no build step)


class Markup(HTMLParser):
    """The elements of a page, with attributes, and the body of each script."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            attributes, body = self.scripts[-1]
            self.scripts[-1] = (attributes, body + data)


def assert_csp_clean(markup: Markup) -> None:
    """What the site's CSP (script-src 'self', style-src 'self') would block: inline scripts,
    event-handler attributes, style attributes and <style> elements."""
    for attributes, body in markup.scripts:
        assert attributes.get("src") and not body.strip(), f"inline script: {body[:80]!r}"
    for tag, attributes in markup.tags:
        assert tag != "style", "a <style> element"
        for name in attributes:
            assert not name.startswith("on") and name != "style", f"<{tag} {name}=...>"


# -- Flask test client (the conftest `client`) -----------------------------------------------

def test_script_is_cacheable_javascript_any_site_may_load(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    configuration = json.dumps(served_configuration(), separators=(",", ":"))
    assert response.get_data(as_text=True) == WIDGET_JS.read_text(encoding="utf-8").replace(CONFIG_SLOT, configuration)
    assert response.cache_control.public and response.cache_control.max_age == SCRIPT_MAX_AGE
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Revalidation after the hour is a 304, not the whole script again.
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_script_is_small_dependency_free_and_never_parses_html():
    source = WIDGET_JS.read_text(encoding="utf-8")
    gzipped = len(gzip.compress(source.encode(), 9))
    assert gzipped < GZIP_BUDGET, f"widget.js is {gzipped} bytes gzipped"
    # Comments may name these (the usage comment shows https://SERVER); the code may not.
    code = re.sub(r"(^|\s)//[^\n]*", r"\1", re.sub(r"/\*.*?\*/", "", source, flags=re.S))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "import(", "http://", "https://"):
        assert sink not in code, sink
    # The languages of widget.js's labels are the ones /embed accepts; the rest of its
    # configuration is written in by the server.
    assert tuple(re.findall(r"^    (\w\w): \{$", source, flags=re.M)) == LANGUAGES
    assert source.count(CONFIG_SLOT) == 1


def test_docs_page_shows_demo_snippets_and_every_option(client):
    response = client.get("/widget")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    markup = Markup(html)
    assert_csp_clean(markup)
    assert any(tag == "header" for tag, _ in markup.tags), "extends base.html"
    for option in OPTIONS:
        assert f"data-{option.name}</code>" in html, option.name
    # The snippets are shown as text, with this server's absolute URL, each with a copy button.
    assert '&lt;script src=&#34;http://localhost/widget.js&#34; data-trialsearch&gt;' in html
    assert "&lt;iframe src=&#34;http://localhost/embed?" in html
    copies = [a["data-copy"] for tag, a in markup.tags if tag == "button" and "data-copy" in a]
    assert copies == ["snippet-script", "snippet-options", "snippet-near", "snippet-mode",
                      "snippet-iframe"]
    assert all(f'id="{name}"' in html for name in copies)
    scripts = [a["src"] for a, _ in markup.scripts]
    assert "/static/widget-docs.js" in scripts and scripts.count("/widget.js") == 2
    assert "TRIALSEARCH_WIDGET_ORIGINS" in html
    assert client.get("/static/widget-docs.js").status_code == 200


def embed_script(response) -> dict[str, str | None]:
    """The attributes of the one script tag of an /embed page (checked CSP-clean)."""
    markup = Markup(response.get_data(as_text=True))
    assert_csp_clean(markup)
    [(attributes, _)] = markup.scripts
    return attributes


def test_embed_puts_validated_options_on_the_script_tag(client):
    response = client.get("/embed", query_string=[
        ("status", "RECRUITING"), ("status", "NOT_YET_RECRUITING,RECRUITING"), ("results", "08"),
        ("theme", "DARK"), ("lang", "fr"), ("link", "ctgov"), ("new-tab", "false"),
        ("field", "condition"), ("year", "2023"), ("sponsor", "Pfizer, Inc."), ("q", "exosomes"),
        ("utm_source", "newsletter")])
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert embed_script(response) == {
        "src": "/widget.js", "data-trialsearch": None, "data-target": "#trialsearch",
        "data-q": "exosomes", "data-field": "condition",
        "data-status": "RECRUITING,NOT_YET_RECRUITING", "data-sponsor": "Pfizer, Inc.",
        "data-year": "2023", "data-results": "8", "data-theme": "dark", "data-lang": "fr",
        "data-link": "ctgov", "data-new-tab": "false"}
    html = response.get_data(as_text=True)
    assert '<html lang="fr" data-theme="dark">' in html
    # A heading for the page (hidden: the widget's label shows what it is), in its language.
    assert '<h1 class="visually-hidden">Recherche d’essais cliniques</h1>' in html
    # Unlike every other page, /embed may be framed (by any site while no origins are set).
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "script-src 'self'" in csp
    assert "X-Frame-Options" not in response.headers
    assert embed_script(client.get("/embed")) == {
        "src": "/widget.js", "data-trialsearch": None, "data-target": "#trialsearch"}


@pytest.mark.parametrize(("name", "value"), [
    ("results", "0"), ("results", "21"), ("results", "five"), ("results", "-3"),
    ("theme", "neon"), ("lang", "xx"), ("link", "javascript:alert(1)"), ("field", "bogus"),
    ("status", "RECRUITING;DROP"), ("phase", "<b>2</b>"), ("year", "20x4"),
    ("placeholder", "x" * 101), ("sponsor", "s" * 201), ("new-tab", "maybe"), ("q", "q" * 1001),
    ("mode", "fuzzy"),
])
def test_embed_refuses_invalid_options_naming_them(client, name, value):
    response = client.get("/embed", query_string={name: value})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert f"Option &#39;{name}&#39; must be" in text
    if len(value) > 4:
        assert value not in text  # never echoed back


def test_embed_escapes_hostile_option_values(client):
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    handler = '" autofocus onfocus="alert(3)'
    response = client.get("/embed", query_string={"q": hostile, "placeholder": handler})
    assert response.status_code == 200
    attributes = embed_script(response)  # still one script, no handler attributes
    assert attributes["data-q"] == hostile
    assert attributes["data-placeholder"] == handler


def test_embed_may_only_be_framed_by_the_widget_origins(built_index):
    app = webapp.create_app(index_path=built_index, WIDGET_ORIGINS=("https://partner.example",))
    client = app.test_client()
    embed = client.get("/embed").headers["Content-Security-Policy"]
    assert "frame-ancestors https://partner.example" in embed
    docs = client.get("/widget").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in docs
