"""The readers on real files: every format on the shared data, compression and archives,
content sniffing, and every kind of bad input (which must become a Problem, never an
exception)."""

from __future__ import annotations

import gzip
import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest
from conftest import INVENTED_DATA

from indexer.model import Problem, Study
from indexer.readers import read_sources

SEED = "NCT05871463"


def read(*paths) -> tuple[list[Study], list[Problem]]:
    """Everything read from `paths`, split into studies and problems."""
    items = list(read_sources(paths))
    return ([i for i in items if isinstance(i, Study)], [i for i in items if isinstance(i, Problem)])


def by_id(studies: list[Study]) -> dict[str, Study]:
    return {s.nct_id: s for s in studies}


def text_record(nct_id: str, title: str = "A study", **fields: str) -> str:
    """A small record in the plain-text export layout."""
    extra = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f"Viewing Study {nct_id}\n\nStudy NCT ID: {nct_id}\nBrief Title: {title}\n{extra}"


def v2_study(nct_id: str | None, title: str = "A study") -> dict:
    ident = {"briefTitle": title} | ({"nctId": nct_id} if nct_id else {})
    return {"protocolSection": {"identificationModule": ident}}


@pytest.fixture(scope="module")
def seed_record(shared_data) -> Path:
    return shared_data / "seed_format" / f"{SEED}.txt"


@pytest.fixture(scope="module")
def v2_lines(shared_data) -> list[str]:
    with gzip.open(shared_data / "ctgov" / "api_v2_studies.jsonl.gz", "rt", encoding="utf-8") as f:
        return f.read().splitlines()


# --- every format on the shared data -----------------------------------------------------------

def test_seed_record(seed_record):
    studies, problems = read(seed_record)
    assert problems == [] and len(studies) == 1
    seed = studies[0]
    assert seed.nct_id == SEED and seed.source_format == "text" and seed.source == str(seed_record)
    assert seed.brief_title == "Effect of Mesenchymal Stem Cells-derived Exosomes in Decompensated Liver Cirrhosis"
    assert seed.official_title.startswith("Clinical Trial Phase IIa on Amelioration")
    assert seed.status == "RECRUITING"
    assert seed.first_posted == date(2023, 4, 7) and seed.last_update_posted == date(2023, 5, 23)
    assert "MSC-exosome" in seed.brief_summary and "40mg" in seed.detailed_description
    assert seed.sponsor == "Research Institute for Gastroenterology and Liver Diseases RIGLD"
    assert seed.acronym == ""  # "Acronym: None"
    # Keys with punctuation, values with colons, placeholders dropped.
    assert seed.extra["If Stopped, Why?"] == ["Not Stopped"]
    assert seed.extra["Ignite Creation Date"] == ["2024-05-06 @ 7:02 PM"]
    assert seed.extra["Is a FDA Regulated Drug?"] == ["False"]
    assert "If Expanded Access, NCT#" not in seed.extra and "Last Known Status" not in seed.extra


def test_api_v2_jsonl_gz(shared_data):
    path = shared_data / "ctgov" / "api_v2_studies.jsonl.gz"
    studies, problems = read(path)
    # 13 lines, 12 studies: NCT02552212 appears twice (lines 5 and 6).
    assert len(studies) == 12 and {s.source_format for s in studies} == {"api_v2"}
    assert problems == [Problem(str(path), "line 6", f"duplicate NCT ID NCT02552212, first read from {path}:5")]
    study = by_id(studies)["NCT00763412"]
    assert study.source == f"{path}:2"
    assert study.status == "COMPLETED" and study.study_type == "INTERVENTIONAL" and study.phases == ["NA"]
    assert study.sponsor == "Arbelaez, Ana Maria" and "Novo Nordisk A/S" in study.collaborators
    assert study.interventions == ["Drug: placebo", "Drug: repaglinide"]
    assert study.conditions == ["Cystic Fibrosis Related Diabetes", "Pancreatic Insufficiency"]
    assert study.enrollment == 31 and study.sex == "ALL" and study.minimum_age == "12 Years"
    assert study.first_posted == date(2008, 10, 1) and study.start_date == date(2006, 11, 1)
    assert study.locations == ["Washington University School of Medicine, Saint Louis, United States"]
    assert "blood glucose \\<126" not in study.eligibility_criteria  # Markdown escapes undone
    assert "<126 mg/dl" in study.eligibility_criteria
    assert study.extra["designModule.designInfo.allocation"] == ["RANDOMIZED"]
    # A study that only has an identification module still comes through.
    sparse = by_id(studies)["NCT00465816"]
    assert sparse.brief_title and sparse.status == "" and sparse.conditions == []


def test_api_v1_fullstudies(shared_data):
    studies, problems = read(shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz")
    assert problems == [] and len(studies) == 205
    study = by_id(studies)["NCT00023673"]
    assert study.source_format == "api_v1"
    assert study.status == "COMPLETED" and study.phases == ["PHASE1", "PHASE2"]
    assert study.conditions == ["Lung Cancer"] and study.enrollment == 63
    assert study.first_posted == date(2003, 4, 9) and study.completion_date == date(2013, 11, 1)
    assert study.collaborators == ["National Cancer Institute (NCI)"]
    assert "Radiation: three-dimensional conformal radiation therapy" in study.interventions
    assert study.locations[0] == "Mobile Infirmary Medical Center, Mobile, United States"


def test_legacy_xml_folder(shared_data):
    studies, problems = read(shared_data / "ctgov" / "legacy_xml")
    assert problems == [] and len(studies) == 128
    assert [s.nct_id for s in studies] == sorted(s.nct_id for s in studies)  # sorted file order
    study = by_id(studies)["NCT00001177"]
    assert study.source_format == "xml"
    assert study.brief_title == "Study of Premenstrual Syndrome and Premenstrual Dysphoria"
    assert study.status == "RECRUITING" and study.study_type == "OBSERVATIONAL"
    assert study.sex == "FEMALE" and study.minimum_age == "18 Years" and study.enrollment == 1600
    assert study.conditions[:2] == ["PMS", "Premenstrual Mood Disorder"]
    assert study.brief_summary.startswith("The purpose of this study is to identify")
    assert "\n" not in study.brief_summary  # textblocks are collapsed
    assert study.first_posted == date(1999, 11, 4)
    # Older files only have firstreceived_date / lastchanged_date.
    old = by_id(studies)["NCT00002475"]
    assert old.first_posted is not None and old.last_update_posted is not None


def test_search_results_tsv(shared_data):
    path = shared_data / "ctgov_tsv" / "covid19_trials_2020-10-12.tsv.gz"
    studies, problems = read(path)
    assert problems == [] and len(studies) == 3584
    first = studies[0]
    assert first.source == f"{path}:2" and first.source_format == "tsv"
    assert first.nct_id == "NCT04372602" and first.brief_title == "Duvelisib to Combat COVID-19"
    assert first.status == "NOT_YET_RECRUITING" and first.phases == ["PHASE2"]
    assert first.sponsor == "Washington University School of Medicine"
    assert first.collaborators == ["Verastem, Inc."]
    assert first.interventions[0] == "Drug: Duvelisib"
    assert first.first_posted == date(2020, 5, 4) and first.start_date == date(2020, 9, 30)
    assert first.minimum_age == "18 Years" and first.enrollment == 28
    assert first.extra["URL"] == ["https://ClinicalTrials.gov/show/NCT04372602"]
    types = {s.study_type for s in studies}
    assert types == {"INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS"}


def test_trec_corpus_sample(shared_data):
    studies, problems = read(shared_data / "trec_ct" / "trec_2022_corpus_sample.jsonl")
    assert problems == [] and len(studies) == 100  # the last line has no newline
    study = by_id(studies)["NCT03362970"]
    assert study.source_format == "trec" and study.phases == ["PHASE3"] and study.enrollment == 60
    assert study.brief_title.startswith("Improvements Through the Use of a Rapid Multiplex PCR")
    assert study.conditions == ["Diarrhea Bloody"]
    assert study.eligibility_criteria.startswith("Inclusion Criteria: Be aged 6 months")
    assert " Exclusion Criteria: Previously enrolled" in study.eligibility_criteria
    # Here `text` is only summary + criteria, so it adds no description.
    assert study.detailed_description == ""


@pytest.mark.slow
def test_whole_shared_folder_ignores_non_record_files(shared_data):
    studies, problems = read(shared_data)
    ignored = {Path(p.source).name for p in problems if p.kind == "ignored"}
    assert ignored == {"README.md", "legacy_xml_sources.tsv", "id2queries.json", "qrels.tsv",
                       "queries.jsonl", "qrels2022.txt", "topics2022.xml"}
    assert sum(p.kind == "ignored" for p in problems) == 13  # one per file, not one per line
    assert any("looks like TREC qrels" in p.reason for p in problems)
    # Everything else is the same study held by more than one file.
    assert all(p.reason.startswith("duplicate NCT ID") for p in problems if p.kind == "error")
    assert len({s.nct_id for s in studies}) == len(studies) > 3900


# --- containers, compression, sniffing ----------------------------------------------------------

def test_gzip_is_recognised_by_content(tmp_path, seed_record):
    packed = tmp_path / "seed.dat"  # no .gz extension
    packed.write_bytes(gzip.compress(seed_record.read_bytes()))
    studies, problems = read(packed)
    assert problems == [] and studies[0].nct_id == SEED and studies[0].source == str(packed)


def test_zip_archive_member_by_member(tmp_path, shared_data, seed_record, v2_lines):
    archive = tmp_path / "ctg-studies.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ctg-studies/NCT00763412.json", v2_lines[1])
        zf.write(shared_data / "ctgov" / "legacy_xml" / "NCT00001177.xml", "NCT00001177.xml")
        zf.writestr("seed.txt.gz", gzip.compress(seed_record.read_bytes()))
        zf.writestr("__MACOSX/._NCT00001177.xml", b"\x00\x05\x16\x07")
    studies, problems = read(archive)
    assert problems == []
    assert [(s.nct_id, s.source, s.source_format) for s in studies] == [
        ("NCT00001177", f"{archive}!NCT00001177.xml", "xml"),
        ("NCT00763412", f"{archive}!ctg-studies/NCT00763412.json", "api_v2"),
        (SEED, f"{archive}!seed.txt.gz", "text"),
    ]


def test_json_in_a_txt_file_and_pretty_printed(tmp_path, v2_lines):
    (tmp_path / "study.txt").write_text(json.dumps(json.loads(v2_lines[1]), indent=2), encoding="utf-8")
    studies, problems = read(tmp_path / "study.txt")
    assert problems == [] and studies[0].nct_id == "NCT00763412"
    assert studies[0].source_format == "api_v2" and studies[0].source == str(tmp_path / "study.txt")


def test_search_page_and_full_studies_wrappers(tmp_path, v2_lines, shared_data):
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": [json.loads(line) for line in v2_lines[:3]],
                                "nextPageToken": "abc"}), encoding="utf-8")
    classic = tmp_path / "classic.json"
    with gzip.open(shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(next(f)) for _ in range(2)]
    classic.write_text(json.dumps({"FullStudiesResponse": {"FullStudies": [
        {"Rank": n, "Study": record} for n, record in enumerate(records, 1)]}}), encoding="utf-8")
    studies, problems = read(page, classic)
    assert problems == []
    assert [s.source for s in studies] == [f"{page}#1", f"{page}#2", f"{page}#3",
                                           f"{classic}#1", f"{classic}#2"]
    assert [s.source_format for s in studies] == ["api_v2"] * 3 + ["api_v1"] * 2


def test_folders_are_read_recursively_in_sorted_order_skipping_hidden(tmp_path):
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b" / "deeper" / "z.txt").write_text(text_record("NCT00000003"), encoding="utf-8")
    (tmp_path / "b" / "a.txt").write_text(text_record("NCT00000002"), encoding="utf-8")
    (tmp_path / "a.txt").write_text(text_record("NCT00000001"), encoding="utf-8")
    (tmp_path / ".hidden" / "x.txt").write_text(text_record("NCT00000009"), encoding="utf-8")
    (tmp_path / ".notes.txt").write_text(text_record("NCT00000008"), encoding="utf-8")
    studies, problems = read(str(tmp_path))
    assert problems == []
    assert [s.nct_id for s in studies] == ["NCT00000001", "NCT00000002", "NCT00000003"]


def test_plain_text_layout_details(tmp_path):
    record = (
        "Exported 2 studies\n\n"  # a preamble before the first study is skipped
        "Viewing Study NCT00000001\n\nStudy NCT ID: NCT00000001\nStatus: Active, not recruiting\n"
        "Brief Title: First\nSponsor: Acme: Research Division\nConditions: Asthma | COPD\n"
        "Condition: Bronchiectasis\nPhase: PHASE2 | PHASE3\nEnrollment: 1,200 (Estimated)\n"
        "Interventions: Drug: Budesonide 400 mcg\nFuture Key: one\nFuture Key: two\n"
        "Status: COMPLETED\n\nStudy Overview\n\n"
        "Brief Summary: A summary that runs\nover two lines\n\n"
        "Eligibility Criteria: Adults\nInclusion Criteria: age 18 or more\n"
        "Exclusion Criteria: smokers\nSex: ALL\n"
        "Viewing Study NCT00000002\nStudy NCT ID: NCT00000002\nBrief Title: Second\n"
    )
    (tmp_path / "two.txt").write_text(record, encoding="utf-8")
    studies, problems = read(tmp_path / "two.txt")
    assert problems == []
    first, second = studies
    assert first.source == f"{tmp_path / 'two.txt'}:3" and second.source == f"{tmp_path / 'two.txt'}:27"
    assert first.status == "ACTIVE_NOT_RECRUITING"  # the first of a repeated single field wins
    assert first.extra["Status"] == ["COMPLETED"] and first.extra["Future Key"] == ["one", "two"]
    assert first.sponsor == "Acme: Research Division"
    assert first.conditions == ["Asthma", "COPD", "Bronchiectasis"]
    assert first.phases == ["PHASE2", "PHASE3"] and first.enrollment == 1200
    assert first.interventions == ["Drug: Budesonide 400 mcg"]
    assert first.brief_summary == "A summary that runs over two lines"
    # Criteria keep their lines; other prose runs on.
    assert first.eligibility_criteria == "Adults\nInclusion Criteria: age 18 or more\nExclusion Criteria: smokers"
    assert first.sex == "ALL" and second.brief_title == "Second"


def test_modern_csv_export(tmp_path):
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(
        "\ufeffNCT Number,Study Title,Study Status,Brief Summary,Conditions,Sponsor,Collaborators,Phases\n"
        'NCT00000001,"Aspirin, low dose",RECRUITING,"Short, sweet",Stroke|Angina,Acme,Beta|Gamma,PHASE2|PHASE3\n'
        "NCT00000002,Too,many,fields,here,x,y,z,extra\n",
        encoding="utf-8")
    studies, problems = read(csv_file)
    assert len(studies) == 1
    study = studies[0]
    assert study.brief_title == "Aspirin, low dose" and study.status == "RECRUITING"
    assert study.conditions == ["Stroke", "Angina"] and study.collaborators == ["Beta", "Gamma"]
    assert study.phases == ["PHASE2", "PHASE3"] and study.brief_summary == "Short, sweet"
    assert problems == [Problem(str(csv_file), "line 3", "row has 9 fields, the header has 8")]


def test_a_quote_inside_a_quoted_cell_is_doubled(tmp_path):
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(
        "NCT Number,Study Title,Sponsor\n"
        'NCT00000001,"""Sick"" patients, 2020",Acme\n'
        'NCT00000002,"A ""quoted"" word",Beta\n', encoding="utf-8")
    studies, problems = read(csv_file)
    assert problems == []
    assert [(s.brief_title, s.sponsor) for s in studies] == [
        ('"Sick" patients, 2020', "Acme"), ('A "quoted" word', "Beta")]


# --- bad input: a Problem each, good records still read -----------------------------------------

def test_file_that_is_not_utf8(tmp_path):
    latin1 = text_record("NCT00000001", "Caf\xe9")
    (tmp_path / "a_latin1.txt").write_bytes(latin1.encode("latin-1"))
    (tmp_path / "b_good.txt").write_text(text_record("NCT00000002"), encoding="utf-8")
    studies, problems = read(tmp_path)
    assert [s.nct_id for s in studies] == ["NCT00000002"]
    offset = latin1.index("\xe9")  # everything before it is ASCII
    assert problems == [Problem(str(tmp_path / "a_latin1.txt"), "",
                                f"not UTF-8 text (byte 0xe9 at offset {offset})")]


def test_bad_bytes_late_in_json_lines_keep_the_records_before(tmp_path):
    path = tmp_path / "big.jsonl"
    good = "".join(json.dumps(v2_study(n)) + "\n" for n in ("NCT00000001", "NCT00000002"))
    # The bad byte lies beyond the sniffed head, so it is met while streaming.
    path.write_bytes(good.encode() + b" " * 5000 + b"\n" + b'{"x": "\xff"}\n')
    studies, problems = read(path)
    assert [s.nct_id for s in studies] == ["NCT00000001", "NCT00000002"]
    assert len(problems) == 1 and problems[0].reason.startswith("not UTF-8 text (byte 0xff at offset")


def test_utf8_bom_is_tolerated(tmp_path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text_record("NCT00000001").encode())
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(v2_study("NCT00000002")).encode())
    studies, problems = read(tmp_path)
    assert problems == [] and {s.nct_id for s in studies} == {"NCT00000001", "NCT00000002"}


def test_malformed_json_line_among_good_ones(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join([json.dumps(v2_study("NCT00000001")), '{"protocolSection": {',
                               "", json.dumps(v2_study("NCT00000002"))]), encoding="utf-8")
    studies, problems = read(path)
    assert [s.nct_id for s in studies] == ["NCT00000001", "NCT00000002"]
    assert [s.source for s in studies] == [f"{path}:1", f"{path}:4"]
    assert len(problems) == 1 and problems[0].location == "line 2"
    assert problems[0].reason.startswith("malformed JSON")


def test_malformed_json_document(tmp_path):
    (tmp_path / "bad.json").write_text('{\n  "studies": [\n    {"protocolSection": }\n  ]\n}', encoding="utf-8")
    (tmp_path / "worse.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    studies, problems = read(tmp_path)
    assert studies == []
    assert [(Path(p.source).name, p.location, p.kind) for p in problems] == [
        ("bad.json", "line 3", "error"), ("deep.json", "", "error"), ("worse.json", "line 1", "error")]
    assert all(p.reason.startswith("malformed JSON") for p in problems)


def test_records_without_a_valid_nct_id(tmp_path):
    lines = tmp_path / "lines.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in [
        v2_study("NCT00000001"), v2_study(None), v2_study("NCT123")]), encoding="utf-8")
    page = tmp_path / "page.json"
    page.write_text(json.dumps({"studies": [v2_study("NCT00000002"), v2_study("")]}), encoding="utf-8")
    text = tmp_path / "text.txt"
    text.write_text("Viewing Study \nBrief Title: No id here\n", encoding="utf-8")
    studies, problems = read(lines, page, text)
    assert [s.nct_id for s in studies] == ["NCT00000001", "NCT00000002"]
    assert [(p.source, p.location, p.reason) for p in problems] == [
        (str(lines), "line 2", "no valid NCT ID (none given)"),
        (str(lines), "line 3", "no valid NCT ID (found 'NCT123')"),
        (str(page), "record 2", "no valid NCT ID (none given)"),
        (str(text), "", "no valid NCT ID (none given)"),
    ]


def test_duplicate_nct_ids_first_wins(tmp_path):
    (tmp_path / "a.txt").write_text(text_record("NCT00000001", "First"), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(v2_study(n, t)) for n, t in [
        ("NCT00000001", "Second"), ("NCT00000002", "Other"), ("nct00000002", "Again")]),
        encoding="utf-8")
    studies, problems = read(tmp_path)
    assert [(s.nct_id, s.brief_title) for s in studies] == [("NCT00000001", "First"),
                                                            ("NCT00000002", "Other")]
    assert [(p.location, p.reason) for p in problems] == [
        ("line 1", f"duplicate NCT ID NCT00000001, first read from {tmp_path / 'a.txt'}"),
        ("line 3", f"duplicate NCT ID NCT00000002, first read from {tmp_path / 'b.jsonl'}:2"),
    ]


def test_empty_file_empty_folder_missing_path(tmp_path):
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / ".DS_Store").write_bytes(b"x")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w"):
        pass
    missing = tmp_path / "missing.jsonl"
    studies, problems = read(tmp_path / "blank.txt", tmp_path / "empty.json", tmp_path / "nothing",
                             missing, tmp_path / "empty.zip")
    assert studies == []
    assert [(p.source, p.reason) for p in problems] == [
        (str(tmp_path / "blank.txt"), "empty file"),
        (str(tmp_path / "empty.json"), "empty file"),
        (str(tmp_path / "nothing"), "empty folder (no files to read)"),
        (str(missing), "no such file or folder"),
        (str(tmp_path / "empty.zip"), "empty zip archive (no files to read)"),
    ]
    assert all(p.kind == "error" for p in problems)


def test_corrupt_gzip(tmp_path, seed_record):
    data = gzip.compress(seed_record.read_bytes())
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    studies, problems = read(tmp_path / "cut.gz")
    assert studies == [] and len(problems) == 1 and problems[0].reason.startswith("unreadable")


def test_xml_with_doctype_or_entities_is_refused(tmp_path, shared_data):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            '"&lol;&lol;&lol;&lol;">]>\n<clinical_study><id_info><nct_id>NCT00000001</nct_id>'
            "</id_info><brief_title>&lol2;</brief_title></clinical_study>")
    (tmp_path / "bomb.xml").write_text(bomb, encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<clinical_study>\n<brief_title>x</clinical_study>", encoding="utf-8")
    shutil.copy(shared_data / "ctgov" / "legacy_xml" / "NCT00001177.xml", tmp_path / "z.xml")
    studies, problems = read(tmp_path)
    assert [s.nct_id for s in studies] == ["NCT00001177"]
    assert [(Path(p.source).name, p.location) for p in problems] == [("bomb.xml", ""), ("broken.xml", "line 2")]
    assert "DOCTYPE" in problems[0].reason and problems[1].reason.startswith("malformed XML")


def test_non_record_files_are_ignored_once_each(tmp_path, shared_data):
    trec = shared_data / "trec_ct"
    for source, name in [(trec / "trec_2021" / "queries.jsonl", "queries.txt"),
                         (trec / "trec_2021" / "qrels.tsv", "qrels.tsv"),
                         (trec / "trec_2022_official" / "qrels2022.txt", "qrels2022.txt"),
                         (trec / "trec_2022_official" / "topics2022.xml", "topics.xml"),
                         (trec / "sigir" / "id2queries.json", "id2queries.json"),
                         (shared_data / "legacy_xml_sources.tsv", "sources.tsv"),
                         (shared_data / "README.md", "README.md")]:
        shutil.copy(source, tmp_path / name)
    studies, problems = read(tmp_path)
    assert studies == [] and len(problems) == 7
    assert all(p.kind == "ignored" and p.location == "" for p in problems)
    reasons = {Path(p.source).name: p.reason for p in problems}
    assert reasons["qrels.tsv"] == "not a study record file (looks like TREC qrels); ignored"
    assert "TREC topics" in reasons["queries.txt"] and "TREC topics" in reasons["topics.xml"]
    assert "Markdown" in reasons["README.md"]


def test_unknown_content_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("Just some words about trials.\n", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    (tmp_path / "other.xml").write_text("<rss><channel/></rss>", encoding="utf-8")
    studies, problems = read(tmp_path)
    assert studies == [] and len(problems) == 3
    assert all(p.kind == "error" for p in problems)
    assert "keys: hello" in problems[1].reason and "<rss>" in problems[2].reason


def test_wrongly_typed_json_fields_do_not_raise(tmp_path):
    record = {"protocolSection": {
        "identificationModule": {"nctId": "NCT00000001", "briefTitle": ["a", "list"]},
        "statusModule": "oops", "conditionsModule": {"conditions": "Asthma"},
        "designModule": {"enrollmentInfo": {"count": "many"}, "phases": [None, 3]},
        "armsInterventionsModule": {"interventions": ["not an object", {"name": None}]},
        "contactsLocationsModule": {"locations": [[1, 2]]}}}
    lines = [json.dumps(record), json.dumps("text"), json.dumps({"_id": "NCT00000002", "metadata": "x"})]
    (tmp_path / "odd.jsonl").write_text("\n".join(lines), encoding="utf-8")
    studies, problems = read(tmp_path / "odd.jsonl")
    assert [s.nct_id for s in studies] == ["NCT00000001", "NCT00000002"]
    assert studies[0].conditions == ["Asthma"] and studies[0].enrollment is None
    assert [p.location for p in problems] == ["line 2"]


# --- the invented test corpus -------------------------------------------------------------------

def test_invented_corpus_parses_cleanly():
    studies, problems = read(INVENTED_DATA)
    # Its README is the only thing not read, and it is ignored rather than an error.
    assert [(Path(p.source).name, p.kind) for p in problems] == [("README.md", "ignored")]
    assert len(studies) >= 36
    assert {s.source_format for s in studies} == {"text", "api_v2"}
    assert all(s.nct_id.startswith("NCT99") for s in studies)
    assert {s.status for s in studies} >= {"RECRUITING", "COMPLETED", "ACTIVE_NOT_RECRUITING",
                                           "NOT_YET_RECRUITING", "TERMINATED"}
    assert {s.study_type for s in studies} == {"INTERVENTIONAL", "OBSERVATIONAL"}
    assert {s.first_posted.year for s in studies} >= set(range(2015, 2026))
    for study in studies:
        assert study.brief_title and study.official_title and study.sponsor
        assert 60 <= len(study.brief_summary.split()) <= 150, study.nct_id
        assert study.conditions and study.eligibility_criteria and study.locations
        assert study.first_posted and study.last_update_posted
