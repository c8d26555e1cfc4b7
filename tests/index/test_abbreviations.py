"""Mining abbreviation pairs from both spellings trial text uses."""

import pytest

from indexer.index.abbreviations import Abbreviations, mine_pairs
from indexer.model import Study


@pytest.mark.parametrize(("text", "pair"), [
    ("given mesenchymal stem cells (MSCs) twice", ("MSC", "mesenchymal stem cells")),
    ("tumor necrosis factor (TNF) levels", ("TNF", "tumor necrosis factor")),
    ("interleukin-6 (IL-6) was measured", ("IL-6", "interleukin-6")),
    ("Decompensated liver cirrhosis LC a complication", ("LC", "liver cirrhosis")),
    ("graft-versus-host disease GVHD after transplant", ("GVHD", "graft versus host disease")),
])
def test_pairs_with_and_without_parentheses(text, pair):
    assert pair in set(mine_pairs(text))


@pytest.mark.parametrize("text", [
    "patients in the US were enrolled",               # no initials match
    "abnormalities, which include brain swelling (ARIA-E)",  # letters gathered across a clause
    "scored with the HADS questionnaire",
    "Phase II trial",
])
def test_no_pair_where_the_letters_do_not_name_the_words(text):
    assert list(mine_pairs(text)) == []


def test_spellings_that_analyze_alike_merge_and_the_most_frequent_is_shown(shared_data):
    seed = (shared_data / "seed_format" / "NCT05871463.txt").read_text(encoding="utf-8")
    mined = Abbreviations.from_studies([Study(nct_id="NCT05871463", detailed_description=seed)])
    effective = mined.effective()
    # "mesenchymal stem cell MSC" and "Mesenchymal stem cells MSC" are one long form.
    assert len(effective["MSC"]) == 1
    assert effective["MSC"][0] in {"mesenchymal stem cell", "mesenchymal stem cells"}
    assert effective["LC"] == ["liver cirrhosis"]


def test_round_trip_keeps_pairs_and_vetoes(tmp_path):
    mined = Abbreviations()
    mined.add("MSC", "mesenchymal stem cell", 3)
    mined.vetoed.add(("LC", None))
    (tmp_path / "abbreviations.json").write_text(mined.to_json(), encoding="utf-8")
    loaded = Abbreviations.load(tmp_path)
    assert loaded.pairs == mined.pairs and loaded.vetoed == mined.vetoed


def test_the_effective_map_is_stored_and_recomputed_after_a_change(tmp_path):
    mined = Abbreviations()
    mined.add("MSC", "mesenchymal stem cell", 3)
    mined.add("MSC", "mesenchymal stem cells", 2)
    mined.add("LC", "liver cirrhosis", 1)
    (tmp_path / "abbreviations.json").write_text(mined.to_json(), encoding="utf-8")
    loaded = Abbreviations.load(tmp_path)
    assert loaded.stored_effective == mined.effective() == {
        "LC": ["liver cirrhosis"], "MSC": ["mesenchymal stem cell"]}
    loaded.add("ICU", "intensive care unit")  # an update mines a new pair
    assert loaded.stored_effective is None and loaded.effective()["ICU"] == ["intensive care unit"]
    vetoes = tmp_path / "synonyms.txt"
    vetoes.write_text("!LC\n", encoding="utf-8")
    reloaded = Abbreviations.load(tmp_path)
    reloaded.apply_user_file(vetoes)
    assert "LC" not in reloaded.effective()
