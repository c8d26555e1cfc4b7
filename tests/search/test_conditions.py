"""The conditions a query names and the studies that have them (`indexer/search/conditions.py`),
on real indexes: invented records in a temp dir, and the shared corpus checked against a
record-by-record scan (tests/scan.py)."""

from __future__ import annotations

import json
import shutil

import pytest
import scan

from indexer import build_index, open_index, update_index
from indexer.index.analysis import analyze
from indexer.index.concepts import ConceptPairs
from indexer.index.condition_names import ConditionCounts
from indexer.model import Study
from indexer.readers import read_sources
from indexer.search.conditions import (
    GENERIC_MIN_TERMS,
    Condition,
    ConditionVocabulary,
    condition_documents,
)
from indexer.search.snapshot import CONDITION_CACHE_BYTES


def record(nct: int, title: str, conditions=(), mesh=(), found=()) -> dict:
    """An API v2 record; `found` are (as found, MeSH term) leaves of high relevance."""
    return {"protocolSection": {
        "identificationModule": {"nctId": f"NCT{nct:08d}", "briefTitle": title},
        "conditionsModule": {"conditions": list(conditions)}},
        "derivedSection": {"conditionBrowseModule": {
            "meshes": [{"term": term} for term in mesh],
            "browseLeaves": [{"name": term, "asFound": words, "relevance": "HIGH"}
                             for words, term in found]}}}


RECORDS = [
    record(1, "Aspirin after a heart attack", ["Heart Attack"], ["Myocardial Infarction"]),
    record(2, "Cardiac rehabilitation", ["heart attacks"], ["Myocardial Infarction", "Infarction"]),
    record(3, "Statins in myocardial infarction", ["Myocardial Infarction"], ["Myocardial Infarction"]),
    record(4, "Chest pain in the emergency room", ["Acute Coronary Syndrome"],
           ["Acute Coronary Syndrome", "Myocardial Infarction"]),
    record(5, "Heart surgery outcomes", ["Heart Failure"], ["Heart Failure"]),
    record(6, "Congenital heart disease in children", ["Congenital Heart Disease"],
           ["Heart Defects, Congenital"]),
    record(7, "Blood cancer survivorship", ["Blood Cancer"], ["Hematologic Neoplasms"]),
    record(8, "Transplant in blood cancers", ["Blood Cancer"], ["Hematologic Neoplasms"]),
    record(9, "Leukemia in children", ["Leukemia", "Hematologic Neoplasm"],
           ["Leukemia", "Hematologic Neoplasms"]),
    record(10, "Voriconazole in kids with candidemia", ["Candidemia"], ["Candidemia"]),
    record(11, "Exosomes in healthy volunteers", ["Healthy"], []),
    record(12, "Whooping cough vaccine", ["Pertussis"], ["Whooping Cough"],
           [("Pertussis", "Whooping Cough")]),
    record(13, "Pertussis booster", ["Pertussis"], ["Whooping Cough"],
           [("Pertussis", "Whooping Cough")]),
    record(14, "Rheumatoid arthritis biologic", ["Rheumatoid Arthritis"], ["Arthritis, Rheumatoid"]),
]


def write(records, path):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conditions")
    build_index([write(RECORDS, folder / "studies.jsonl")], folder / "index_data")
    return open_index(folder / "index_data")


def names(snapshot, text: str) -> list[tuple[str, str]]:
    return [(c.name, c.words) for c in snapshot.conditions.named_conditions(text)]


def holders(snapshot, condition: Condition) -> set[str]:
    ids = snapshot.nct_ids()
    return {ids[d] for d in condition_documents(snapshot, condition).nonzero()[0]}


def test_heart_attack_names_myocardial_infarction(index):
    snapshot = index.snapshot()
    [condition] = snapshot.conditions.named_conditions("heart attack")
    assert condition == Condition(
        name="Heart Attack", words="heart attack", terms=("Myocardial Infarction",),
        phrases=(("heart", "attack"), ("myocardi", "infarct")))
    # The studies whose conditions say it, and those the registry's terms say it of; not
    # the heart surgery, heart failure or congenital heart disease studies.
    assert holders(snapshot, condition) == {"NCT00000001", "NCT00000002", "NCT00000003",
                                            "NCT00000004"}


def test_blood_cancer_in_kids_names_blood_cancer_alone(index):
    snapshot = index.snapshot()
    [condition] = snapshot.conditions.named_conditions("blood cancer in kids")
    assert (condition.name, condition.words, condition.terms) == (
        "Blood Cancer", "blood cancer", ("Hematologic Neoplasms",))
    assert holders(snapshot, condition) == {"NCT00000007", "NCT00000008", "NCT00000009"}


def test_mesh_terms_as_found_synonyms_and_reading_order_name_conditions(index):
    snapshot = index.snapshot()
    assert names(snapshot, "whooping cough vaccine") == [("Whooping Cough", "whooping cough")]
    [pertussis] = snapshot.conditions.named_conditions("Pertussis")
    assert pertussis.terms == ("Whooping Cough",)
    assert holders(snapshot, pertussis) == {"NCT00000012", "NCT00000013"}
    # MeSH's inverted order and reading order are one condition.
    [arthritis] = snapshot.conditions.named_conditions("rheumatoid arthritis biologics")
    assert (arthritis.name, arthritis.words) == ("Rheumatoid Arthritis", "rheumatoid arthritis")
    assert arthritis.terms == ("Arthritis, Rheumatoid",)
    assert {("arthriti", "rheumatoid"), ("rheumatoid", "arthriti")} <= set(arthritis.phrases)
    assert holders(snapshot, arthritis) == {"NCT00000014"}


def test_longest_runs_first_in_query_order_each_condition_once(index):
    snapshot = index.snapshot()
    assert names(snapshot, "heart failure after a Heart-Attack, or heart attacks") == [
        ("Heart Failure", "heart failure"), ("Heart Attack", "Heart-Attack")]
    assert names(snapshot, "candidemia OR leukemia") == [("Candidemia", "candidemia"),
                                                       ("Leukemia", "leukemia")]


@pytest.mark.parametrize("text", [
    "exosomes", "", "kids", "heart", '"heart attack"', "condition:heart attack",
    "heart AND attack", "heart attack -stroke", "heart attack*", "heart attak~", "NCT00000001",
    "heart attack NCT00000001"])
def test_queries_that_name_no_condition(index, text):
    assert index.snapshot().conditions.named_conditions(text) == []


def test_the_words_side_ranks_as_without_the_mined_names(index, tmp_path):
    snapshot = index.snapshot()
    assert ("heart", "attack") not in snapshot.expansions.concepts
    # The same generation with its conditions section taken out ranks every query alike.
    copy = tmp_path / "index_data"
    shutil.copytree(snapshot.folder.parent, copy)
    stored = copy / snapshot.generation / "abbreviations.json"
    data = json.loads(stored.read_text(encoding="utf-8"))
    assert data.pop("conditions")["pairs"]
    stored.write_text(json.dumps(data), encoding="utf-8")
    without = open_index(copy)
    for text in ["heart attack", "blood cancer in kids", "pertussis", "rheumatoid arthritis"]:
        ours, theirs = index.search(text, mode="keyword"), without.search(text, mode="keyword")
        assert ours.total == theirs.total and ours.expansions == theirs.expansions
        assert [(h.nct_id, h.score) for h in ours.hits] == [(h.nct_id, h.score) for h in theirs.hits]


def test_warming_builds_the_vocabulary_and_documents_are_remembered(index):
    snapshot = index.snapshot()
    snapshot.__dict__.pop("conditions", None)  # as a snapshot opens: not built yet
    for step in snapshot.warm_steps():
        step()
    assert isinstance(snapshot.__dict__["conditions"], ConditionVocabulary)
    [condition] = snapshot.conditions.named_conditions("blood cancer")
    mask = condition_documents(snapshot, condition)
    assert mask.dtype == bool and mask.shape == (snapshot.scorer.size,)
    remembered = snapshot.condition_ids[condition.phrases]
    assert sorted(remembered) == sorted(mask.nonzero()[0])
    # Kept by their size: a common condition's studies are a large array at registry scale.
    assert snapshot.condition_ids.maxsize == CONDITION_CACHE_BYTES
    assert remembered.nbytes <= snapshot.condition_ids.currsize <= CONDITION_CACHE_BYTES


def test_an_update_is_a_new_vocabulary_and_deleted_documents_are_out(tmp_path):
    path = tmp_path / "index_data"
    build_index([write(RECORDS, tmp_path / "studies.jsonl")], path)
    index = open_index(path)
    before = index.snapshot()
    [condition] = before.conditions.named_conditions("heart attack")
    changed = [record(1, "Aspirin in asthma", ["Asthma"], ["Asthma"]),
               record(15, "Heart attack registry", ["Heart Attack"], ["Myocardial Infarction"])]
    update_index([write(changed, tmp_path / "changed.jsonl")], path)
    after = index.snapshot()
    assert after is not before
    assert holders(after, condition) == {"NCT00000002", "NCT00000003", "NCT00000004",
                                         "NCT00000015"}
    assert names(after, "asthma") == [("Asthma", "asthma")]


def test_a_word_most_terms_hold_names_no_condition_alone():
    counts = ConditionCounts()
    terms = ["Lyme Disease", "Heart Diseases", "Kidney Diseases", "Liver Diseases", "Lung Diseases",
             "Bone Diseases", "Skin Diseases", "Eye Diseases", "Celiac Disease", "Crohn Disease",
             "Disease"]
    assert len(terms) > GENERIC_MIN_TERMS
    for n, term in enumerate(terms):
        counts.add_study(Study(nct_id=f"NCT{n:08d}", conditions=[term], condition_mesh=[term]))
    vocabulary = ConditionVocabulary(counts, ConceptPairs())
    assert vocabulary.named_conditions("disease") == []
    assert [c.name for c in vocabulary.named_conditions("lyme disease")] == ["Lyme Disease"]


# -- the shared corpus, against a scan of its records ---------------------------------------

QUERIES = ["breast cancer", "lung cancer", "stroke rehabilitation", "kidney failure", "covid",
           "hiv", "pertussis vaccine", "osteoarthritis", "cancer pain", "atopic dermatitis",
           "diabetes", "heart disease in women", "depression"]


@pytest.fixture(scope="module")
def records(shared_data) -> dict[str, Study]:
    return {study.nct_id: study for study in read_sources([shared_data]) if isinstance(study, Study)}


def test_condition_documents_are_the_studies_a_scan_finds(shared_index, records):
    snapshot = open_index(shared_index).snapshot()
    ids = snapshot.nct_ids()
    named = [c for text in QUERIES for c in snapshot.conditions.named_conditions(text)]
    assert len(named) >= 10
    for condition in named:
        found = {ids[d] for d in condition_documents(snapshot, condition).nonzero()[0]}
        expected = {nct for nct, study in records.items()
                    if scan.holds_condition(study, condition.phrases)}
        assert found == expected, condition.name
        assert found, condition.name


def test_scan_phrases_are_analyzed_words():
    study = Study(nct_id="NCT00000001", conditions=["Heart Attack", "Asthma"],
                  condition_mesh=["Myocardial Infarction"])
    assert scan.holds_condition(study, [tuple(analyze("heart attacks"))])
    assert scan.holds_condition(study, [tuple(analyze("myocardial infarction"))])
    assert not scan.holds_condition(study, [tuple(analyze("attack heart"))])
