"""How results match (`mode`: keyword, hybrid, semantic) and how each hit did (`matched_by`), in
every front end but the CLI (tests/cli): the API parameter and response fields, the OpenAPI
document, the search page's "Match" selector and its per-hit labels, the widget's `data-mode`
(and /embed's `mode`), in headless Chromium too.

Two indexes of the invented corpus: the conftest `built_index`, without study vectors (meaning
search unavailable: an explicit hybrid or semantic runs by words with a notice, no mode runs by
words silently), and `vector_index`, with them. Its vectors take seconds to compute, so the tests
using it are slow. "mammary carcinoma" is the query no study's words hold while four breast
cancer studies mean it.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from live import chrome, gunicorn_server, static_server
from selenium.webdriver.support.ui import WebDriverWait
from test_widget import Markup, embed_script
from test_widget_browser import options, search
from webapp_helpers import api_search, parse, validate

from indexer.search import MODES
from webapp import create_app
from webapp.openapi import MATCHED_BY
from webapp.params import MODE_CHOICES

SYNONYM = "mammary carcinoma"  # no study holds these words; the breast cancer studies mean them
BREAST_CANCER = {"NCT99000004", "NCT99000012", "NCT99000019", "NCT99000027"}
UNAVAILABLE = "meaning search is unavailable ("
FOUND_BY_MEANING = "Found by meaning: it does not use these words"  # the page's label
WIDGET_JS = "webapp/static/widget.js"
WAIT = 10  # seconds, the longest any browser wait may take


@pytest.fixture(scope="module")
def meaning_client(vector_index):
    """A test client of the app over the index with study vectors."""
    return create_app(index_path=vector_index).test_client()


def page(client, url: str, **params) -> str:
    response = client.get(url, query_string=params or None)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def hits_html(html: str) -> str:
    """The result list of a search page ('' when it has none)."""
    found = re.search(r'<ol class="hits".*?</ol>', html, flags=re.S)
    return found.group(0) if found else ""


def mode_options(html: str) -> list[tuple[str, str, bool]]:
    """The page's Match selector: (value, text, selected) per option."""
    select = re.search(r'<select id="mode" name="mode">(.*?)</select>', html, flags=re.S)
    assert select, "no Match selector"
    return [(value, text, bool(selected)) for value, selected, text in re.findall(
        r'<option value="([^"]*)" (selected)?>([^<]*)</option>', select.group(1))]


# -- without study vectors (the conftest app over built_index) --------------------------------

@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_without_vectors_an_asked_meaning_mode_runs_by_words_and_says_why(client, mode):
    body = api_search(client, q="cirrhosis", mode=mode)
    validate(body, "SearchResponse")
    words = api_search(client, q="cirrhosis", mode="keyword")
    assert body["mode"] == "keyword" and body["total"] == words["total"] > 0
    assert [hit["nct_id"] for hit in body["results"]] == [hit["nct_id"] for hit in words["results"]]
    assert {hit["matched_by"] for hit in body["results"]} == {"words"}
    [notice] = [n for n in body["notices"] if n.startswith(UNAVAILABLE)]
    assert "trialsearch vectors" in notice  # what to run
    assert not any(n.startswith(UNAVAILABLE) for n in words["notices"])


def test_without_vectors_no_mode_is_keyword_silently(client):
    body = api_search(client, q="cirrhosis")
    validate(body, "SearchResponse")
    assert body["mode"] == "keyword" and body["total"] > 0
    assert {hit["matched_by"] for hit in body["results"]} == {"words"}
    assert not any("meaning" in notice for notice in body["notices"])
    assert api_search(client, q="cirrhosis", mode="")["mode"] == "keyword"  # a form's empty value
    html = page(client, "/", q="cirrhosis")
    assert "meaning search" not in html and "Found by meaning" not in html


@pytest.mark.parametrize(("params"), [
    {"q": "cirrhosis", "mode": "fuzzy"},
    {"q": "cirrhosis", "mode": "Hybrid"},  # exactly the documented names
    {"q": "cirrhosis", "mode": "words"},
    {"q": "title:cirrhosis", "mode": "semantic"},
    {"q": '"liver cirrhosis"', "mode": "semantic"},
    {"q": "cirrhosis AND ascites", "mode": "semantic"},
    {"q": "cirrho*", "mode": "semantic"},
    {"q": "NCT99000001", "mode": "semantic"},
    {"q": "cirrhosis", "mode": "semantic", "sort": "last_update"},
])
def test_a_bad_mode_or_syntax_for_meaning_alone_is_400_naming_mode(client, params):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    validate(body, "Error")
    assert body["param"] == "mode" and len(body["error"]) < 300


def test_syntax_ranks_by_words_in_hybrid_without_complaint(client):
    # Meaning has no part in a scoped query anyway: nothing to say about its absence.
    body = api_search(client, q="title:cirrhosis", mode="hybrid")
    assert body["mode"] == "keyword" and body["total"] > 0
    assert not any(n.startswith(UNAVAILABLE) for n in body["notices"])


def test_the_document_describes_the_parameter_and_the_fields(spec):
    [mode] = [p for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["name"] == "mode"]
    assert mode["in"] == "query" and mode["schema"] == {"type": "string", "enum": list(MODES)}
    assert "default" not in mode["schema"]  # the server's: hybrid with vectors, else keyword
    for words in ("`keyword`", "`semantic`", "`hybrid`", "reciprocal rank fusion", "400 naming `mode`",
                  "phrases", "NCT IDs", "date sort", "`total`", "notice"):
        assert words in mode["description"], words
    response = spec["components"]["schemas"]["SearchResponse"]
    assert "mode" in response["required"] and response["properties"]["mode"]["enum"] == list(MODES)
    hit = spec["components"]["schemas"]["Hit"]
    assert "matched_by" in hit["required"]
    assert hit["properties"]["matched_by"]["enum"] == list(MATCHED_BY) == ["words", "meaning", "both"]
    similar = spec["paths"]["/api/studies/{nct_id}/similar"]["get"]
    assert "meaning" in similar["description"]


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def test_the_page_offers_a_labelled_match_selector(client):
    html = page(client, "/")
    assert '<label for="mode">Match</label>' in html
    assert mode_options(html) == [("", "Words and meaning", True), ("keyword", "Words only", False),
                                  ("semantic", "Meaning only", False)]
    assert [value for value, _ in MODE_CHOICES] == ["", "keyword", "semantic"]
    chosen = lambda **params: [v for v, _, selected in mode_options(page(client, "/", **params))  # noqa: E731
                               if selected]
    assert chosen(q="cirrhosis", mode="semantic") == ["semantic"]
    assert chosen(q="cirrhosis", mode="keyword") == ["keyword"]
    assert chosen(q="cirrhosis", mode="hybrid") == [""]  # the default's option: the same thing


def test_the_page_keeps_the_mode_in_its_links(client):
    html = page(client, "/", q="patients", mode="keyword", per_page="2")
    hrefs = [href for href in parse(html).hrefs if href.startswith("/?")]
    facet_links = [href for href in hrefs if "status=" in href]
    pages = [href for href in hrefs if re.search(r"[?&]page=\d", href)]
    sorts = [href for href in hrefs if "sort=" in href]
    assert facet_links and pages and sorts
    assert all("mode=keyword" in href for href in facet_links + pages + sorts)
    # Meaning alone ranks by meaning: no date order is offered (a 400 naming mode in the API).
    meaning = page(client, "/", q="patients", mode="semantic")
    assert 'role="alert"' not in meaning and hits_html(meaning)
    # The form keeps a date order when the selector switches to meaning alone: relevance then.
    switched = page(client, "/", q="patients", mode="semantic", sort="last_update")
    assert 'role="alert"' not in switched and hits_html(switched)
    assert '<strong aria-current="true">Relevance</strong>' in switched
    assert "sort=" not in " ".join(parse(meaning).hrefs)
    default = page(client, "/", q="patients", per_page="2")
    assert not any("mode=" in href for href in parse(default).hrefs)


def test_the_page_says_when_meaning_search_is_unavailable(client):
    html = page(client, "/", q="cirrhosis", mode="hybrid")
    assert f'<p class="notice">{UNAVAILABLE}' in html
    assert "Found by meaning" not in hits_html(html) and hits_html(html)


def test_the_page_names_a_bad_mode(client):
    html = page(client, "/", q="cirrhosis", mode="fuzzy")
    assert 'role="alert"' in html and "(parameter <code>mode</code>)" in html


def test_meaning_alone_on_the_page_searches_the_plain_words_of_a_query_with_syntax(client):
    html = page(client, "/", q='"liver cirrhosis"', mode="semantic")
    assert "(parameter <code>mode</code>)" in html
    assert "Showing results for the plain words <q>liver cirrhosis</q> instead." in html
    assert hits_html(html)


def test_embed_takes_the_mode_and_refuses_others(client):
    assert embed_script(client.get("/embed?mode=SEMANTIC"))["data-mode"] == "semantic"
    assert "data-mode" not in embed_script(client.get("/embed"))
    refused = client.get("/embed?mode=fuzzy")
    assert refused.status_code == 400
    assert "Option &#39;mode&#39; must be one of keyword, hybrid, semantic" in refused.get_data(
        as_text=True)


def test_the_widget_script_knows_the_modes_and_the_docs_show_them(client):
    source = client.get("/widget.js").get_data(as_text=True)
    assert '"mode":' + json.dumps(list(MODES), separators=(",", ":")) in source
    assert 'choice("mode", CONFIG.choices.mode, "")' in source
    assert 'params.set("mode", options.mode)' in source
    html = page(client, "/widget")
    assert "data-mode</code>" in html and "data-mode=&#34;keyword&#34;" in html
    assert any(tag == "button" and attrs.get("data-copy") == "snippet-mode"
               for tag, attrs in Markup(html).tags)


# -- with study vectors (slow: they are computed for the session) -----------------------------

@pytest.mark.slow
def test_each_mode_on_the_api(meaning_client):
    found = {}
    for mode in (None, *MODES):
        params = {"q": SYNONYM, **({"mode": mode} if mode else {})}
        body = api_search(meaning_client, **params)
        validate(body, "SearchResponse")
        found[mode] = body
        assert not any(n.startswith(UNAVAILABLE) for n in body["notices"])
    assert found["keyword"]["mode"] == "keyword" and found["keyword"]["total"] == 0
    for mode in ("hybrid", "semantic"):
        body = found[mode]
        assert body["mode"] == mode and body["total"] == 4
        assert {hit["nct_id"] for hit in body["results"]} == BREAST_CANCER
        assert {hit["matched_by"] for hit in body["results"]} == {"meaning"}
    assert found[None]["mode"] == "hybrid"  # the default where the index has vectors
    assert found[None]["results"] == found["hybrid"]["results"]
    health = meaning_client.get("/api/health").get_json()
    validate(health, "Health")
    assert health["vectors"]["studies"] == health["documents"]
    assert health["vectors"]["meaning_unavailable"] is None and health["vectors"]["model"]


@pytest.mark.slow
def test_hybrid_fuses_words_and_meaning(meaning_client):
    words = api_search(meaning_client, q="cardiomyopathy", mode="keyword")
    fused = api_search(meaning_client, q="cardiomyopathy", mode="hybrid")
    held = {hit["nct_id"] for hit in words["results"]}
    assert held and fused["total"] > words["total"]
    by = {hit["nct_id"]: hit["matched_by"] for hit in fused["results"]}
    assert {nct_id for nct_id, how in by.items() if how in ("words", "both")} == held
    assert "both" in by.values() and "meaning" in by.values()
    # A query with syntax ranks by its words, also in hybrid.
    scoped = api_search(meaning_client, q="condition:cardiomyopathy", mode="hybrid")
    assert scoped["mode"] == "keyword" and {h["matched_by"] for h in scoped["results"]} == {"words"}


@pytest.mark.slow
def test_similar_studies_say_how_they_matched(meaning_client):
    body = meaning_client.get("/api/studies/NCT99000019/similar?limit=5").get_json()
    validate(body, "SearchResponse")
    assert body["mode"] == "hybrid" and body["results"]
    assert {hit["matched_by"] for hit in body["results"]} <= set(MATCHED_BY)
    assert {"both", "meaning"} & {hit["matched_by"] for hit in body["results"]}


@pytest.mark.slow
def test_the_page_labels_hits_matched_by_meaning(meaning_client):
    html = page(meaning_client, "/", q=SYNONYM)
    results = hits_html(html)
    assert results.count('<li class="hit">') == 4
    assert results.count(f'<span class="match">{FOUND_BY_MEANING}</span>') == 4
    # Only hits found by meaning alone say how: words, or words and meaning, go unsaid.
    mixed = hits_html(page(meaning_client, "/", q="cardiomyopathy"))
    hits = mixed.split('<li class="hit">')[1:]
    labels = [re.findall(r'<span class="match">([^<]*)</span>', hit) for hit in hits]
    assert [FOUND_BY_MEANING] in labels and [] in labels and all(label in ([], [FOUND_BY_MEANING]) for label in labels)
    words_only = page(meaning_client, "/", q=SYNONYM, mode="keyword")
    assert "No study matches" in words_only and "Found by meaning" not in words_only
    # Paging through meaning matches keeps the mode.
    paged = page(meaning_client, "/", q=SYNONYM, mode="semantic", per_page="2")
    [following] = [href for href in parse(paged).hrefs if re.search(r"[?&]page=2\b", href)][:1]
    assert "mode=semantic" in following
    second = hits_html(page(meaning_client, following))
    assert second.count(f'<span class="match">{FOUND_BY_MEANING}</span>') == 2


# -- the widget in headless Chromium, over the index with vectors ----------------------------

@pytest.fixture(scope="module")
def meaning_server(vector_index):
    """`trialsearch serve` over the index with vectors: one worker with threads (a sync worker
    waits on a socket Chromium opened ahead and left idle), its query encoder loaded by a
    first search (seconds of CPU, which the browser waits should not have to cover)."""
    with gunicorn_server(vector_index, workers=1, threads=4) as base_url:
        warm = requests.get(f"{base_url}/api/search", params={"q": SYNONYM}, timeout=120)
        assert warm.status_code == 200 and warm.json()["mode"] == "hybrid"
        yield base_url


@pytest.fixture(scope="module")
def meaning_host(meaning_server, tmp_path_factory):
    """Another origin with one host page per data-mode value (none, each mode, an invalid one),
    and one in French."""
    folder = tmp_path_factory.mktemp("mode-host")
    for name, attribute in [("default", ""), *((mode, f' data-mode="{mode}"') for mode in MODES),
                            ("invalid", ' data-mode="fuzzy"'),
                            ("french", ' data-mode="semantic" data-lang="fr"')]:
        (folder / f"{name}.html").write_text(
            '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Host</title>'
            f'</head>\n<body><script src="{meaning_server}/widget.js" data-trialsearch{attribute}>'
            '</script></body>\n</html>\n')
    with static_server(folder) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def driver():
    with chrome(width=1200, height=900) as browser:
        yield browser


API_REQUESTS_JS = ("return performance.getEntriesByType('resource').map(e => e.name)"
                   ".filter(name => name.includes('/api/search'))")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.live_server
@pytest.mark.parametrize(("name", "sent", "shown"), [
    ("default", None, 4), ("hybrid", "hybrid", 4), ("semantic", "semantic", 4),
    ("keyword", "keyword", 0), ("invalid", None, 4),
])
def test_widget_data_mode_is_sent_and_meaning_matches_are_labelled(driver, meaning_host, name,
                                                                   sent, shown):
    driver.get(f"{meaning_host}/{name}.html")
    root, _ = search(driver, SYNONYM)
    status = root.find_element(by="css selector", value="[role=status]")
    if shown:
        WebDriverWait(driver, WAIT).until(lambda _: len(options(root)) == shown)
        assert status.text == f"{shown} studies found."
        for option in options(root):
            meta = option.find_element(by="css selector", value=".meta").text
            assert meta.endswith(" · Found by meaning"), meta
            assert meta.split(" · ")[0] in BREAST_CANCER
    else:
        WebDriverWait(driver, WAIT).until(lambda _: status.text == "No studies found.")
        assert options(root) == []
    sent_urls = driver.execute_script(API_REQUESTS_JS)
    assert sent_urls
    modes = {re.search(r"[?&]mode=(\w+)", url).group(1) if "mode=" in url else None
             for url in sent_urls}
    assert modes == {sent}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.live_server
def test_widget_labels_the_match_in_its_language(driver, meaning_host):
    driver.get(f"{meaning_host}/french.html")
    root, _ = search(driver, SYNONYM)
    WebDriverWait(driver, WAIT).until(lambda _: len(options(root)) == 4)
    metas = [o.find_element(by="css selector", value=".meta").text for o in options(root)]
    assert all(meta.endswith(" · Trouvée par le sens") for meta in metas), metas


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.live_server
def test_widget_searches_the_plain_words_when_meaning_alone_meets_syntax(driver, meaning_host):
    driver.get(f"{meaning_host}/semantic.html")
    root, _ = search(driver, f'"{SYNONYM}"')
    WebDriverWait(driver, WAIT).until(lambda _: len(options(root)) == 4)
    notes = root.find_element(by="css selector", value=".notes").text
    assert notes.startswith("mode=semantic reads plain words")
    assert notes.endswith(f"Showing results for: {SYNONYM}")
