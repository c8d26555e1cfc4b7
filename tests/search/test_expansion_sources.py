"""Condition synonyms mined from the registry's MeSH as-found words, stored beside the
abbreviations and expanded like them; `trialsearch synonyms` names each pair's source; a
search says which expansions it applied (result, API, page)."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

from indexer import build_index, open_index, update_index
from indexer.cli import main
from indexer.index.abbreviations import Abbreviations

OLD_INDEX = PROJECT_ROOT / "tests" / "fixtures" / "index-2026-11"
FILLER = ["Knee osteoarthritis exercise", "Asthma inhaler adherence", "Migraine prevention",
          "Psoriasis biologic therapy", "Glaucoma eye drops", "Anemia iron supplements",
          "Gout diet study", "Insomnia sleep hygiene", "Obesity weight loss program",
          "Acne topical cream", "Tinnitus sound therapy", "Hypertension salt reduction"]


def record(nct: int, title: str, conditions=(), summary: str = "", mesh=(), found=()) -> dict:
    """An API v2 record; `found` are (as found, MeSH term) leaves of high relevance."""
    return {"protocolSection": {
        "identificationModule": {"nctId": f"NCT{nct:08d}", "briefTitle": title},
        "descriptionModule": {"briefSummary": summary},
        "conditionsModule": {"conditions": list(conditions)}},
        "derivedSection": {"conditionBrowseModule": {
            "meshes": [{"term": term} for term in mesh],
            "browseLeaves": [{"name": term, "asFound": words, "relevance": "HIGH"}
                             for words, term in found]}}}


def corpus() -> list[dict]:
    cancer = dict(mesh=["Breast Neoplasms"], found=[("Breast Cancer", "Breast Neoplasms")])
    records = [
        # The typed words in their own text (the pair seen in two studies: it is mined).
        record(1, "Exercise after breast cancer", ["Breast Cancer"], **cancer),
        record(2, "Diet in breast cancer survivors", ["Breast Cancer"], **cancer),
        # Only the registry's term's words, in its own text: found through the synonym.
        record(3, "Screening for breast neoplasms in older women", ["Breast Neoplasms"]),
        # A generic pair: "infection" is in far more than a tenth of the studies.
        *[record(10 + n, f"Infection control trial {n}", ["Infection"], mesh=["Communicable Diseases"],
                 found=[("Infection", "Communicable Diseases")]) for n in range(4)],
        record(20, "Communicable diseases surveillance", ["Communicable Diseases"]),
        # An abbreviation, mined from two studies.
        *[record(30 + n, f"Mesenchymal stem cells (MSC) for knee pain {n}") for n in range(2)],
        *[record(40 + n, title) for n, title in enumerate(FILLER)],
    ]
    return records


@pytest.fixture(scope="module")
def index_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("concepts")
    source = folder / "records.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in corpus()) + "\n", encoding="utf-8")
    path = folder / "index_data"
    build_index([source], path)
    return path


def ids(result) -> list[str]:
    return [hit.nct_id for hit in result.hits]


def test_condition_pairs_are_stored_beside_the_abbreviations(index_path):
    index = open_index(index_path)
    stored = Abbreviations.load(index.snapshot().folder)
    assert stored.concepts.synonyms() == {
        "breast cancer": ["breast neoplasms"], "breast neoplasms": ["breast cancer"],
        "communicable diseases": ["infection"], "infection": ["communicable diseases"]}
    assert "breast cancer" not in index.abbreviations  # not abbreviations: its own section


def test_typed_words_also_match_the_synonym_ranked_below(index_path):
    index = open_index(index_path)
    result = index.search("breast cancer")
    assert ids(result)[-1] == "NCT00000003" and set(ids(result)) == {
        "NCT00000001", "NCT00000002", "NCT00000003"}
    assert result.expansions == ["breast cancer → breast neoplasms"]
    assert index.search('"breast cancer"').expansions == ["breast cancer → breast neoplasms"]
    # And back (studies 1 and 2 hold the term in their MeSH terms already).
    back = index.search("breast neoplasms")
    assert len(back.hits) == 3
    assert back.expansions == ["breast neoplasms → breast cancer"]
    # The AND of the typed words is unchanged: "cancer" alone is no synonym.
    assert index.search("cancer survivors").expansions == []
    assert ids(index.search("breast cancer diet"))[0] == "NCT00000002"
    # Found as a match, not as a study holding some of the words: without the expansion only
    # two studies hold all the words, and the search falls back to those holding most.
    assert result.notices == [] and result.total == 3
    without = index.search("breast cancer", expand_abbreviations=False)
    assert without.notices[0].startswith("only 2 studies have all") and without.expansions == []


def test_a_very_common_single_word_side_is_not_expanded(index_path):
    index = open_index(index_path)
    assert index.search("infection").expansions == []
    assert index.search("communicable diseases").expansions == []
    # Only what holds the typed words: the study writing them, and those holding the term.
    assert ids(index.search("communicable diseases"))[0] == "NCT00000020"
    assert index.search("communicable diseases").total == 5


def test_abbreviation_expansions_are_listed_too(index_path):
    result = open_index(index_path).search("MSC")
    assert result.expansions == ["MSC → mesenchymal stem cells"] and result.total == 2


def test_synonyms_lists_each_pair_with_its_source(index_path, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["synonyms", "--index", str(index_path)])
    assert listed.exit_code == 0
    assert "MSC\tmesenchymal stem cells (abbreviation (mined, 2 studies))" in listed.stdout
    assert "breast cancer\tbreast neoplasms (MeSH asFound (2 studies))" in listed.stdout
    assert "infection" not in listed.stdout  # not expanded, not listed
    assert "1 abbreviation, 2 condition phrases." in listed.stderr
    data = json.loads(runner.invoke(main, ["synonyms", "breast cancer", "--index", str(index_path),
                                           "--json"]).stdout)
    assert data == {"breast cancer": [{"synonym": "breast neoplasms", "source": "MeSH asFound (2 studies)",
                                       "kind": "mesh", "studies": 2}]}
    # A synonym file's pair says so.
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("CT = computed tomography\n", encoding="utf-8")
    source = tmp_path / "records.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in corpus()) + "\n", encoding="utf-8")
    built = tmp_path / "index_data"
    build_index([source], built, synonyms=synonyms)
    data = json.loads(runner.invoke(main, ["synonyms", "CT", "--index", str(built), "--json"]).stdout)
    assert data == {"CT": [{"synonym": "computed tomography", "source": "synonym file",
                            "kind": "synonym file", "studies": None}]}


def test_an_update_merges_new_studies_pairs(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    dysphagia = dict(mesh=["Deglutition Disorders"], found=[("Dysphagia", "Deglutition Disorders")])
    first.write_text(json.dumps(record(1, "Dysphagia after stroke", ["Dysphagia"], **dysphagia))
                     + "\n" + "\n".join(json.dumps(record(40 + n, t)) for n, t in enumerate(FILLER * 2)),
                     encoding="utf-8")
    second.write_text(json.dumps(record(2, "Swallowing therapy for dysphagia", ["Dysphagia"],
                                        **dysphagia)) + "\n", encoding="utf-8")
    path = tmp_path / "index_data"
    build_index([first], path)
    assert open_index(path).search("dysphagia").expansions == []  # seen in one study
    update_index([second], path)
    index = open_index(path)
    assert index.search("dysphagia").expansions == ["dysphagia → deglutition disorders"]
    assert index.synonyms()["dysphagia"][0]["studies"] == 2


def test_api_and_page_show_the_expansions(index_path):
    from webapp import create_app

    app = create_app(index_path=str(index_path))
    client = app.test_client()
    data = client.get("/api/search?q=breast+cancer").get_json()
    assert data["expansions"] == ["breast cancer → breast neoplasms"]
    order = list(data)  # new fields come after the old ones
    assert order.index("expansions") < order.index("mode") < order.index("suggested_filters")
    assert order[-1] == "place"
    page = client.get("/?q=breast+cancer").get_data(as_text=True)
    assert "Also searched: breast cancer → breast neoplasms" in page


def test_an_old_index_without_the_section_still_searches(tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(OLD_INDEX, path)
    index = open_index(path)
    result = index.search("cirrhosis")
    assert ids(result) == ["NCT99000001"] and result.expansions == []
    assert all(entry["kind"] != "mesh" for entries in index.synonyms().values() for entry in entries)


def test_a_run_of_bare_words_keeps_its_and_and_adds_the_synonym_as_a_phrase():
    from whoosh import query

    from indexer.search.expansion import EXPANSION_BOOST, ExpansionMap, expand_abbreviations

    emap = ExpansionMap().with_concepts({"breast cancer": ["breast neoplasms"]})
    typed = query.And([query.Term("title", "breast"), query.Term("title", "cancer"),
                       query.Term("title", "diet")])
    applied: list[tuple[str, str]] = []
    expanded = expand_abbreviations(typed, emap, applied)
    assert expanded == query.And([
        query.Or([query.And([query.Term("title", "breast"), query.Term("title", "cancer")]),
                  query.Or([query.Phrase("title", ["breast", "neoplasm"], boost=EXPANSION_BOOST)])]),
        query.Term("title", "diet")])
    assert applied == [("breast cancer", "breast neoplasms")]
