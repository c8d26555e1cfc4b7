"""The study page for patients, through Flask's test client: at a glance (conditions,
interventions with their type, phase, type, enrollment, dates), who can join (ages, sex,
healthy volunteers, the criteria as inclusion and exclusion lists), where (every site with its
status, distances and nearest first from `near`, the map's data), contacts with tel: and
mailto: links, the other fields under readable labels, the 404 for an ID the index does not
hold, the tile server in the configuration and the CSP, and the API's contacts. Real records
from ../shared where they show something the invented one cannot.

The browser side (the map, phone and desktop widths) is in test_study_page_live.py; axe-core
checks the page in test_accessibility.py."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from conftest import PROJECT_ROOT

import webapp
from indexer import build_index
from indexer.eligibility import parse_criteria
from indexer.model import Study
from indexer.readers.records import split_intervention
from webapp.config import DEFAULT_TILE_URL, config_from_env
from webapp.openapi import SCHEMAS
from webapp.study_page import field_label

# An invented API v2 record with everything a patient's page lays out (see its README).
PATIENT_ID = "NCT99000101"
PATIENT_RECORD = PROJECT_ROOT / "tests" / "fixtures" / "study_page" / f"{PATIENT_ID}.json"
BOSTON = "42.36,-71.06"
MISSING_ID = "NCT99999990"  # in no test index
HOSTILE_ID = "NCT99000102"
# A record whose contacts, sites and criteria carry markup and script URLs.
HOSTILE_RECORD = {"protocolSection": {
    "identificationModule": {"nctId": HOSTILE_ID, "briefTitle": "Hostile contacts"},
    "eligibilityModule": {"eligibilityCriteria": "Inclusion Criteria:\n* <img src=x onerror=alert(1)>"},
    "contactsLocationsModule": {
        "centralContacts": [{"name": "<script>alert(2)</script>", "phone": "javascript:alert(3)",
                             "email": "javascript:alert(4)//@x.org"}],
        "locations": [{"facility": "</script><script>alert(5)</script>", "city": "Paris",
                       "country": "France", "geoPoint": {"lat": 48.85, "lon": 2.35},
                       "contacts": [{"name": "Eve", "email": "eve@example.org?cc=x@y.org"}]}]}}}


def patient_index(tmp_path_factory, *sources: Path) -> Path:
    """A fresh index of the invented patient study and `sources`."""
    path = tmp_path_factory.mktemp("study-page-index") / "index_data"
    build_index([PATIENT_RECORD, *sources], path)
    return path


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Not the conftest `app`: the invented patient study and a hostile one."""
    records = tmp_path_factory.mktemp("hostile-record")
    (records / f"{HOSTILE_ID}.json").write_text(json.dumps(HOSTILE_RECORD), encoding="utf-8")
    return webapp.create_app(index_path=patient_index(tmp_path_factory, records))


class Page(HTMLParser):
    """A study page's parts: field rows by label, sites, links and scripts (texts with tags
    dropped and whitespace collapsed), and the criteria lists."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: dict[str, str] = {}
        self.sites: list[str] = []
        self.links: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._open: list[tuple[str, dict, list[str]]] = []  # tag, attributes, text so far
        self._label = ""
        self.feed(html)
        # (class, items) of each criteria list, in order.
        self.lists = [(kind, [unescape(item) for item in re.findall(r"<li>(.*?)</li>", items)])
                      for kind, items in re.findall(r'<ul class="(criteria \w+)">(.*?)</ul>', html)]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("dt", "dd", "li", "script"):
            self._open.append((tag, attrs, []))

    def handle_data(self, data):
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag):
        if not self._open or self._open[-1][0] != tag:
            return
        _, attrs, parts = self._open.pop()
        text = " ".join("".join(parts).split())
        if self._open:  # an inner element's text is its parent's too
            self._open[-1][2].append(" ")
        if tag == "dt":
            self._label = text
        elif tag == "dd":
            self.rows[self._label] = text
        elif tag == "li" and attrs.get("class") == "site":
            self.sites.append(text)
        elif tag == "script":
            self.scripts.append((attrs, text))


def page(client, url: str) -> tuple[str, Page]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data(as_text=True)
    return html, Page(html)


def map_data(html: str) -> list[dict]:
    block = re.search(r'<script type="application/json" id="site-map-data">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


# -- at a glance ---------------------------------------------------------------------------------

def test_at_a_glance_comes_first_with_interventions_by_type(client):
    html, shown = page(client, f"/study/{PATIENT_ID}")
    glance = html.split('id="glance-title"', 1)[1].split("</section>", 1)[0]
    assert [label for label in re.findall(r"<dt>(.*?)</dt>", glance)] == [
        "Conditions", "Interventions", "Phase", "Study type", "Enrollment", "Start date",
        "Completion date"]
    assert "<ul><li>Stroke</li><li>Hemiparesis</li><li>Upper Extremity Paresis</li></ul>" in glance
    assert '<li><span class="intervention-type">Device</span> FNK-G1 sensor glove with tablet exercises</li>' in glance
    assert '<li><span class="intervention-type">Behavioral</span> Printed home exercise programme</li>' in glance
    assert shown.rows["Phase"] == "Not applicable" and shown.rows["Study type"] == "Interventional"
    assert shown.rows["Enrollment"] == "120 participants"
    assert '<time datetime="2025-03-01">2025-03-01</time>' in glance
    assert shown.rows["Completion date"] == "2027-06-01"
    # Glance, summary, who, where, contacts, the rest: in that order.
    order = [html.index(f'id="{name}-title"') for name in ("glance", "summary", "who", "where",
                                                           "contacts", "more")]
    assert order == sorted(order)


# -- who can join ----------------------------------------------------------------------------------

def test_who_can_join_shows_ages_sex_volunteers_and_the_criteria_as_lists(client):
    html, shown = page(client, f"/study/{PATIENT_ID}")
    assert shown.rows["Ages"] == "18 Years to 85 Years" and shown.rows["Sex"] == "All"
    assert shown.rows["Healthy volunteers"] == "No" and shown.rows["Age groups"] == "Adult, Older adult"
    assert shown.lists == [
        ("criteria inclusion", ["Aged 18 to 85 years", "A first stroke 3 to 24 months ago",
                                "Weakness of one hand, with some movement of the fingers",
                                "Able to follow instructions in English, French, German, "
                                "Spanish, Italian, Japanese or Portuguese",
                                "A carer or relative who can help set up the glove at home"]),
        ("criteria exclusion", ["Another condition of the nervous system affecting the hands "
                                "(for example Parkinson's disease)",
                                "Botulinum toxin injection into the arm in the last 3 months",
                                "Skin problems on the hand that would make wearing a glove "
                                "uncomfortable", "Taking part in another rehabilitation study"])]
    assert '<h3 class="criteria-heading inclusion">Inclusion Criteria</h3>' in html
    assert '<h3 class="criteria-heading exclusion">Exclusion Criteria</h3>' in html


def test_criteria_an_older_index_stored_flattened_show_as_lists(client, app):
    """A record from an index built before criteria kept their lines: one paragraph, no
    contacts, location strings instead of sites."""
    from flask import render_template

    from webapp.study_page import study_context

    study = Study.from_dict({
        "nct_id": "NCT00000001", "brief_title": "Old",
        "eligibility_criteria": "Inclusion Criteria: * Adults * Consent Exclusion Criteria: * Smokers",
        "locations": ["Clinic, Paris, France"]})
    with app.test_request_context("/study/NCT00000001"):
        html = render_template("study.html", study=study, similar=[], ctgov_url="https://ctgov",
                               **study_context(study, None))
    shown = Page(html)
    assert shown.lists == [("criteria inclusion", ["Adults", "Consent"]),
                           ("criteria exclusion", ["Smokers"])]
    assert shown.sites == ["Clinic, Paris, France"]
    assert "The record names no contact." in html and "site-map" not in html


# -- where ---------------------------------------------------------------------------------------------

def test_where_lists_every_site_with_its_own_status_and_maps_the_placed_ones(client, app):
    html, shown = page(client, f"/study/{PATIENT_ID}")
    assert "<p>13 sites in 11 countries.</p>" in html
    assert len(shown.sites) == 13 and "3 more sites</summary>" in html  # 10 shown, 3 folded
    assert shown.sites[0].startswith("Northbridge Rehabilitation Hospital Boston, Massachusetts, "
                                     "02114, United States Recruiting")
    assert shown.sites[1].startswith("Charles River Neurorehabilitation Center Cambridge, "
                                     "Massachusetts, 02139, United States Not yet recruiting")
    assert "Completed" in shown.sites[5] and "Withdrawn" in shown.sites[11]
    assert "km away" not in html  # no point, no distances
    placed = map_data(html)
    assert len(placed) == 12  # Northbridge, United Kingdom cannot be placed
    assert placed[0] == {"lat": 42.35843, "lon": -71.05977, "status": "Recruiting",
                         "label": "Northbridge Rehabilitation Hospital, Boston, United States",
                         "geocoded": False}
    # The map shows once a script draws it; its tiles are the configured ones.
    assert '<figure class="site-map-figure" id="site-map-figure" hidden>' in html
    assert f'data-tile-url="{app.config["TILE_URL"]}"' in html
    srcs = [attrs.get("src") for attrs, _ in shown.scripts]
    assert srcs == ["/static/vendor/leaflet/leaflet.js", "/static/study-map.js", None]
    assert all("defer" in attrs for attrs, _ in shown.scripts[:2])
    assert shown.scripts[2][0]["type"] == "application/json"
    assert '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">' in html


def test_a_point_gives_distances_and_puts_the_nearest_site_first(client):
    html, shown = page(client, f"/study/{PATIENT_ID}?near={BOSTON}")
    assert "13 sites in 11 countries, nearest to 42.36, -71.06 first." in html
    assert shown.sites[0].startswith("Northbridge Rehabilitation Hospital Boston")
    assert shown.sites[0].endswith("Recruiting 0.2 km away Dana Whitfield, RN Phone: 617-555-0142, "
                                   "ext. 214 Email: dana.whitfield@northbridge-rehab.example.org "
                                   "Samuel Okafor, MD Principal investigator")
    assert shown.sites[1].startswith("Charles River Neurorehabilitation Center Cambridge")
    assert shown.sites[2].startswith("Lakeshore Stroke Recovery Institute Toronto")
    distances = [float(km.replace(",", "")) for km in re.findall(r"([\d,.]+) km away", " ".join(shown.sites))]
    assert len(distances) == 12 and distances == sorted(distances)
    assert shown.sites[-1].startswith("Northbridge Community Therapy Centre")  # no coordinates: last
    assert "km away" not in shown.sites[-1]


@pytest.mark.parametrize("near", ["abc", "91,0", "42.36", "42.36,-71.06,5", "", "42.36;-71.06"])
def test_a_bad_point_is_ignored(client, near):
    html, shown = page(client, f"/study/{PATIENT_ID}?near={near}")
    assert "km away" not in html and "nearest to" not in html
    assert shown.sites[0].startswith("Northbridge Rehabilitation Hospital Boston")
    assert shown.sites[-1].startswith("Northbridge Community Therapy Centre")


# -- contacts ------------------------------------------------------------------------------------

def test_contacts_have_tel_and_mailto_links(client):
    html, shown = page(client, f"/study/{PATIENT_ID}")
    contacts = html.split('id="contacts-title"', 1)[1].split("</section>", 1)[0]
    assert '<a href="tel:+16175550100;ext=3">+1 617-555-0100</a>, ext. 3' in contacts
    assert ('<a href="mailto:glove-home-study@northbridge-rehabilitation-network.example.org">'
            "glove-home-study@northbridge-rehabilitation-network.example.org</a>") in contacts
    assert '<a href="tel:+16175550101">+1 617-555-0101</a>' in contacts
    assert "Each site's own contacts are listed with the site" in contacts
    # At the sites: a name without a number is still shown, with its role.
    assert '<a href="tel:6175550142;ext=214">617-555-0142</a>, ext. 214' in html
    assert 'Samuel Okafor, MD <span class="contact-role">Principal investigator</span>' in html
    # An "extension" that is a country code is shown as written, not dialled.
    assert '<a href="tel:+551155550100">+55 11 5555-0100</a>, ext. +55' in html
    tel = [link for link in shown.links if link.startswith("tel:")]
    mail = [link for link in shown.links if link.startswith("mailto:")]
    assert len(tel) == 10 and len(mail) == 9


def test_hostile_contacts_sites_and_criteria_stay_text(client):
    html, shown = page(client, f"/study/{HOSTILE_ID}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert not [link for link in shown.links if "javascript" in link.lower()]
    # Neither is a number or an address: shown as written, not linked.
    assert "Phone: javascript:alert(3)" in html and "Email: javascript:alert(4)//@x.org" in html
    assert "Email: eve@example.org?cc=x@y.org" in html
    assert not [link for link in shown.links if link.startswith(("tel:", "mailto:"))]
    # The map's data is JSON inside a script element: it cannot close the element.
    assert "</script><script>alert(5)" not in html
    assert map_data(html)[0]["label"] == "</script><script>alert(5)</script>, Paris, France"


def test_a_study_without_contacts_says_where_to_ask(client):
    old = Study.from_dict({"nct_id": "NCT00000002", "sponsor": "Acme Health"})
    from flask import render_template

    from webapp.study_page import study_context

    with client.application.test_request_context("/study/NCT00000002"):
        html = render_template("study.html", study=old, similar=[], ctgov_url="https://ctgov/x",
                               **study_context(old, None))
    assert ('The record names no contact. <a href="https://ctgov/x" rel="noopener noreferrer '
            'external">ClinicalTrials.gov</a> may have more, or ask the sponsor, Acme Health.') in html
    assert "The record gives no criteria" in html and "The record lists no sites." in html


# -- the other fields ----------------------------------------------------------------------------

def test_other_fields_have_readable_labels(client):
    html, shown = page(client, f"/study/{PATIENT_ID}")
    other = html.split('<details class="extra">', 1)[1].split("</details>", 1)[0]
    labels = re.findall(r"<dt>(.*?)</dt>", other)
    assert "Overall officials: name" in labels and "See also links: url" in labels
    assert "Design info › masking info: who masked" in labels
    assert not [label for label in labels if "Module" in label or "." in label.split(":")[0]]
    assert "contactsLocationsModule" not in html and "centralContacts" not in html


@pytest.mark.parametrize(("key", "label"), [
    ("contactsLocationsModule.overallOfficials.name", "Overall officials: name"),
    ("designModule.designInfo.allocation", "Design info: allocation"),
    ("SponsorCollaboratorsModule.LeadSponsor.LeadSponsorClass", "Lead sponsor: class"),
    ("ContactsLocationsModule.OverallOfficialList.OverallOfficial.OverallOfficialName",
     "Overall official: name"),
    ("IdentificationModule.OrgStudyIdInfo.OrgStudyId", "Org study id info: org study id"),
    ("location/investigator/last_name", "Location › investigator: last name"),
    ("id_info/nct_alias", "Id info: nct alias"),
    ("required_header@version", "Required header: version"),
    ("IdentificationModule.NCTIdAliasList.NCTIdAlias", "NCT id alias"),
    ("URL", "URL"), ("Funded Bys", "Funded Bys"), ("If Stopped, Why?", "If Stopped, Why?"),
    ("sex", "Sex"), ("", ""),
])
def test_field_labels(key, label):
    assert field_label(key) == label


@pytest.mark.parametrize(("label", "parts"), [
    ("Drug: Aspirin", ("Drug", "Aspirin")),
    ("Dietary Supplement: Vitamin D", ("Dietary Supplement", "Vitamin D")),
    ("DIAGNOSTIC_TEST: PET scan", ("Diagnostic Test", "PET scan")),
    ("FNK-101: oral", ("", "FNK-101: oral")),  # no intervention type: all name
    ("Aspirin", ("", "Aspirin")),
    ("Drug:Aspirin", ("", "Drug:Aspirin")),
])
def test_interventions_split_into_type_and_name(label, parts):
    assert split_intervention(label) == parts


# -- not in the index ----------------------------------------------------------------------------

def test_an_id_not_in_the_index_links_to_the_registry(client):
    response = client.get(f"/study/{MISSING_ID.lower()}")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert f'<p class="alert" role="alert">{MISSING_ID} is not in this index.</p>' in html
    assert (f'<a href="https://clinicaltrials.gov/study/{MISSING_ID}" rel="noopener noreferrer '
            f'external">{MISSING_ID} on ClinicalTrials.gov</a>') in html
    bad = client.get("/study/not-an-id")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 404 and "That is not an NCT ID" in text
    assert "clinicaltrials.gov/study" not in text and "not-an-id" not in text


# -- tiles: configuration and CSP ------------------------------------------------------------------

def csp(response) -> dict[str, list[str]]:
    return {words[0]: words[1:] for words in (part.split() for part in
            response.headers["Content-Security-Policy"].split(";")) if words}


def test_the_csp_lets_study_pages_load_images_from_the_tile_host_alone(client):
    assert config_from_env({})["TILE_URL"] == DEFAULT_TILE_URL
    assert csp(client.get(f"/study/{PATIENT_ID}"))["img-src"] == [
        "'self'", "data:", "https://tile.openstreetmap.org"]
    for url in ("/", "/?q=stroke", "/widget", "/embed"):
        assert csp(client.get(url))["img-src"] == ["'self'", "data:"], url


@pytest.mark.parametrize(("tile_url", "source"), [
    ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
    ("http://127.0.0.1:8089/tiles/{z}/{x}/{y}.png?key=abc", "http://127.0.0.1:8089"),
    ("", None),
])
def test_the_tile_url_is_configurable(app, tile_url, source):
    config = config_from_env({"TRIALSEARCH_TILE_URL": tile_url,
                              "TRIALSEARCH_TILE_ATTRIBUTION": "© Example <b>Maps</b>"})
    assert config["TILE_URL"] == tile_url and config["TILE_ATTRIBUTION"] == "© Example <b>Maps</b>"
    other = webapp.create_app(index_path=app.config["INDEX_PATH"], TILE_URL=tile_url,
                              TILE_ATTRIBUTION=config["TILE_ATTRIBUTION"])
    response = other.test_client().get(f"/study/{PATIENT_ID}")
    html = response.get_data(as_text=True)
    assert csp(response)["img-src"] == ["'self'", "data:", *([source] if source else [])]
    assert f'data-tile-url="{tile_url}"' in html
    assert 'data-tile-attribution="© Example &lt;b&gt;Maps&lt;/b&gt;"' in html
    assert len(map_data(html)) == 12  # the sites show, tiles or not


@pytest.mark.parametrize("tile_url", [
    "ftp://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/tiles.png",
    "https://tiles.example.org;script-src *;/{z}/{x}/{y}.png", "//tiles.example.org/{z}/{x}/{y}",
    "javascript:alert(1)//{z}{x}{y}",
])
def test_a_bad_tile_url_is_refused_at_start(tile_url):
    with pytest.raises(ValueError, match="TRIALSEARCH_TILE_URL"):
        config_from_env({"TRIALSEARCH_TILE_URL": tile_url})


# -- the API ---------------------------------------------------------------------------------------

def test_the_api_returns_the_contacts_as_documented(client):
    body = client.get(f"/api/studies/{PATIENT_ID}").get_json()
    schema = {"$ref": "#/components/schemas/Study", "components": {"schemas": SCHEMAS}}
    jsonschema.validate(body, schema)
    assert body["contacts"][0] == {
        "name": "Grace Holloway, PhD", "role": "CONTACT", "phone": "+1 617-555-0100",
        "phone_ext": "3", "email": "glove-home-study@northbridge-rehabilitation-network.example.org"}
    assert body["sites"][0]["contacts"][1] == {"name": "Samuel Okafor, MD",
                                               "role": "PRINCIPAL_INVESTIGATOR", "phone": "",
                                               "phone_ext": "", "email": ""}
    # The criteria come with their lines.
    assert body["eligibility_criteria"].startswith("Inclusion Criteria:\n\n* Aged 18 to 85 years\n")
    broken = {**body, "contacts": [{"name": "No other keys"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


# -- real records ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_client(shared_data, tmp_path_factory):
    """An app over the shared corpus's native records (API v2, classic API, legacy XML)."""
    path = tmp_path_factory.mktemp("real-index") / "index_data"
    build_index([shared_data / "ctgov"], path)
    return webapp.create_app(index_path=path).test_client()


def test_real_api_v2_contacts_and_site_contacts(real_client):
    html, shown = page(real_client, "/study/NCT06171568")
    contacts = html.split('id="contacts-title"', 1)[1].split("</section>", 1)[0]
    assert '<p class="contact-name">Camille Heslot, MD</p>' in contacts
    assert '<a href="mailto:alexis.schnitzler@aphp.fr">alexis.schnitzler@aphp.fr</a>' in contacts
    assert '<a href="tel:0149958169">01.49.95.81.69</a>, ext. +33' in contacts
    [site] = shown.sites
    assert site.startswith("Neurosurgery - Lariboisière hospital Paris, Ile-de-France, 75010, France")
    assert "Emmanuel Mandonnet, MD, PhD" in site
    assert "contactsLocationsModule.centralContacts" not in html
    assert "Overall officials: name" in html


def test_real_xml_criteria_sections_and_sites(real_client, xml):
    html, shown = page(real_client, "/study/NCT03424005?near=40.71,-74.01")
    criteria = parse_criteria(xml["NCT03424005"].eligibility_criteria)
    headings = re.findall(r'<h3 class="criteria-heading[^"]*">(.*?)</h3>', html)
    assert headings == [section.heading for section in criteria.sections]
    assert headings[:3] == ["Inclusion Criteria Stage 1", "Inclusion criteria stage 2",
                            "Exclusion Criteria for Stage 1"]
    assert [items for _, items in shown.lists][0] == list(criteria.sections[0].items)
    assert "22 sites in 7 countries, nearest to 40.71, -74.01 first." in html
    # Placed by their city's name: the list says so beside the distance.
    assert shown.sites[0].startswith("NYU Langone Medical Center; NYU Perlmutter Cancer Center New York")
    assert "Recruiting 0.6 km away (from the city's centre)" in shown.sites[0]
    assert '<a href="mailto:global-roche-genentech-trials@gene.com">' in html


def test_real_xml_backup_contacts(real_client):
    html, _ = page(real_client, "/study/NCT01220531")
    assert 'Stephanie Gupton, RN, CPNP <span class="contact-role">Backup contact</span>' in html
