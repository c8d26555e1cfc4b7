"""Keeping a search, through Flask's test client: the Atom feed (read by feedparser and by a
strict XML parser), the CSV and JSON Lines downloads (read back with csv and json, against the
search API's own results), their 400s, streaming and cap, and the links on results pages.
The live server's conformance to the OpenAPI document is test_schemathesis.py's."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import urlencode

import feedparser
import pytest
from click.testing import CliRunner
from conftest import WINDOW_STUDIES, XSS_NCT_ID, XSS_TITLE

from indexer import build_index
from indexer.cli import main
from indexer.search.export import COLUMNS, EXPORT_LIMIT
from webapp import create_app
from webapp.keep import FEED_ENTRIES

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def sample_client(sample_data_index):
    """The app over the bundled sample: 304 studies, more than a feed's 50 and a page's 100."""
    return create_app(index_path=sample_data_index).test_client()


def api_hits(client, **params) -> list[dict]:
    """Every hit of a search, read from /api/search a page of 100 at a time."""
    hits, page = [], 1
    while True:
        response = client.get("/api/search", query_string={**params, "page": page, "per_page": 100})
        assert response.status_code == 200, response.get_json()
        hits += response.get_json()["results"]
        if len(hits) >= response.get_json()["total"]:
            return hits
        page += 1


def get_feed(client, url: str = "/api/search.atom", **params):
    """The feed at `url` with `params`, checked to be well-formed Atom, parsed by feedparser."""
    response = client.get(url, query_string=params or None)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/atom+xml"
    ET.fromstring(response.data)  # well-formed XML, strictly
    feed = feedparser.parse(response.data)
    assert not feed.bozo, feed.bozo_exception
    return feed


def dispatched(app, url: str):
    """The response `app`'s view returns for `url`, before WSGI wraps it (the test client's
    responses all say they are streamed), with its body read while the request is open."""
    with app.test_request_context(url):
        response = app.full_dispatch_request()
        streamed = response.is_streamed
        chunks = list(response.iter_encoded())
    return response, streamed, chunks


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


def jsonl_rows(response) -> list[dict]:
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


# -- the feed ----------------------------------------------------------------------------------

def test_the_feed_lists_the_newest_studies_first_with_their_records(sample_client):
    feed = get_feed(sample_client, q="covid")
    hits = api_hits(sample_client, q="covid", sort="first_posted")
    assert len(hits) > FEED_ENTRIES
    assert [entry.id for entry in feed.entries] == [hit["ctgov_url"] for hit in hits[:FEED_ENTRIES]]
    assert [entry.link for entry in feed.entries] == [hit["url"] for hit in hits[:FEED_ENTRIES]]
    published = [entry.published for entry in feed.entries]
    assert published == sorted(published, reverse=True)
    assert feed.feed.subtitle == f"The {FEED_ENTRIES} newest first posted of {len(hits)} studies."
    for entry in feed.entries:
        record = sample_client.get(f"/api/studies/{entry.id.rsplit('/', 1)[1]}").get_json()
        assert entry.title == record["title"]
        assert entry.published[:10] == record["first_posted"]
        assert entry.updated[:10] == (record["last_update_posted"] or record["first_posted"])
        assert entry.get("summary", "") == record["brief_summary"]
        assert [tag.term for tag in entry.get("tags", [])] == ([record["status"]] if record["status"] else [])
        assert entry.get("author", "") == record["sponsor"]


def test_the_feed_keeps_the_search_filters(client):
    feed = get_feed(client, status="recruiting", phase="2")
    hits = api_hits(client, status="recruiting", phase="2", sort="first_posted")
    assert 0 < len(hits) < FEED_ENTRIES
    assert [entry.id for entry in feed.entries] == [hit["ctgov_url"] for hit in hits]
    assert {tag.term for entry in feed.entries for tag in entry.tags} == {"RECRUITING"}
    assert feed.feed.title == "trialsearch – Status: Recruiting; Phase: Phase 2"
    assert feed.feed.subtitle == f"{len(hits)} studies, the newest first posted first."


@pytest.mark.parametrize(("params", "title"), [
    ({}, "trialsearch – all studies"),
    ({"q": "exosomes", "field": "title", "status": ["not yet recruiting", "RECRUITING"],
      "country": "usa", "healthy_volunteers": "no", "sex": "female"},
     "trialsearch – “exosomes” in title; Status: Not yet recruiting or Recruiting; "
     "Country: United States; Sex: Female; Healthy volunteers: No"),
    ({"q": "asthma copd", "operator": "or", "near": "42.36,-71.06", "radius": "80", "age": "70"},
     "trialsearch – “asthma copd” (any of the words); Near: 42.36,-71.06; Radius (km): 80; Age: 70"),
])
def test_the_feed_title_says_the_search_in_words(client, params, title):
    feed = get_feed(client, **params)
    assert feed.feed.title == title
    assert not feed.entries or all(entry.id.startswith("https://clinicaltrials.gov/study/NCT")
                                   for entry in feed.entries)


def test_a_search_that_finds_nothing_yet_is_an_empty_feed(client):
    feed = get_feed(client, q="zzzzqqqq")
    assert feed.entries == [] and feed.feed.subtitle.startswith("No study matches yet")


def test_the_feed_sets_its_own_order_mode_and_paging(client):
    plain = get_feed(client, q="cancer")
    for params in ({"sort": "relevance", "page": "3", "per_page": "7"}, {"mode": "semantic"},
                   {"page": "abc", "sort": "nonsense"}):
        feed = get_feed(client, q="cancer", **params)
        assert [entry.id for entry in feed.entries] == [entry.id for entry in plain.entries], params
        assert feed.feed.id == plain.feed.id == "http://localhost/api/search.atom?q=cancer"


def test_hostile_records_are_escaped_in_the_feed(client):
    response = client.get("/api/search.atom", query_string={"q": "exosomes"})
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "<img" not in body and "<b>" not in body
    entry = next(e for e in ET.fromstring(response.data).iter(f"{ATOM}entry")
                 if e.findtext(f"{ATOM}id").endswith(XSS_NCT_ID))
    assert entry.findtext(f"{ATOM}title") == XSS_TITLE  # the text itself, only escaped
    assert entry.findtext(f"{ATOM}summary").startswith("Payload <script>alert(3)</script>")
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "<b>Evil</b> Sponsor & Co"
    typed = get_feed(client, q='"<script>alert(1)</script>"')
    assert typed.feed.title == "trialsearch – “\"<script>alert(1)</script>\"”"


def test_characters_xml_cannot_hold_are_dropped_from_the_feed(tmp_path):
    record = {"protocolSection": {
        "identificationModule": {"nctId": "NCT98000002", "briefTitle": "Bell\u0007 and escape\u001b study"},
        "statusModule": {"overallStatus": "RECRUITING",
                         "studyFirstPostDateStruct": {"date": "2024-05-06"}},
        "descriptionModule": {"briefSummary": "Null\u0000 byte"}}}
    (tmp_path / "study.json").write_text(json.dumps(record), encoding="utf-8")
    build_index([tmp_path / "study.json"], tmp_path / "index")
    client = create_app(index_path=tmp_path / "index").test_client()
    [entry] = get_feed(client, q="study").entries
    assert entry.title == "Bell and escape study" and entry.summary == "Null byte"
    [row] = jsonl_rows(client.get("/api/search.jsonl?q=study"))
    assert row["title"] == "Bell\u0007 and escape\u001b study"  # JSON escapes them


# -- downloads ---------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {}, {"sort": "first_posted"}, {"q": "covid"}, {"q": "cancer", "sort": "last_update"},
    {"status": ["recruiting", "completed"], "phase": "2"},
], ids=["all", "first_posted", "covid", "last_update", "filters"])
def test_downloads_are_the_search_results_in_order(sample_client, params):
    hits = api_hits(sample_client, **params)
    table = csv_rows(sample_client.get("/api/search.csv", query_string=params))
    lines = jsonl_rows(sample_client.get("/api/search.jsonl", query_string=params))
    assert [row["NCT Number"] for row in table] == [row["nct_id"] for row in lines] == \
        [hit["nct_id"] for hit in hits]
    for hit, row, line in zip(hits, table, lines):
        assert (row["Study Title"], row["Study Status"], row["Sponsor"]) == \
            (line["title"], line["status"], line["sponsor"]) == (hit["title"], hit["status"], hit["sponsor"])
        assert row["Phases"] == "|".join(hit["phases"]) and line["phases"] == hit["phases"]
        assert row["Conditions"] == "|".join(hit["conditions"]) and line["conditions"] == hit["conditions"]
        assert row["First Posted"] == (hit["first_posted"] or "") and line["first_posted"] == hit["first_posted"]
        assert line["last_update_posted"] == hit["last_update_posted"]
        assert (row["URL"], row["ClinicalTrials.gov URL"]) == (line["url"], line["ctgov_url"]) == \
            (hit["url"], hit["ctgov_url"])


def test_download_columns_are_the_study_records(client):
    lines = jsonl_rows(client.get("/api/search.jsonl"))
    assert list(lines[0]) == [column.key for column in COLUMNS]
    assert len(lines) == len(api_hits(client)) > 30
    for line in lines:
        record = client.get(f"/api/studies/{line['nct_id']}").get_json()
        for name in ("interventions", "minimum_age", "maximum_age", "sex", "start_date",
                     "completion_date"):
            assert line[name] == record[name], (line["nct_id"], name)
        assert set(line["countries"]) == {site["country"] for site in record["sites"] if site["country"]}


def test_downloads_stream_as_named_attachments(client, sample_client):
    for kind, mimetype in (("csv", "text/csv"), ("jsonl", "application/x-ndjson")):
        response, streamed, chunks = dispatched(sample_client.application, f"/api/search.{kind}")
        assert response.status_code == 200 and streamed and "Content-Length" not in response.headers
        assert len(chunks) > 3  # handed on as it is written, not as one body
        response = client.get(f"/api/search.{kind}", query_string={"q": "cirrhosis"})
        response.get_data()
        assert response.mimetype == mimetype
        assert response.headers["Content-Disposition"] == f"attachment; filename=trialsearch-cirrhosis.{kind}"
        assert response.headers["Cache-Control"] == "public, max-age=30"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "application/x-ndjson"
    named = client.get("/api/search.csv", query_string={"q": '"liver cirrhosis" status:recruiting'})
    assert named.headers["Content-Disposition"] == \
        "attachment; filename=trialsearch-liver-cirrhosis-status-recruiting.csv"
    assert client.get("/api/search.csv").headers["Content-Disposition"] == \
        "attachment; filename=trialsearch-studies.csv"


@pytest.mark.parametrize(("path", "params", "param"), [
    ("/api/search.csv", {"q": '"liver'}, "q"),
    ("/api/search.jsonl", {"status": "pending"}, "status"),
    ("/api/search.csv", {"near": "abc"}, "near"),
    ("/api/search.jsonl", {"q": "covid", "sort": "distance"}, "sort"),
    ("/api/search.csv", {"field": "Title"}, "field"),
    ("/api/search.csv", {"q": "title:exosomes", "mode": "semantic"}, "mode"),
    ("/api/search.atom", {"year": "abc"}, "year"),
    ("/api/search.atom", {"q": "title:"}, "q"),
    ("/api/search.xlsx", {"q": "covid"}, "format"),
])
def test_bad_input_is_a_400_naming_the_parameter_before_any_row(app, path, params, param):
    response, streamed, chunks = dispatched(app, f"{path}?{urlencode(params)}")
    assert response.status_code == 400 and not streamed
    assert response.is_json and json.loads(b"".join(chunks))["param"] == param, chunks


@pytest.mark.slow
def test_a_download_is_bounded_by_the_cap(window_index):
    client = create_app(index_path=window_index).test_client()
    response, streamed, chunks = dispatched(client.application, "/api/search.csv?sort=first_posted")
    assert streamed and len(chunks) > 10
    table = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert len(table) == EXPORT_LIMIT < WINDOW_STUDIES
    newest_first = [f"NCT{90_000_000 + n:08d}" for n in range(WINDOW_STUDIES - 1, -1, -1)]
    assert [row["NCT Number"] for row in table] == newest_first[:EXPORT_LIMIT]
    assert len(jsonl_rows(client.get("/api/search.jsonl"))) == EXPORT_LIMIT
    page = client.get("/?q=window").get_data(as_text=True)
    assert f"(the first 10,000 of {WINDOW_STUDIES:,})" in page


def test_the_cli_writes_what_the_web_app_downloads(client, built_index):
    for kind in ("csv", "jsonl"):
        web = client.get(f"/api/search.{kind}", query_string={"q": "stem cells"}).get_data()
        cli = CliRunner().invoke(main, ["search", "stem cells", "--format", kind, "--index",
                                        str(built_index), "--base-url", "http://localhost/"])
        assert cli.exit_code == 0, cli.output
        assert cli.stdout_bytes == web and web.count(b"\n") > 3


# -- links on results pages, CORS, the document ---------------------------------------------------

class Links(HTMLParser):
    """The feed links in a page's head and the links of its keep-search paragraph."""

    def __init__(self):
        super().__init__()
        self.alternate, self.keep, self._in_keep = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "alternate":
            self.alternate.append(attrs)
        self._in_keep = self._in_keep or (tag == "p" and attrs.get("class") == "keep-search")
        if tag == "a" and self._in_keep:
            self.keep.append(attrs["href"])

    def handle_endtag(self, tag):
        self._in_keep = self._in_keep and tag != "p"


def page_links(client, url: str) -> Links:
    links = Links()
    links.feed(client.get(url).get_data(as_text=True))
    return links


def test_results_pages_link_their_feed_and_downloads(client):
    links = page_links(client, "/?q=exosomes&status=recruiting&sort=last_update&page=1")
    [alternate] = links.alternate
    assert alternate["type"] == "application/atom+xml"
    feed = get_feed(client, alternate["href"])
    assert alternate["title"] == feed.feed.title == "trialsearch – “exosomes”; Status: Recruiting"
    # The request keeps the registry's spelling of a value, whatever was typed.
    assert alternate["href"] == "/api/search.atom?q=exosomes&status=RECRUITING"
    assert links.keep == [alternate["href"],
                          "/api/search.csv?q=exosomes&sort=last_update&status=RECRUITING",
                          "/api/search.jsonl?q=exosomes&sort=last_update&status=RECRUITING"]
    for href in links.keep:
        response = client.get(href)
        assert response.status_code == 200 and response.get_data(), href
    nothing = page_links(client, "/?q=zzzzqqqq")
    assert len(nothing.alternate) == 1 and len(nothing.keep) == 1  # the feed: for what comes
    assert page_links(client, "/").alternate == []  # no search, nothing to keep


def test_feed_and_downloads_follow_the_api_origin_rules(built_index):
    client = create_app(index_path=built_index, WIDGET_ORIGINS=("https://ok.example",)).test_client()
    for path in ("/api/search.atom", "/api/search.csv", "/api/search.jsonl"):
        allowed = client.get(path, headers={"Origin": "https://ok.example"})
        assert allowed.get_data() and allowed.headers["Access-Control-Allow-Origin"] == "https://ok.example", path
        refused = client.get(path, headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403 and refused.get_json()["param"] == "Origin", path


def test_the_document_says_what_each_endpoint_sends(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/search.atom", "/api/search.csv", "/api/search.jsonl"):
        operation = paths[path]["get"]
        [documented] = operation["responses"]["200"]["content"]
        response = client.get(path, query_string={"q": "covid"})
        assert response.get_data() and response.mimetype == documented, path
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"q", "status", "near", "operator"} <= names and not {"page", "per_page"} & names
        assert ("sort" in names) == (path != "/api/search.atom")
