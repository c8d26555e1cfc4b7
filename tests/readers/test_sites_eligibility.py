"""Sites, eligibility, results and funder type on real records of every format: exact values of
named studies (the odd forms included: "6 Months", "N/A", missing ages, sites without
coordinates, a TSV Locations cell, an XML record with several sites, records with results),
counts over each shared file, old stored records, and the study page."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import SEED_RECORD, studies_in

from indexer import build_index
from indexer.catalog.registry import std_ages_for_range
from indexer.model import Contact, Site, Study, parse_age_years
from indexer.readers.records import site_from_label

DAY = 1 / 365.25


@pytest.fixture(scope="module")
def tsv(shared_data) -> dict[str, Study]:
    return studies_in(shared_data / "ctgov_tsv" / "covid19_trials_2020-10-12.tsv.gz")


def summary(studies: dict[str, Study]) -> dict:
    values = list(studies.values())
    return {
        "studies": len(values),
        "with sites": sum(bool(s.sites) for s in values),
        "sites": sum(len(s.sites) for s in values),
        "sites with coordinates": sum(site.has_coordinates for s in values for site in s.sites),
        "minimum age": sum(s.minimum_age_years is not None for s in values),
        "maximum age": sum(s.maximum_age_years is not None for s in values),
        "has results": Counter(s.has_results for s in values),
        "funder types": Counter(s.funder_type for s in values),
    }


# What each real sample yields (counted independently of the readers when these were written).
COUNTS = {
    "v2": {"studies": 12, "with sites": 10, "sites": 157, "sites with coordinates": 157,
           "minimum age": 10, "maximum age": 6,
           "has results": Counter({False: 7, True: 5}),
           "funder types": Counter({"OTHER": 6, "INDUSTRY": 4, "": 2})},
    "v1": {"studies": 205, "with sites": 175, "sites": 372, "sites with coordinates": 0,
           "minimum age": 187, "maximum age": 86,
           "has results": Counter({False: 199, True: 6}),
           "funder types": Counter({"OTHER": 172, "INDUSTRY": 32, "FED": 1})},
    "xml": {"studies": 128, "with sites": 106, "sites": 3352, "sites with coordinates": 0,
            "minimum age": 113, "maximum age": 61,
            "has results": Counter({False: 99, True: 29}),
            "funder types": Counter({"OTHER": 80, "INDUSTRY": 42, "NIH": 5, "": 1})},
    "tsv": {"studies": 3584, "with sites": 3127, "sites": 12994, "sites with coordinates": 0,
            "minimum age": 3196, "maximum age": 1139,
            "has results": Counter({False: 3575, True: 9}),
            "funder types": Counter({"OTHER": 3013, "INDUSTRY": 521, "NIH": 41, "FED": 9})},
}


@pytest.mark.parametrize("sample", COUNTS)
def test_each_format_yields_its_counts(request, sample):
    assert summary(request.getfixturevalue(sample)) == COUNTS[sample]


# --- the value parsers -----------------------------------------------------------------------

@pytest.mark.parametrize(("written", "years"), [
    ("18 Years", 18.0), ("1 Year", 1.0), ("6 Months", 0.5), ("3 Months", 0.25),
    ("2 Weeks", 14 * DAY), ("30 Days", 30 * DAY), ("1 Hour", DAY / 24),
    ("24 Hours", DAY), ("5 Minutes", 5 * DAY / 1440), ("0 Weeks", 0.0),
])
def test_ages_in_years(written, years):
    assert parse_age_years(written) == pytest.approx(years, rel=1e-12)


@pytest.mark.parametrize("written", ["N/A", "", None, "n/a", "eighteen", "Years", 18])
def test_missing_or_unreadable_ages_are_none_never_zero(written):
    assert parse_age_years(written) is None


def test_age_groups_follow_the_registry_definitions():
    assert std_ages_for_range(18.0, None) == ["ADULT", "OLDER_ADULT"]
    assert std_ages_for_range(None, 17.0) == ["CHILD"]  # "up to 17 Years" is still a child
    assert std_ages_for_range(18.0, 64.0) == ["ADULT"]
    assert std_ages_for_range(18.0, 65.0) == ["ADULT", "OLDER_ADULT"]
    assert std_ages_for_range(None, None) == ["CHILD", "ADULT", "OLDER_ADULT"]
    assert std_ages_for_range(65.0, None) == ["OLDER_ADULT"]


@pytest.mark.parametrize(("cell", "site"), [
    # Real TSV Locations cells: "Facility, City, State, Country", parts left out when empty.
    ("Washington University School of Medicine, Saint Louis, Missouri, United States",
     {"facility": "Washington University School of Medicine", "city": "Saint Louis",
      "state": "Missouri", "country": "United States"}),
    ("Research Site, Fukuoka-shi, Japan",
     {"facility": "Research Site", "city": "Fukuoka-shi", "country": "Japan"}),
    ("Imam Hossein Hospital, Tehran, Iran, Islamic Republic of",
     {"facility": "Imam Hossein Hospital", "city": "Tehran", "country": "Iran, Islamic Republic of"}),
    ("Intensive Care Unit, CHU de Nantes, Nantes, France",
     {"facility": "Intensive Care Unit, CHU de Nantes", "city": "Nantes", "country": "France"}),
    ("CHU Besançon, Besançon, Franche-Comté, France",
     {"facility": "CHU Besançon", "city": "Besançon", "state": "Franche-Comté", "country": "France"}),
    ("Neonatalklinikken, Rigshospitalet, Copenhagen, Denmark",
     {"facility": "Neonatalklinikken, Rigshospitalet", "city": "Copenhagen", "country": "Denmark"}),
    ("Department of Medicine, Civil Hospital and B J Medical College, Ahmadabad, Gujarat, India",
     {"facility": "Department of Medicine, Civil Hospital and B J Medical College",
      "city": "Ahmadabad", "state": "Gujarat", "country": "India"}),
    ("Phoenix VA Health Care System, Phoenix, AZ, Phoenix, Arizona, United States",
     {"facility": "Phoenix VA Health Care System, Phoenix, AZ", "city": "Phoenix",
      "state": "Arizona", "country": "United States"}),
    # A U.S. site without a facility name, and the modern CSV's zip code before the country.
    ("Birmingham, Alabama, United States",
     {"facility": "", "city": "Birmingham", "state": "Alabama", "country": "United States"}),
    ("Toronto Rehabilitation Institute, Toronto, Ontario, M5G 2A2, Canada",
     {"facility": "Toronto Rehabilitation Institute", "city": "Toronto", "state": "Ontario",
      "zip": "M5G 2A2", "country": "Canada"}),
    ("Nemocnice Na Bulovce, Praha 8 - Liben, Czechia",
     {"facility": "Nemocnice Na Bulovce", "city": "Praha 8 - Liben", "country": "Czechia"}),
    ("", {"country": ""}),
])
def test_location_strings_become_site_parts(cell, site):
    assert site_from_label(cell) == site


# --- API v2 ----------------------------------------------------------------------------------

def test_api_v2_sites_eligibility_results(v2):
    study = v2["NCT00763412"]
    assert study.sites == [Site(facility="Washington University School of Medicine",
                                city="Saint Louis", state="Missouri", zip="63110",
                                country="United States", status="", lat=38.62727, lon=-90.19789)]
    assert study.locations == ["Washington University School of Medicine, Saint Louis, United States"]
    assert (study.minimum_age, study.maximum_age) == ("12 Years", "24 Years")
    assert (study.minimum_age_years, study.maximum_age_years) == (12.0, 24.0)
    assert study.std_ages == ["CHILD", "ADULT"] and study.sex == "ALL"
    assert study.healthy_volunteers is False and study.has_results is True
    # Lead sponsor class INDIV is "other"; the class as written stays in extra.
    assert study.funder_type == "OTHER"
    assert study.extra["sponsorCollaboratorsModule.leadSponsor.class"] == ["INDIV"]
    assert "hasResults" not in study.extra and "contactsLocationsModule.locations.state" not in study.extra

    recruiting = v2["NCT03475563"]  # sites with their own status; no maximum age
    assert [s.status for s in recruiting.sites] == ["RECRUITING"] * 3
    assert recruiting.sites[0] == Site("Hospital Universitari Parc Taulí", "Sabadell", "Barcelona",
                                       "08208", "Spain", "RECRUITING", 41.54329, 2.10942,
                                       contacts=(Contact("Eduard Bosch, MD", "CONTACT"),))
    assert recruiting.maximum_age == "" and recruiting.maximum_age_years is None
    assert recruiting.std_ages == ["ADULT", "OLDER_ADULT"] and recruiting.has_results is False

    no_facility = v2["NCT02210780"]  # 42 sites named by city only
    assert no_facility.sites[0] == Site("", "Birmingham", "Alabama", "", "United States", "",
                                        33.52066, -86.80249)
    assert no_facility.locations[0] == "Birmingham, United States"
    assert no_facility.funder_type == "INDUSTRY" and no_facility.std_ages == ["ADULT"]

    assert v2["NCT00973089"].healthy_volunteers is True

    sparse = v2["NCT00465816"]  # identification module only, hasResults true at the top
    assert sparse.sites == [] and sparse.std_ages == [] and sparse.sex == ""
    assert sparse.minimum_age_years is None and sparse.maximum_age_years is None
    assert sparse.healthy_volunteers is None and sparse.funder_type == ""
    assert sparse.has_results is True



# --- classic API -----------------------------------------------------------------------------

def test_api_v1_sites_eligibility_results(v1):
    study = v1["NCT02028676"]
    assert (study.minimum_age, study.minimum_age_years) == ("3 Months", 0.25)
    assert (study.maximum_age, study.maximum_age_years) == ("17 Years", 17.0)
    assert study.std_ages == ["CHILD"] and study.has_results is True  # a ResultsSection
    assert study.funder_type == "OTHER"  # OTHER_GOV
    assert study.extra["SponsorCollaboratorsModule.LeadSponsor.LeadSponsorClass"] == ["OTHER_GOV"]
    assert study.sites[0] == Site("MRC /UVRI Uganda Research Unit on AIDS", "Entebbe",
                                  country="Uganda")
    assert all(site.lat is None and site.lon is None for site in study.sites)

    no_ages = v1["NCT00023673"]  # no MinimumAge/MaximumAge at all: no limits, groups listed
    assert no_ages.minimum_age == "" and no_ages.minimum_age_years is None
    assert no_ages.maximum_age_years is None
    assert no_ages.std_ages == ["CHILD", "ADULT", "OLDER_ADULT"]
    assert no_ages.funder_type == "OTHER" and no_ages.has_results is True  # NETWORK
    assert len(no_ages.sites) == 41
    assert no_ages.sites[0] == Site("Mobile Infirmary Medical Center", "Mobile", "Alabama",
                                    "36652-2144", "United States")

    federal = v1["NCT05027464"]
    assert federal.funder_type == "FED" and federal.has_results is False
    assert [s.status for s in federal.sites] == ["NOT_YET_RECRUITING", "RECRUITING"]
    assert federal.sites[1].state == "California" and federal.sites[1].zip == "94121"

    newborns = v1["NCT04386109"]
    assert (newborns.minimum_age, newborns.maximum_age) == ("1 Day", "29 Days")
    assert newborns.minimum_age_years == pytest.approx(DAY)
    assert newborns.maximum_age_years == pytest.approx(29 * DAY)
    assert newborns.std_ages == ["CHILD"]

    assert v1["NCT04780763"].healthy_volunteers is True  # "Accepts Healthy Volunteers"
    unknown = v1["NCT05384886"]  # no Gender, no HealthyVolunteers
    assert unknown.sex == "" and unknown.healthy_volunteers is None


def test_api_v1_healthy_volunteers(v1):
    assert Counter(s.healthy_volunteers for s in v1.values()) == Counter(
        {False: 120, True: 69, None: 16})


def test_listed_age_groups_agree_with_the_derivation(v1, v2):
    """Where the registry lists the groups, deriving them from the limits gives the same list,
    so formats without a list (XML, plain text) get the registry's answer."""
    listed = [s for s in [*v1.values(), *v2.values()] if s.std_ages]
    assert len(listed) == 215
    for study in listed:
        assert std_ages_for_range(study.minimum_age_years, study.maximum_age_years) \
            == study.std_ages, study.nct_id


# --- legacy XML ------------------------------------------------------------------------------

def test_legacy_xml_sites_eligibility_results(xml):
    study = xml["NCT00001177"]
    assert study.sites == [Site(
        facility="National Institutes of Health Clinical Center, 9000 Rockville Pike",
        city="Bethesda", state="Maryland", zip="20892", country="United States",
        status="RECRUITING", contacts=(Contact(
            "For more information at the NIH Clinical Center contact Office of Patient "
            "Recruitment (OPR)", "CONTACT", "800-411-1222", "TTY8664111010", "prpl@cc.nih.gov"),))]
    assert study.sex == "FEMALE" and study.std_ages == ["ADULT"]  # 18 to 50 years, derived
    assert (study.minimum_age_years, study.maximum_age_years) == (18.0, 50.0)
    assert study.healthy_volunteers is True and study.has_results is False
    assert study.funder_type == "NIH" and study.extra["sponsors/lead_sponsor/agency_class"] == ["NIH"]
    assert "location/facility/address/state" not in study.extra  # now a Site field

    several = xml["NCT00739752"]  # two locations, with results
    assert several.sites == [
        Site("Chicago Department of Public Health", "Chicago", "Illinois", "60604", "United States"),
        Site("Bell Flower Clinic", "Indianapolis", "Indiana", "46202", "United States"),
    ]
    assert several.locations == ["Chicago Department of Public Health, Chicago, United States",
                                 "Bell Flower Clinic, Indianapolis, United States"]
    assert several.has_results is True and several.healthy_volunteers is True

    industry = xml["NCT00055497"]
    assert len(industry.sites) == 43 and industry.has_results is True
    assert industry.funder_type == "INDUSTRY" and industry.std_ages == ["ADULT", "OLDER_ADULT"]

    infants = xml["NCT02708238"]  # minimum "N/A", maximum "4 Months"
    assert infants.minimum_age == "" and infants.minimum_age_years is None
    assert infants.maximum_age == "4 Months" and infants.maximum_age_years == pytest.approx(1 / 3)
    assert infants.std_ages == ["CHILD"] and infants.has_results is True and infants.sites == []

    weeks = xml["NCT05381285"]  # "0 Weeks" is a limit as written, not a missing one
    assert weeks.minimum_age_years == 0.0
    assert weeks.maximum_age_years == pytest.approx(16 * 7 * DAY)
    assert weeks.sites[0].zip == "CF14 4XW" and weeks.sites[0].status == "RECRUITING"

    no_limits = xml["NCT00482794"]  # "N/A" both ways: every age group
    assert no_limits.minimum_age_years is None and no_limits.maximum_age_years is None
    assert no_limits.std_ages == ["CHILD", "ADULT", "OLDER_ADULT"]

    bare = xml["NCT03182660"]  # no <eligibility>, no sponsor class
    assert bare.std_ages == [] and bare.sex == "" and bare.healthy_volunteers is None
    assert bare.funder_type == "" and bare.has_results is False

    assert xml["NCT00002475"].sex == "ALL"  # <gender>Both</gender>



# --- search-results TSV ----------------------------------------------------------------------

def test_tsv_sites_eligibility_results(tsv):
    first = tsv["NCT04372602"]
    assert first.locations == ["Washington University School of Medicine, Saint Louis, Missouri, United States"]
    assert first.sites == [Site("Washington University School of Medicine", "Saint Louis",
                                "Missouri", country="United States")]
    assert first.extra["Age"] == ["18 Years and older (Adult, Older Adult)"]
    assert (first.minimum_age_years, first.maximum_age_years) == (18.0, None)
    assert first.std_ages == ["ADULT", "OLDER_ADULT"] and first.healthy_volunteers is None
    assert first.has_results is False  # "No Results Available"
    assert first.funder_type == "OTHER" and first.extra["Funded Bys"] == ["Other", "Industry"]

    results = tsv["NCT04280705"]  # "Has Results", NIH, 60 sites
    assert results.has_results is True and results.funder_type == "NIH"
    assert len(results.sites) == 60 and not any(s.has_coordinates for s in results.sites)
    assert (results.minimum_age_years, results.maximum_age_years) == (18.0, 99.0)

    months = tsv["NCT04537338"]  # "6 Months to 100 Years (Child, Adult, Older Adult)"
    assert (months.minimum_age, months.minimum_age_years) == ("6 Months", 0.5)
    assert months.maximum_age_years == 100.0 and months.locations == [] and months.sites == []
    assert months.std_ages == ["CHILD", "ADULT", "OLDER_ADULT"]

    minutes = tsv["NCT04337320"]  # "up to 15 Minutes (Child)"
    assert minutes.minimum_age_years is None and minutes.maximum_age == "15 Minutes"
    assert minutes.maximum_age_years == pytest.approx(15 * DAY / 1440)
    assert tsv["NCT04470739"].maximum_age_years == pytest.approx(7 * DAY / 24)  # 7 Hours
    assert tsv["NCT04527601"].minimum_age_years == pytest.approx(22 * 7 * DAY)  # 22 Weeks

    groups_only = tsv["NCT04568031"]  # Age is "Child, Adult, Older Adult": no limits
    assert groups_only.minimum_age == groups_only.maximum_age == ""
    assert groups_only.minimum_age_years is None and groups_only.maximum_age_years is None
    assert groups_only.std_ages == ["CHILD", "ADULT", "OLDER_ADULT"]
    assert groups_only.sites[0] == Site("Research Site", "Fukuoka-shi", country="Japan")

    iran = tsv["NCT04333550"]  # a country with its own comma
    assert iran.sites[0].country == "Iran, Islamic Republic of"

    assert tsv["NCT04452669"].funder_type == "INDUSTRY"  # "Industry|Other": the lead's
    federal = tsv["NCT04397718"]  # "U.S. Fed"
    assert federal.funder_type == "FED" and federal.sex == "MALE"
    assert federal.sites[0] == Site("Phoenix VA Health Care System, Phoenix, AZ", "Phoenix",
                                    "Arizona", country="United States")
    assert tsv["NCT04367896"].sex == ""  # an empty Gender cell



# --- plain text and TREC ---------------------------------------------------------------------

def test_plain_text_seed_has_none_of_them(shared_data):
    seed = studies_in(SEED_RECORD)["NCT05871463"]
    assert seed.sites == [] and seed.locations == [] and seed.std_ages == []
    assert seed.minimum_age_years is None and seed.maximum_age_years is None
    assert seed.healthy_volunteers is None and seed.has_results is None and seed.funder_type == ""


def test_plain_text_keys(tmp_path):
    (tmp_path / "one.txt").write_text(
        "Viewing Study NCT00000001\nStudy NCT ID: NCT00000001\nBrief Title: One\n\nEligibility\n\n"
        "Sex: FEMALE\nMinimum Age: 6 Months\nMaximum Age: 17 Years\nHealthy Volunteers: False\n"
        "Std Ages: CHILD\nHas Results: True\nFunder Type: NIH\n\nContacts and Locations\n\n"
        "Locations: Hôpital Necker, Paris, France | Johns Hopkins, Baltimore, Maryland, United States\n",
        encoding="utf-8")
    study = studies_in(tmp_path / "one.txt")["NCT00000001"]
    assert study.sex == "FEMALE" and study.minimum_age_years == 0.5
    assert study.maximum_age_years == 17.0 and study.std_ages == ["CHILD"]
    assert study.healthy_volunteers is False and study.has_results is True
    assert study.funder_type == "NIH"
    assert study.sites == [Site("Hôpital Necker", "Paris", country="France"),
                           Site("Johns Hopkins", "Baltimore", "Maryland", country="United States")]
    assert study.locations == ["Hôpital Necker, Paris, France",
                               "Johns Hopkins, Baltimore, Maryland, United States"]


def test_trec_corpus_has_none_of_them(shared_data):
    studies = studies_in(shared_data / "trec_ct" / "trec_2022_corpus_sample.jsonl")
    assert len(studies) == 100
    for study in studies.values():
        assert study.sites == [] and study.std_ages == [] and study.sex == ""
        assert study.minimum_age_years is None and study.has_results is None
        assert study.funder_type == ""


# --- stored records --------------------------------------------------------------------------

def test_every_format_round_trips_through_the_stored_json(v2, v1, xml, tsv):
    for study in (v2["NCT00763412"], v1["NCT05027464"], xml["NCT00739752"], tsv["NCT04280705"]):
        stored = json.loads(json.dumps(study.to_dict(), ensure_ascii=False))
        assert stored["sites"][0]["country"] == "United States"
        assert Study.from_dict(stored) == study


def test_a_record_stored_before_sites_loads(v2):
    """An index built before this model stored `locations` strings and none of the new keys."""
    new = set(Study.__dataclass_fields__) - {
        "nct_id", "brief_title", "official_title", "acronym", "status", "study_type", "phases",
        "brief_summary", "detailed_description", "conditions", "keywords", "interventions",
        "sponsor", "collaborators", "eligibility_criteria", "sex", "minimum_age", "maximum_age",
        "enrollment", "locations", "first_posted", "last_update_posted", "start_date",
        "completion_date", "extra", "source", "source_format"}
    assert new == {"minimum_age_years", "maximum_age_years", "std_ages", "healthy_volunteers",
                   "sites", "has_results", "funder_type", "condition_mesh", "intervention_mesh",
                   "condition_mesh_found", "contacts"}
    old = {k: v for k, v in v2["NCT00763412"].to_dict().items() if k not in new}
    study = Study.from_dict(json.loads(json.dumps(old)))
    assert study.locations == ["Washington University School of Medicine, Saint Louis, United States"]
    assert study.sites == [] and study.std_ages == [] and study.has_results is None
    assert study.minimum_age == "12 Years" and study.minimum_age_years is None
    assert study.funder_type == "" and study.healthy_volunteers is None
    assert study.condition_mesh == study.intervention_mesh == study.condition_mesh_found == []
    assert study.contacts == []


def test_stored_sites_without_locations_and_odd_values():
    study = Study.from_dict({"nct_id": "NCT00000001", "sites": [
        {"facility": "A", "city": "B", "country": "C", "lat": 1.5, "lon": 2.5, "future": 1},
        {"facility": "D", "lat": 95.0, "lon": 2.0}, "not a site", {}]})
    assert study.sites == [Site("A", "B", country="C", lat=1.5, lon=2.5), Site("D")]
    assert study.locations == ["A, B, C", "D"]


# --- the study page --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_client(shared_data, tmp_path_factory):
    """An app over an index of a few real records: API v2 (coordinates, results), legacy XML
    (43 sites) and the TSV row with results."""
    from webapp import create_app

    records = tmp_path_factory.mktemp("records")
    (records / "v2.jsonl").write_text("\n".join(
        line for line in _gz_lines(shared_data / "ctgov" / "api_v2_studies.jsonl.gz")
        if '"NCT00763412"' in line or '"NCT00465816"' in line), encoding="utf-8")
    for name in ("NCT00055497.xml", "NCT00001177.xml"):
        (records / name).write_bytes((shared_data / "ctgov" / "legacy_xml" / name).read_bytes())
    (records / "site.txt").write_text(
        "Viewing Study NCT00000009\nStudy NCT ID: NCT00000009\nBrief Title: Markup\n"
        "Locations: <script>alert(1)</script> Clinic, Paris, France\n", encoding="utf-8")
    index = tmp_path_factory.mktemp("index") / "index_data"
    build_index([records], index)
    return create_app(index_path=index).test_client()


def _gz_lines(path: Path) -> list[str]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def rows(page: str) -> list[tuple[str, str]]:
    """(label, text) of the study page's field rows (every field list), tags stripped,
    whitespace collapsed."""
    import re

    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", page, re.S)
    return [(dt, " ".join(re.sub(r"<[^>]+>", " ", dd).split())) for dt, dd in pairs]


def sites(page: str) -> list[str]:
    """The text of each site the study page lists, tags stripped, whitespace collapsed."""
    import re

    items = re.findall(r'<li class="site">(.*?)</li>\s*(?=<li class="site">|</ul>)', page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_study_page_shows_sites_eligibility_results_and_funder(page_client):
    page = page_client.get("/study/NCT00763412").get_data(as_text=True)
    shown = dict(rows(page))
    assert sites(page) == ["Washington University School of Medicine Saint Louis, Missouri, 63110, United States"]
    assert shown["Ages"] == "12 Years to 24 Years"
    assert shown["Age groups"] == "Child, Adult"
    assert shown["Sex"] == "All" and shown["Healthy volunteers"] == "No"
    assert shown["Results"] == "Results posted"
    assert shown["Funder type"] == "Other (universities, individuals, organizations)"
    labels = [label for label, _ in rows(page)]
    assert labels.index("Study type") < labels.index("Ages") < labels.index("Results") \
        < labels.index("Sponsor") < labels.index("Funder type")
    assert page.index('id="who-title"') < page.index('id="where-title"') < page.index('id="more-title"')

    nih_page = page_client.get("/study/NCT00001177").get_data(as_text=True)
    assert sites(nih_page)[0].startswith("National Institutes of Health Clinical Center, 9000 "
                                         "Rockville Pike Bethesda, Maryland, 20892, United States Recruiting")
    nih = dict(rows(nih_page))
    assert nih["Healthy volunteers"] == "Accepts healthy volunteers" and nih["Funder type"] == "NIH"
    assert nih["Results"] == "No results posted" and nih["Sex"] == "Female"

    many = page_client.get("/study/NCT00055497").get_data(as_text=True)
    assert "<p>43 sites.</p>" in many and "33 more sites</summary>" in many and len(sites(many)) == 43
    assert dict(rows(many))["Ages"] == "18 Years to 75 Years"

    sparse_page = page_client.get("/study/NCT00465816").get_data(as_text=True)
    sparse = dict(rows(sparse_page))
    assert sites(sparse_page) == [] and "The record lists no sites." in sparse_page
    assert "Ages" not in sparse and "Healthy volunteers" not in sparse
    assert sparse["Results"] == "Results posted"


def test_study_page_escapes_site_text(page_client):
    page = page_client.get("/study/NCT00000009").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert sites(page) == ["&lt;script&gt;alert(1)&lt;/script&gt; Clinic Paris, France"]


def test_study_page_of_a_record_stored_before_sites(page_client, v2):
    """An older index's record (location strings, no sites) still shows its locations."""
    from flask import render_template

    from webapp.study_page import study_context

    record = {k: v for k, v in v2["NCT00763412"].to_dict().items()
              if k not in {"sites", "std_ages", "minimum_age_years", "maximum_age_years",
                           "healthy_volunteers", "has_results", "funder_type"}}
    study = Study.from_dict(record)
    app = page_client.application
    with app.test_request_context("/study/NCT00763412"):
        page = render_template("study.html", study=study, similar=[], ctgov_url="https://x",
                               **study_context(study, None))
    shown = dict(rows(page))
    assert sites(page) == ["Washington University School of Medicine, Saint Louis, United States"]
    assert shown["Ages"] == "12 Years to 24 Years"
    assert "Results" not in shown and "Funder type" not in shown
