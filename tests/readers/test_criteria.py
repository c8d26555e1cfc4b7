"""Eligibility criteria keep their lines when read (API v2, classic API, legacy XML, the
plain-text export), search reads them as before, and `indexer.eligibility.parse_criteria`
splits them into inclusion and exclusion items: on the registry's line-structured text, on the
one flattened paragraph older indexes stored, and on anything hypothesis makes up."""

from __future__ import annotations

import gzip
import json
import re
import xml.etree.ElementTree as ET

import pytest
from conftest import studies_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import build_index, open_index
from indexer.eligibility import EXCLUSION, INCLUSION, OTHER, Criteria, Section, parse_criteria
from indexer.index.analysis import analyze
from indexer.search import SearchRequest

XML_STUDY = "NCT03424005"  # legacy XML, wrapped at 100 characters, with stage headings
V2_STUDY = "NCT03475563"  # API v2, `*` bullets


def flattened(text: str) -> str:
    """The criteria as indexes built before this stored them: one paragraph."""
    return " ".join(text.split())


def lines(text: str) -> list[str]:
    """The non-blank lines of `text`, each trimmed with its spaces collapsed."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def raw_json_criteria(path, protocol: str, module: str, key: str, nct_path: tuple) -> dict:
    """NCT ID -> the criteria text as the file holds it, read without the readers."""
    found = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            section = json.loads(line).get(protocol, {})
            nct_id = section
            for step in nct_path:
                nct_id = nct_id.get(step, {})
            text = section.get(module, {}).get(key)
            if text:
                found.setdefault(nct_id, text)
    return found


@pytest.fixture(scope="module")
def raw_v2(shared_data) -> dict:
    return raw_json_criteria(shared_data / "ctgov" / "api_v2_studies.jsonl.gz", "protocolSection",
                             "eligibilityModule", "eligibilityCriteria",
                             ("identificationModule", "nctId"))


@pytest.fixture(scope="module")
def raw_v1(shared_data) -> dict:
    return raw_json_criteria(shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz",
                             "ProtocolSection", "EligibilityModule", "EligibilityCriteria",
                             ("IdentificationModule", "NCTId"))


@pytest.fixture(scope="module")
def raw_xml(shared_data) -> dict:
    found = {}
    for path in sorted((shared_data / "ctgov" / "legacy_xml").glob("*.xml")):
        root = ET.parse(path).getroot()
        text = root.findtext("eligibility/criteria/textblock")
        if text:
            found[root.findtext("id_info/nct_id")] = text
    return found


# --- the readers keep the lines --------------------------------------------------------------

def test_api_v2_criteria_keep_the_registrys_lines(v2, raw_v2):
    study = v2[V2_STUDY]
    assert study.eligibility_criteria.startswith(
        "Inclusion Criteria:\n\n* Age over 18 years.\n"
        "* Clinical indication of coronary angioplasty in bifurcated lesion.\n")
    assert "\n\nExclusion Criteria:\n\n* Express rejection of the patient" in study.eligibility_criteria
    assert v2["NCT06171568"].eligibility_criteria == "Inclusion Criteria:\n\n* Patient over 18 years..."
    assert len(raw_v2) == 10
    for nct_id, raw in raw_v2.items():
        # Every line as the file has it (Markdown escapes undone), trimmed; one blank line at most.
        stored = v2[nct_id].eligibility_criteria
        assert lines(stored.replace("\\", "")) == lines(raw.replace("\\", "")), nct_id
        assert "\n\n\n" not in stored and stored == stored.strip(), nct_id


def test_classic_api_criteria_keep_their_lines(v1, raw_v1):
    no_bullets = v1["NCT00023673"].eligibility_criteria
    assert no_bullets.startswith(
        "DISEASE CHARACTERISTICS:\n\nHistologically or cytologically confirmed unresectable stage "
        "IIIB non-small cell lung cancer\n\nSquamous cell carcinoma\nAdenocarcinoma\n")
    assert len(raw_v1) > 150
    for nct_id, raw in raw_v1.items():
        assert lines(v1[nct_id].eligibility_criteria) == lines(raw), nct_id


def test_legacy_xml_criteria_are_unwrapped_into_their_items(xml, raw_xml):
    """The AllPublicXML download wraps lines at about 100 characters; the items are the
    paragraphs between blank lines, one line each as the registry holds them."""
    text = xml[XML_STUDY].eligibility_criteria
    assert text.startswith("Inclusion Criteria Stage 1\n\n- ECOG Performance Status of 0 or 1\n\n"
                           "- Metastatic or inoperable locally advanced, histologically documented "
                           "TNBC (absence of HER2, ER, and PR expression)\n\n")
    assert "\n\n- Life expectancy =/> 3 months, as determined by the investigator\n\n" in text
    assert len(raw_xml) == 127
    for nct_id, raw in raw_xml.items():
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", raw.replace("\r", "")) if p.strip()]
        assert lines(xml[nct_id].eligibility_criteria) == paragraphs, nct_id


def test_plain_text_export_criteria_keep_their_lines(tmp_path):
    (tmp_path / "one.txt").write_text(
        "Viewing Study NCT00000001\nStudy NCT ID: NCT00000001\nBrief Title: One\n\nEligibility\n\n"
        "Eligibility Criteria: Inclusion Criteria:\n\n   *   Adults   over 18\n*  Consent\n\n\n\n"
        "Exclusion Criteria:\n* Smokers\nSex: ALL\n", encoding="utf-8")
    study = studies_in(tmp_path / "one.txt")["NCT00000001"]
    assert study.eligibility_criteria == (
        "Inclusion Criteria:\n\n* Adults over 18\n* Consent\n\nExclusion Criteria:\n* Smokers")
    assert study.sex == "ALL"
    criteria = parse_criteria(study.eligibility_criteria)
    assert criteria.inclusion == ("Adults over 18", "Consent") and criteria.exclusion == ("Smokers",)


def test_the_analyzer_reads_the_lines_as_it_read_the_paragraph(v2, v1, xml):
    texts = [s.eligibility_criteria for studies in (v2, v1, xml) for s in studies.values()
             if "\n" in s.eligibility_criteria]
    assert len(texts) > 300
    for text in texts:
        assert analyze(text) == analyze(flattened(text))


def test_a_phrase_across_a_wrapped_line_is_found(shared_data, tmp_path):
    """"absence of / HER2" is split over two lines in the XML file: one item, one phrase."""
    index = tmp_path / "index_data"
    build_index([shared_data / "ctgov" / "legacy_xml" / f"{XML_STUDY}.xml"], index)
    result = open_index(index).search(SearchRequest(q='eligibility:"TNBC absence of HER2"'))
    assert [hit.nct_id for hit in result.hits] == [XML_STUDY]


# --- the parser on real records ----------------------------------------------------------------

def test_real_xml_criteria_become_sections_with_their_headings(xml):
    criteria = parse_criteria(xml[XML_STUDY].eligibility_criteria)
    assert [(s.kind, s.heading) for s in criteria.sections][:3] == [
        (INCLUSION, "Inclusion Criteria Stage 1"), (INCLUSION, "Inclusion criteria stage 2"),
        (EXCLUSION, "Exclusion Criteria for Stage 1")]
    stage_1 = criteria.sections[0].items
    assert len(stage_1) == 15
    assert stage_1[:2] == ("ECOG Performance Status of 0 or 1",
                           "Metastatic or inoperable locally advanced, histologically documented "
                           "TNBC (absence of HER2, ER, and PR expression)")
    assert stage_1[-1] == "Measurable disease (at least one target lesion)"
    assert criteria.inclusion[:15] == stage_1 and criteria.other == ()


def test_real_v2_criteria_read_the_same_from_an_older_indexs_paragraph(v2):
    text = v2[V2_STUDY].eligibility_criteria
    criteria = parse_criteria(text)
    assert criteria.inclusion == (
        "Age over 18 years.", "Clinical indication of coronary angioplasty in bifurcated lesion.",
        "Bifurcated lesions with both distal branches at least 2 mm in diameter.",
        "The lesion must be located in the main branch, with a severe stenosis by visual "
        "estimation at some point in the main branch, with or without involvement of the "
        "lateral branch.",
        "Express acceptance and signature of informed consent.")
    assert len(criteria.exclusion) == 7 and criteria.exclusion[-1] == "Cardiogenic shock."
    assert parse_criteria(flattened(text)) == criteria


# --- the parser on written examples ------------------------------------------------------------

@pytest.mark.parametrize(("text", "sections"), [
    ("", ()),
    ("  \n \n", ()),
    ("Inclusion Criteria: * Adults * Consent Exclusion Criteria: - Smokers - Pregnancy",
     ((INCLUSION, "Inclusion Criteria", ("Adults", "Consent")),
      (EXCLUSION, "Exclusion Criteria", ("Smokers", "Pregnancy")))),
    # Numbers must follow on; a dash between numbers is no bullet.
    ("Inclusion criteria: 1. aged 18 - 65 2. BMI 18.5 to 30 3. consent Exclusion criteria: "
     "1. pregnant 2. smokers",
     ((INCLUSION, "Inclusion criteria", ("aged 18 - 65", "BMI 18.5 to 30", "consent")),
      (EXCLUSION, "Exclusion criteria", ("pregnant", "smokers")))),
    # The invented corpus's layout: punctuation stripped, headings without colons.
    ("Inclusion Criteria Adults aged 18 to 70 years Exclusion Criteria Pregnancy",
     ((INCLUSION, "Inclusion Criteria", ("Adults aged 18 to 70 years",)),
      (EXCLUSION, "Exclusion Criteria", ("Pregnancy",)))),
    # A mention of criteria in a sentence is no heading.
    ("Patients who meet the inclusion criteria of the parent study",
     ((OTHER, "", ("Patients who meet the inclusion criteria of the parent study",)),)),
    ("For randomisation:\n\nInclusion Criteria:\n\n1. Adults\n2) Consent\n(3) 1.5 mg/kg tolerated"
     "\n\nNon-inclusion criteria:\n• Smokers\n-2 SD height",
     ((OTHER, "", ("For randomisation:",)),
      (INCLUSION, "Inclusion Criteria", ("Adults", "Consent", "1.5 mg/kg tolerated")),
      (EXCLUSION, "Non-inclusion criteria", ("Smokers", "-2 SD height")))),
    ("### Key Inclusion Criteria\n* a\n**Exclusion Criteria:** b\nExclusion Criteria - Part A\n* c",
     ((INCLUSION, "Key Inclusion Criteria", ("a",)), (EXCLUSION, "Exclusion Criteria", ("b",)),
      (EXCLUSION, "Exclusion Criteria - Part A", ("c",)))),
    # A bulleted line is a heading only when it holds nothing else.
    ("- INCLUSION CRITERIA:\n- Adults\n- Exclusion criteria of the main study apply\n*\n",
     ((INCLUSION, "INCLUSION CRITERIA", ("Adults", "Exclusion criteria of the main study apply")),)),
    ("Inclusion criteria for the extension study are those of the main study",
     ((INCLUSION, "Inclusion criteria", ("for the extension study are those of the main study",)),)),
    ("Exclusion Criteria:", ((EXCLUSION, "Exclusion Criteria", ()),)),
    # Markdown's bold around a flattened heading, and a lone mark, are no items.
    ("**Inclusion Criteria:** * Adults * ** **Exclusion Criteria:** * ≥ 2 falls",
     ((INCLUSION, "Inclusion Criteria", ("Adults",)),
      (EXCLUSION, "Exclusion Criteria", ("≥ 2 falls",)))),
])
def test_written_examples(text, sections):
    assert parse_criteria(text) == Criteria(tuple(Section(*s) for s in sections))


def test_items_of_a_kind_come_from_all_its_sections():
    criteria = parse_criteria("a\nInclusion Criteria Part 1\n* b\nExclusion Criteria\n* c\n"
                              "Inclusion Criteria Part 2\n* d")
    assert criteria.inclusion == ("b", "d") and criteria.exclusion == ("c",)
    assert criteria.other == ("a",)


# --- the parser on made-up text ---------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
# Words of items: no heading words, no bullets, no numbers that could read as numbering. An
# item starts with a capital, as a dash bullet in a flattened paragraph needs (`_opens_item`).
LETTERS = "abcdefghijklmnopqrstuvwyzáé"
WORD = st.text(alphabet=LETTERS + "()%<>,/'", min_size=1, max_size=9)
ITEM = st.tuples(st.text(alphabet=LETTERS, min_size=1, max_size=9).map(str.capitalize),
                 st.lists(WORD, max_size=6)).map(lambda item: " ".join([item[0], *item[1]]))
ITEMS = st.lists(ITEM, min_size=1, max_size=6)
MARKERS = ("*", "-", "•", "1.")


def bulleted(items: list[str], marker: str) -> list[str]:
    return [f"{f'{n}.' if marker == '1.' else marker} {item}" for n, item in enumerate(items, 1)]


@SETTINGS
@given(inclusion=ITEMS, exclusion=ITEMS, marker=st.sampled_from(MARKERS),
       blank=st.sampled_from(["\n", "\n\n"]))
def test_structured_and_flattened_text_give_the_items_back(inclusion, exclusion, marker, blank):
    text = blank.join(["Inclusion Criteria:", *bulleted(inclusion, marker),
                       "Exclusion Criteria:", *bulleted(exclusion, marker)])
    for written in (text, flattened(text)):
        criteria = parse_criteria(written)
        assert criteria.inclusion == tuple(inclusion), written
        assert criteria.exclusion == tuple(exclusion), written
        assert criteria.other == ()


PIECES = st.one_of(
    st.sampled_from(["Inclusion Criteria:", "EXCLUSION CRITERIA", "Key exclusion criteria",
                     "non-inclusion criteria", "inclusion:", "*", "-", "•", "1.", "2)", "(3)",
                     "\n", "\n\n", ":", "#", "**", "18 - 65", "1.5"]),
    st.text(max_size=12))


@SETTINGS
@given(pieces=st.lists(PIECES, max_size=30), joiner=st.sampled_from(["", " "]))
def test_nothing_written_is_lost(pieces, joiner):
    """Whatever the text, every word of it is in a heading or an item, in order; items are
    one trimmed line each."""
    text = joiner.join(pieces)
    criteria = parse_criteria(text)
    shown = []
    for section in criteria.sections:
        assert section.kind in (INCLUSION, EXCLUSION, OTHER)
        shown.append(section.heading)
        for item in section.items:
            assert item and item == " ".join(item.split()), item
        shown.extend(section.items)
    letters = re.compile(r"[^\W\d_]{2,}")
    assert letters.findall(" ".join(shown)) == letters.findall(text)
