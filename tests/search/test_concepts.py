"""Searching the registry's MeSH terms (the `concept` field) on the shared corpus: bare words
find studies only the registry's terms name, ranked below studies whose own text says them;
`concept:` and `mesh:` search the terms alone."""

from __future__ import annotations

import pytest

from indexer import open_index
from indexer.catalog.fields import DEFAULT_FIELD_BOOSTS


@pytest.fixture(scope="module")
def index(shared_index):
    return open_index(shared_index)


def ids(result) -> list[str]:
    return [hit.nct_id for hit in result.hits]


def test_bare_words_find_studies_by_their_mesh_terms(index):
    # "Pertussis" in the record, "Whooping Cough" in the registry's terms.
    assert ids(index.search("whooping cough"))[0] == "NCT04779853"
    without = index.search("whooping cough", fields=list(DEFAULT_FIELD_BOOSTS))
    assert "NCT04779853" not in ids(without)
    # "Atopic Dermatitis" in the record, "Eczema" in the terms: found, below the study that
    # writes "eczema" itself.
    assert ids(index.search("eczema")) == ["NCT04375410", "NCT02210780"]
    # "Breast Cancer" in the records, "Breast Neoplasms" in the terms: twice the studies
    # (without the mined condition synonyms, which find them from the words too).
    assert index.search("breast neoplasms", expand_abbreviations=False).total == 2 * index.search(
        "breast neoplasms", fields=list(DEFAULT_FIELD_BOOSTS), expand_abbreviations=False).total == 8


def test_all_words_match_through_the_terms(index):
    # Only two studies write both "lung" and "neoplasms"; with the terms twelve have both, so
    # the search no longer falls back to studies with most of the words.
    before = index.search("lung neoplasms", fields=list(DEFAULT_FIELD_BOOSTS), per_page=1,
                          expand_abbreviations=False)
    assert before.notices and before.notices[0].startswith("only 2 studies have all")
    after = index.search("lung neoplasms", per_page=20, expand_abbreviations=False)
    assert after.notices == [] and after.total == 12
    assert "NCT00023673" in ids(after)  # "Lung Cancer", classic API


@pytest.mark.parametrize("scope", ["concept", "mesh"])
def test_concept_and_mesh_scopes_search_the_terms_alone(index, scope):
    result = index.search(f"{scope}:eczema")
    assert ids(result) == ["NCT02210780"]
    phrase = index.search(f'{scope}:"dermatitis, atopic"')
    assert ids(phrase) == ["NCT02210780"]
    # Intervention terms too (legacy XML and classic API records).
    assert index.search(f"{scope}:carboplatin").total >= 1


def test_a_word_only_the_terms_hold_is_no_misspelling(index):
    assert index.search("deglutition").suggestion is None


def test_mined_condition_synonyms_expand_typed_words(index):
    # "lung neoplasms" also matches "lung cancer" (a pair seen in 2+ studies), so the
    # studies' own text finds them even without the registry's terms.
    only_text = index.search("lung neoplasms", fields=list(DEFAULT_FIELD_BOOSTS), per_page=1)
    assert only_text.expansions == ["lung neoplasms → lung cancer"] and only_text.notices == []
    assert only_text.total > 2
    assert index.search("breast cancer").expansions == ["breast cancer → breast neoplasms"]
    assert index.search("depression").expansions == ["depression → depressive disorder"]
    # "infection" is in a quarter of the studies: its pair with "communicable diseases" is
    # far more generic than a phrase, and not expanded.
    assert index.search("infection").expansions == []
    assert "infection" not in index.synonyms()
