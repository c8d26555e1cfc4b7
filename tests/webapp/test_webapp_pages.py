"""The web app's pages through Flask's test client: the search page (its form, hits, facets,
sorting, pages, did-you-mean and syntax errors), the help page and the study page.

The JSON API is in test_webapp_api.py, configuration, admin and freshness in
test_webapp_server.py, real gunicorn and Chromium runs in test_webapp_live.py.
"""

from __future__ import annotations

import re

import pytest
from conftest import SEED_RECORD, XSS_NCT_ID, XSS_TITLE
from webapp_helpers import api_search, parse

from indexer.eligibility import parse_criteria

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
