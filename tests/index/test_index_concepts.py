"""The registry's MeSH terms in the index (the `concept` field, and an index built before it),
and condition synonyms mined from what the registry found each term as."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import PROJECT_ROOT

from indexer import open_index, update_index
from indexer.catalog.fields import DEFAULT_FIELD_BOOSTS, FIELD_ALIASES, PROSE_FIELDS, SEARCH_FIELD_BOOSTS
from indexer.index.abbreviations import Abbreviations
from indexer.index.concepts import MIN_STUDIES, ConceptPairs, mine_condition_pairs
from indexer.index.schema import build_schema, study_to_document
from indexer.model import Study
from indexer.readers import read_sources

OLD_INDEX = PROJECT_ROOT / "tests" / "fixtures" / "index-2026-11"


def study(nct: int, pairs, conditions=(), title="", summary="", keywords=()) -> Study:
    return Study(nct_id=f"NCT{nct:08d}", brief_title=title, brief_summary=summary,
                 conditions=list(conditions), keywords=list(keywords),
                 condition_mesh=list(dict.fromkeys(term for _, term in pairs)),
                 condition_mesh_found=list(pairs))


# --- the concept field -------------------------------------------------------------------------

def test_concept_field_holds_condition_and_intervention_terms():
    doc = study_to_document(Study(nct_id="NCT00000001", conditions=["Pertussis"],
                                  condition_mesh=["Whooping Cough", "Infections"],
                                  intervention_mesh=["Vaccines", "Infections"]))
    assert doc["concept"] == "Whooping Cough ; Infections ; Vaccines"
    assert "Whooping Cough" in doc["vocab"]  # "did you mean" knows the words
    assert "concept" not in study_to_document(Study(nct_id="NCT00000002"))
    assert "concept" in build_schema().names() and "concept" in PROSE_FIELDS
    assert FIELD_ALIASES["concept"] == FIELD_ALIASES["mesh"] == "concept"


def test_concept_weight_is_below_every_other_bare_word_field():
    assert SEARCH_FIELD_BOOSTS["concept"] < min(DEFAULT_FIELD_BOOSTS.values())
    # DEFAULT_FIELD_BOOSTS is what the FTS5 baseline mirrors column for column: unchanged.
    assert "concept" not in DEFAULT_FIELD_BOOSTS
    assert set(SEARCH_FIELD_BOOSTS) - set(DEFAULT_FIELD_BOOSTS) == {"concept"}


@pytest.fixture
def old_index(tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(OLD_INDEX, path)
    return path


def test_an_index_without_the_concept_field_searches_and_updates(old_index, tmp_path):
    index = open_index(old_index)
    assert "concept" not in index.searcher().schema.names()
    assert [hit.nct_id for hit in index.search("cirrhosis").hits] == ["NCT99000001"]
    assert index.search("mesh:cirrhosis").total == 0  # a scope it lacks finds nothing, quietly
    assert index.search('concept:"liver cirrhosis"').total == 0
    # A record with MeSH terms updates into it: the field the old schema lacks is dropped,
    # the record (with its terms) is stored whole.
    path = tmp_path / "NCT99000013.json"
    path.write_text(json.dumps({"protocolSection": {"identificationModule": {
        "nctId": "NCT99000013", "briefTitle": "Albumin infusion study"}},
        "derivedSection": {"conditionBrowseModule": {"meshes": [{"term": "Hypoalbuminemia"}]}}}),
        encoding="utf-8")
    update_index([path], old_index)
    updated = open_index(old_index)
    assert updated.search("albumin").hits[0].nct_id == "NCT99000013"
    assert updated.get("NCT99000013").condition_mesh == ["Hypoalbuminemia"]
    assert updated.search("hypoalbuminemia").total == 0


# --- mining condition pairs --------------------------------------------------------------------

def test_pairs_seen_in_enough_studies_are_synonyms_both_ways():
    studies = [study(1, [("Breast Cancer", "Breast Neoplasms")], conditions=["Breast Cancer"]),
               study(2, [("breast cancer", "Breast Neoplasms")], title="Exercise in Breast Cancer"),
               study(3, [("Pertussis", "Whooping Cough")], conditions=["Pertussis"])]
    assert mine_condition_pairs(studies) == {"breast cancer": ["breast neoplasms"],
                                             "breast neoplasms": ["breast cancer"]}
    assert MIN_STUDIES == 2
    assert mine_condition_pairs(studies, min_studies=1)["pertussis"] == ["whooping cough"]
    assert mine_condition_pairs(studies, min_studies=1)["whooping cough"] == ["pertussis"]
    assert mine_condition_pairs(studies, min_studies=3) == {}


def test_a_study_read_twice_counts_once():
    twice = [study(1, [("Dysphagia", "Deglutition Disorders")], conditions=["Dysphagia"])] * 2
    assert mine_condition_pairs(twice) == {}


def test_pairs_that_only_fold_alike_are_no_synonyms():
    pairs = [("Infection", "Infections"), ("Rheumatoid Arthritis", "Arthritis, Rheumatoid"),
             ("Alzheimer's Disease", "Alzheimer Disease"), ("COVID-19", "COVID-19"),
             ("Non-Small-Cell Lung Carcinoma", "Carcinoma, Non-Small-Cell Lung")]
    text = [found for found, _ in pairs]
    assert mine_condition_pairs([study(1, pairs, conditions=text), study(2, pairs, conditions=text)]) == {}


def test_found_words_must_be_in_the_study_own_text():
    # The registry's as-found words can be noise; only words the study itself uses count.
    noise = [study(n, [("Level", "Carboplatin")], conditions=["Ovarian Cancer"]) for n in (1, 2)]
    assert mine_condition_pairs(noise) == {}
    # Conditions, keywords, titles and the summary are the study's own text, as whole words
    # ("CoV2" is "CoV-2"), not inside longer words.
    own = [study(1, [("SARS-CoV-2 Infection", "COVID-19")], conditions=["SARS-CoV2 Infection"]),
           study(2, [("SARS-CoV-2 Infection", "COVID-19")], summary="Adults with sars-cov-2 infection.")]
    assert mine_condition_pairs(own) == {"covid-19": ["sars-cov-2 infection"],
                                         "sars-cov-2 infection": ["covid-19"]}
    inside = [study(n, [("Cough", "Whooping Cough")], keywords=["Coughing"]) for n in (1, 2)]
    assert mine_condition_pairs(inside) == {}


def test_a_term_naming_a_subtype_the_words_do_not_is_dropped():
    studies = [study(n, [("Hepatitis", "Hepatitis A"), ("Diabetes", "Diabetes Mellitus, Type 2"),
                         ("Diabetes", "Diabetes Mellitus")],
                     conditions=["Chronic Hepatitis B", "Diabetes"]) for n in (1, 2)]
    assert mine_condition_pairs(studies) == {"diabetes": ["diabetes mellitus"],
                                             "diabetes mellitus": ["diabetes"]}


def test_spellings_that_fold_alike_are_one_phrase_written_as_most_studies_write_it():
    studies = [study(1, [("COVID-19 Pandemic", "COVID-19")], conditions=["COVID-19 Pandemic"]),
               study(2, [("covid 19 pandemic", "COVID-19")], conditions=["covid 19 pandemic"]),
               study(3, [("COVID-19 pandemic", "COVID-19")], conditions=["COVID-19 pandemic"])]
    assert mine_condition_pairs(studies) == {"covid-19": ["covid-19 pandemic"],
                                             "covid-19 pandemic": ["covid-19"]}


def test_mined_pairs_on_the_shared_corpus(shared_data):
    studies = [s for s in read_sources([shared_data]) if isinstance(s, Study)]
    pairs = mine_condition_pairs(studies)
    assert sum(map(len, pairs.values())) == 2 * 13
    assert pairs["breast cancer"] == ["breast neoplasms"] and pairs["lung neoplasms"] == ["lung cancer"]
    assert pairs["covid-19"] == ["covid-19 pandemic", "sars-cov-2 infection"]
    assert pairs["dysphagia"] == ["deglutition disorders"] and pairs["depression"] == ["depressive disorder"]
    # Seen in one study only: kept with min_studies=1.
    assert "whooping cough" not in pairs
    assert mine_condition_pairs(studies, min_studies=1)["atopic dermatitis"] == ["eczema"]
    assert "hepatitis" not in mine_condition_pairs(studies, min_studies=1)


def test_counts_are_kept_so_an_update_can_merge_them(tmp_path):
    one = [study(1, [("Dysphagia", "Deglutition Disorders")], conditions=["Dysphagia"])]
    two = [study(2, [("dysphagia", "Deglutition Disorders")], title="Dysphagia after stroke")]
    stored = Abbreviations.from_studies(one)
    assert stored.concepts.synonyms() == {}  # seen in one study
    (tmp_path / "abbreviations.json").write_text(stored.to_json(), encoding="utf-8")
    loaded = Abbreviations.load(tmp_path)
    loaded.merge(Abbreviations.from_studies(two))
    assert loaded.concepts.synonyms() == mine_condition_pairs(one + two) == {
        "deglutition disorders": ["dysphagia"], "dysphagia": ["deglutition disorders"]}
    assert loaded.concepts.support() == {("dysphagia", "deglutition disorders"): 2,
                                         ("deglutition disorders", "dysphagia"): 2}
    # A file written before the section loads with none.
    data = json.loads(stored.to_json())
    del data["concepts"]
    (tmp_path / "abbreviations.json").write_text(json.dumps(data), encoding="utf-8")
    assert Abbreviations.load(tmp_path).concepts == ConceptPairs()
