"""Mining condition names at build time: the condition strings and MeSH terms records use,
with their study counts, and lay names for terms (`indexer/index/condition_names.py`); kept
with the generation, merged by updates, bounded by pruning."""

from __future__ import annotations

import json

from indexer import build_index, update_index
from indexer.index.abbreviations import Abbreviations
from indexer.index.condition_names import MIN_SHARE, MIN_SOURCE_SHARE, MIN_STUDIES, ConditionCounts
from indexer.index.layout import generation_path
from indexer.model import Study


def study(nct: int, conditions, terms) -> Study:
    return Study(nct_id=f"NCT{nct:08d}", brief_title=f"Study {nct}", conditions=list(conditions),
                 condition_mesh=list(terms))


def counted(*studies: Study) -> ConditionCounts:
    counts = ConditionCounts()
    for one in studies:
        counts.add_study(one)
    return counts


def xml_record(nct: int, conditions, terms) -> str:
    listed = "".join(f"<condition>{c}</condition>" for c in conditions)
    browsed = "".join(f"<mesh_term>{t}</mesh_term>" for t in terms)
    return (f"<clinical_study><id_info><nct_id>NCT{nct:08d}</nct_id></id_info>"
            f"<brief_title>Study {nct}</brief_title>{listed}"
            f"<condition_browse>{browsed}</condition_browse></clinical_study>")


def test_the_thresholds():
    assert (MIN_STUDIES, MIN_SHARE, MIN_SOURCE_SHARE) == (2, 0.5, 0.1)


def test_a_string_that_comes_with_a_term_in_enough_studies_is_its_lay_name():
    counts = counted(study(1, ["Heart Attack"], ["Myocardial Infarction", "Infarction"]),
                     study(2, ["heart attacks", "Myocardial Infarction"], ["Myocardial Infarction"]),
                     study(3, ["Heart attack"], ["Myocardial Infarction", "Infarction"]))
    # "Infarction" comes with it too, but is the broader of the two terms.
    assert counts.lay_names() == [("Heart Attack", "Myocardial Infarction", 2)]
    # Study 2 lists the term itself, so "heart attacks" stood beside no unexplained term and
    # does not count for the share.
    assert counts.counted == {"heart attack": 2}
    # Spellings that fold alike are one string, written as the first in code-point order.
    assert counts.strings == {"heart attack": 3, "myocardial infarction": 1}
    assert counts.used_strings() == {"Heart Attack": 3}
    assert counts.terms == {"Myocardial Infarction": 3, "Infarction": 2}


def test_one_study_is_not_enough():
    assert counted(study(1, ["Kidney Failure"], ["Renal Insufficiency"])).lay_names() == []


def test_a_string_that_is_a_term_or_holds_its_words_pairs_with_nothing():
    # Folded alike, in MeSH's inverted order or with plurals: the string names its own term.
    same = [study(n, ["Rheumatoid Arthritis", "Heart Diseases"],
                  ["Arthritis, Rheumatoid", "Heart Disease"]) for n in (1, 2)]
    assert counted(*same).lay_names() == [] and counted(*same).pairs == {}
    # A term whose words the string holds is the string's own ("Melanoma" in "Recurrent
    # Melanoma"), and a subtype letter or number is no lay name ("Diabetes" is not Type 2).
    own = [study(n, ["Recurrent Melanoma"], ["Melanoma", "Recurrence"]) for n in (1, 2)]
    subtype = [study(n, ["Diabetes"], ["Diabetes Mellitus, Type 2"]) for n in (3, 4)]
    assert counted(*own, *subtype).lay_names() == []


def test_the_term_must_be_what_the_string_usually_comes_with():
    studies = [study(1, ["Cytopenia"], ["Anemia"]), study(2, ["Cytopenia"], ["Anemia"]),
               *(study(n, ["Cytopenia"], ["Thrombocytopenia"]) for n in (3, 4, 5))]
    # Anemia: 2 of the 5 studies; Thrombocytopenia: 3 of 5.
    assert counted(*studies).lay_names() == [("Cytopenia", "Thrombocytopenia", 3)]


def test_the_string_must_be_a_real_source_of_the_term():
    # "Disease" stands unexplained beside many conditions: the two studies of this one say
    # little about it (2 of 21 < MIN_SOURCE_SHARE).
    studies = [study(n, ["Posttraumatic Stress Disorder"], ["Stress Disorders, Post-Traumatic",
                                                           "Disease"]) for n in (1, 2)]
    studies += [study(n, [f"Condition {chr(64 + n)}"], ["Disease"]) for n in range(3, 22)]
    assert counted(*studies).lay_names() == [
        ("Posttraumatic Stress Disorder", "Stress Disorders, Post-Traumatic", 2)]


def test_a_string_that_is_some_study_term_is_that_term():
    # "Hypertension" is a MeSH term: what else comes with it is no synonym.
    studies = [study(n, ["Hypertension"], ["Renal Insufficiency"]) for n in (1, 2)]
    assert counted(*studies).lay_names() == [("Hypertension", "Renal Insufficiency", 2)]
    studies.append(study(3, ["High Blood Pressure"], ["Hypertension"]))
    assert counted(*studies).lay_names() == []


def test_a_study_with_several_unexplained_strings_shows_no_pair():
    # Which of the two strings the terms come from is unknown.
    studies = [study(n, ["Gastric Cancer", "Esophageal Cancer"],
                     ["Stomach Neoplasms", "Esophageal Neoplasms"]) for n in (1, 2)]
    counts = counted(*studies)
    assert counts.lay_names() == [] and counts.counted == {}
    assert counts.strings == {"gastric cancer": 2, "esophageal cancer": 2}


def test_merged_counts_are_the_counts_of_all_the_studies():
    studies = [study(1, ["Pertussis"], ["Whooping Cough"]), study(2, ["pertussis"], ["Whooping Cough"]),
               study(3, ["Pertussis", "Asthma"], ["Whooping Cough", "Asthma"])]
    merged = counted(studies[2])
    merged.merge(counted(*studies[:2]))
    assert merged == counted(*studies)
    # Study 3 lists "Asthma", its own term: "Pertussis" is its one unexplained string.
    assert merged.lay_names() == [("Pertussis", "Whooping Cough", 3)]


def test_the_stored_section_is_pruned_and_reads_back():
    counts = counted(study(1, ["Kidney Failure"], ["Renal Insufficiency"]),
                     study(2, ["Kidney Failure"], ["Renal Insufficiency", "Hypertension"]),
                     study(3, ["Rare Thing"], ["Hypertension"]))
    stored = counts.to_dict()
    # A string one study lists is left out, with its pairs; so is a pair one study shows.
    assert stored["strings"] == {"kidney failure": 2}
    assert stored["pairs"] == {"kidney failure": {"Renal Insufficiency": 2}}
    assert stored["spellings"] == {"kidney failure": "Kidney Failure"}
    # Terms are bounded by MeSH: all kept.
    assert stored["terms"] == {"Renal Insufficiency": 2, "Hypertension": 2}
    loaded = ConditionCounts.from_dict(json.loads(json.dumps(stored)))
    assert loaded.lay_names() == counts.lay_names() == [
        ("Kidney Failure", "Renal Insufficiency", 2)]
    assert ConditionCounts.from_dict(None) == ConditionCounts()


def test_an_update_merges_into_the_stored_counts(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    (records / "a.xml").write_text(xml_record(1, ["Cerebrovascular Accident"], ["Stroke"]))
    (records / "b.xml").write_text(xml_record(2, ["Mini Stroke"], ["Ischemic Attack, Transient"]))
    path = tmp_path / "index_data"
    build_index([records], path)
    built = Abbreviations.load(generation_path(path)).conditions
    assert built.lay_names() == [] and built.terms == {"Stroke": 1, "Ischemic Attack, Transient": 1}
    # Both strings were listed by one study and were pruned (to_dict).
    assert built.strings == {}
    more = tmp_path / "more"
    more.mkdir()
    (more / "c.xml").write_text(xml_record(3, ["Cerebrovascular Accident"], ["Stroke"]))
    (more / "d.xml").write_text(xml_record(4, ["Cerebrovascular Accident"], ["Stroke"]))
    (more / "e.xml").write_text(xml_record(5, ["Mini Stroke"], ["Ischemic Attack, Transient"]))
    update_index([more], path)
    updated = Abbreviations.load(generation_path(path)).conditions
    assert updated.terms == {"Stroke": 3, "Ischemic Attack, Transient": 2}
    # The update's two studies show the first pair; the second was seen once before the
    # pruning and once since, so it waits for the next full build (the cost to_dict states).
    assert updated.lay_names() == [("Cerebrovascular Accident", "Stroke", 2)]
    assert updated.strings == {"cerebrovascular accident": 2}
    build_index([records, more], path)
    rebuilt = Abbreviations.load(generation_path(path)).conditions
    assert rebuilt.lay_names() == [("Cerebrovascular Accident", "Stroke", 3),
                                   ("Mini Stroke", "Ischemic Attack, Transient", 2)]


def test_a_file_written_before_the_section_has_none(tmp_path):
    stored = Abbreviations.from_studies([study(n, ["Heart Attack"], ["Myocardial Infarction"])
                                         for n in (1, 2)])
    (tmp_path / "abbreviations.json").write_text(stored.to_json(), encoding="utf-8")
    assert Abbreviations.load(tmp_path).conditions.lay_names() == [
        ("Heart Attack", "Myocardial Infarction", 2)]
    data = json.loads(stored.to_json())
    del data["conditions"]
    (tmp_path / "abbreviations.json").write_text(json.dumps(data), encoding="utf-8")
    assert Abbreviations.load(tmp_path).conditions == ConditionCounts()
