"""Page polish (issue "A user's first hour"), through Flask's test client: pagination says
"Page N of M" and links the last page the result window reaches; /favicon.ico and the icon
every page links answer; a record without a status says "Status not given", unlike the
registry's own UNKNOWN status. The browser-visible parts (facet alignment, the widget's
wording) are in test_accessibility.py.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from conftest import PROJECT_ROOT

from indexer import build_index

webapp = pytest.importorskip("webapp")
from webapp import pages  # noqa: E402

NO_STATUS_ID = "NCT99999998"
UNKNOWN_STATUS_ID = "NCT99999997"
LONG_SPONSOR = ("Foundation for Research into Rare Inflammatory and Degenerative Diseases "
                "International")


def record(nct_id: str, status_line: str, title: str, sponsor: str) -> str:
    """A study in the plain-text export layout; `status_line` may be empty."""
    return f"""Viewing Study {nct_id}

Study NCT ID: {nct_id}
{status_line}
First Post: 2024-05-06

Brief Title: {title}
Sponsor: {sponsor}

Study Overview

Brief Summary: Exosomes collected from plasma, a record for the page tests.
"""


# Two records beside the usual corpus: one with no status at all, one whose registry status is
# UNKNOWN. Its long sponsor name wraps in the facet column.
EXTRA_RECORDS = {
    NO_STATUS_ID: record(NO_STATUS_ID, "", "Plasma exosomes in a study without a status",
                         LONG_SPONSOR),
    UNKNOWN_STATUS_ID: record(UNKNOWN_STATUS_ID, "Status: UNKNOWN",
                              "Plasma exosomes in a study of unknown status", "Small Sponsor"),
}


def index_with_extra_records(corpus_dir, tmp_path_factory):
    """A fresh index of `corpus_dir` plus EXTRA_RECORDS (the shared built_index is read-only)."""
    extra = tmp_path_factory.mktemp("extra-records")
    for nct_id, text in EXTRA_RECORDS.items():
        (extra / f"{nct_id}.txt").write_text(text, encoding="utf-8")
    path = tmp_path_factory.mktemp("polish-index") / "index_data"
    build_index([corpus_dir, extra], path)
    return path


@pytest.fixture(scope="module")
def app(corpus_dir, tmp_path_factory):
    """Not the conftest `app`: this one serves an index with EXTRA_RECORDS too (long facet
    values, a missing status, an Unknown one). The conftest `client` is its test client."""
    return webapp.create_app(index_path=index_with_extra_records(corpus_dir, tmp_path_factory))


def page_text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def pagination(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The "Page N of M" line and the (text, href) of each link in the pagination."""
    nav = re.search(r'<nav class="pagination".*?</nav>', html, flags=re.S).group(0)
    count = re.search(r'<p class="page-count">(.*?)</p>', nav, flags=re.S).group(1)
    count = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", count)).strip()
    links = [(re.sub(r"\s+", " ", text).strip(), href.replace("&amp;", "&"))
             for href, text in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>', nav, re.S)]
    return count, links


# -- pagination --------------------------------------------------------------------------------

@pytest.mark.parametrize(("total", "per_page", "last"), [
    (0, 10, 1), (1, 10, 1), (10, 10, 1), (11, 10, 2), (15, 2, 8),
    (10_000, 10, 1000), (50_000, 10, 1000), (50_000, 3, 3333), (50_000, 100, 100),
])
def test_last_page_is_bounded_by_the_result_window(total, per_page, last):
    assert pages.last_page(total, per_page) == last
    assert last * per_page <= 10_000


def test_pagination_says_page_n_of_m_and_links_the_last_page(client):
    html = page_text(client, "/?q=patients&per_page=2")
    total = int(re.search(r"(\d+) studies match", html).group(1))
    last = -(-total // 2)
    assert last > 5  # enough pages for the links to skip some
    count, links = pagination(html)
    assert count == f"Page 1 of {last}"
    assert links[-2] == (str(last), f"/?q=patients&per_page=2&page={last}")
    assert links[-1] == ("Next →", "/?q=patients&per_page=2&page=2")
    assert '<span class="gap">…</span>' in html
    # The last page is there: its hits, "Page M of M", no Next link, a link back to page 1.
    html = page_text(client, links[-2][1])
    count, links = pagination(html)
    assert count == f"Page {last} of {last}"
    assert re.findall(r'<li class="hit">', html)
    assert links[0][0] == "← Previous" and ("1", "/?q=patients&per_page=2") in links
    assert not any(text == "Next →" for text, _ in links)


def test_a_page_past_the_last_links_back_to_it(client):
    html = page_text(client, "/?q=exosomes&per_page=2&page=400")
    count, links = pagination(html)
    last = pages.last_page(int(re.search(r"(\d+) studies match", html).group(1)), 2)
    assert count == f"Page 400 is past the last page, page {last}."
    assert (f"page {last}", f"/?q=exosomes&per_page=2&page={last}") in links
    assert "<li class=\"hit\">" not in html


def test_pagination_says_where_the_result_window_ends(client, monkeypatch):
    # A window of 6 results stands in for the 10,000 a small index cannot reach.
    monkeypatch.setattr(pages, "MAX_RESULT_WINDOW", 6)
    count, links = pagination(page_text(client, "/?q=patients&per_page=2"))
    assert count == ("Page 1 of 3: the first 6 results can be paged through; add words or "
                     "filters to see the others")
    assert ("3", "/?q=patients&per_page=2&page=3") in links


def test_one_result_is_one_study(client):
    html = page_text(client, f"/?q={NO_STATUS_ID}")
    assert re.search(r"\b1 study matches\b", html) and "studies match" not in html
    assert '<nav class="pagination"' not in html


# -- favicon -----------------------------------------------------------------------------------

def test_favicon_is_served_where_browsers_ask_and_linked_from_every_page(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    icon = (PROJECT_ROOT / "webapp" / "static" / "favicon.svg").read_bytes()
    assert response.get_data() == icon
    assert response.cache_control.max_age == pages.ICON_MAX_AGE
    assert ET.fromstring(icon).tag == "{http://www.w3.org/2000/svg}svg"
    link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    for url in ("/", "/?q=exosomes", f"/study/{NO_STATUS_ID}", "/widget", "/embed?lang=de"):
        assert link in page_text(client, url), url
    missing = client.get("/study/NCT00000000")
    assert missing.status_code == 404 and link in missing.get_data(as_text=True)
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200 and static.get_data() == icon


# -- a missing status --------------------------------------------------------------------------

def badges(html: str, nct_id: str) -> list[str]:
    """The status badges of `nct_id`'s hit on a results page."""
    hit = re.search(rf'<li class="hit">(?:(?!</li>).)*?{nct_id}.*?</li>', html, flags=re.S).group(0)
    return re.findall(r'<span class="badge ([^"]+)">([^<]*)</span>', hit)


def test_a_missing_status_reads_differently_from_the_registry_unknown(client):
    html = page_text(client, "/?q=plasma+exosomes")
    assert badges(html, NO_STATUS_ID) == [("status-none", "Status not given")]
    assert badges(html, UNKNOWN_STATUS_ID) == [("status-unknown", "Unknown")]
    study = page_text(client, f"/study/{NO_STATUS_ID}")
    own = study.split('id="similar-title"')[0]  # similar studies have statuses of their own
    assert '<span class="badge status-none">Status not given</span>' in own
    assert "unknown" not in own.lower()
    study = page_text(client, f"/study/{UNKNOWN_STATUS_ID}")
    assert '<span class="badge status-unknown">Unknown</span>' in study
    assert "not given" not in study.split('id="similar-title"')[0]
