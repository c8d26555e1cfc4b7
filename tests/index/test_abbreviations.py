"""Mining abbreviation pairs from both spellings trial text uses, and the precision bar: a seeded
random 100 of the pairs the miner expands on ../shared/data, judged by hand, 95+ correct.

The judged list is `tests/fixtures/abbreviations-judged.tsv` (short, long, verdict, note; in
the order drawn). A pair is judged `correct` when the long form is what the short form stands
for in trial text: complete, spelled right, and not a one-study coinage for a short form that
trials use for something else (CA = "carrying angle"). Fragments ("times a day" for TID),
misspellings, misnomers and text errors are `wrong`. When a change to the miner changes what it
expands, the sample changes with it: `python tests/index/test_abbreviations.py` prints the new
draw with the verdicts already given, and the new pairs must be judged before it is saved.
"""

import csv
import random
import sys
from pathlib import Path

import pytest

from indexer.index.abbreviations import Abbreviations, mine_pairs
from indexer.model import Study
from indexer.readers import read_sources

JUDGED = Path(__file__).resolve().parents[1] / "fixtures" / "abbreviations-judged.tsv"
JUDGED_COLUMNS = ["short", "long", "verdict", "note"]
JUDGED_SEED = 20261203
JUDGED_SIZE = 100
MIN_CORRECT = 95
# Expanded by the miner before the precision bar, measured on ../shared/data: (short, long form).
KNOWN_WRONG = [
    ("MI", "myocardial intervention"), ("MI", "motivational interviewing"),
    ("AA", "americans"), ("AA", "astrocytoma"),
    ("ACT", "and commitment therapy"),
    ("CNP", "takes.~c-type natriuretic peptide"),
    ("CA", "carrying angle"),
]


def expanded_pairs(effective: dict[str, list[str]]) -> list[tuple[str, str]]:
    return sorted((short, long_form) for short, forms in effective.items() for long_form in forms)


def judged_sample(effective: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The seeded random sample of the expanded pairs that the judged list must hold."""
    return random.Random(JUDGED_SEED).sample(expanded_pairs(effective), JUDGED_SIZE)


def read_judged() -> list[dict[str, str]]:
    with JUDGED.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == JUDGED_COLUMNS
        return list(reader)


def mine_shared(shared_data: Path) -> Abbreviations:
    return Abbreviations.from_studies(s for s in read_sources([shared_data]) if isinstance(s, Study))


def one_study_each(*texts: str) -> Abbreviations:
    return Abbreviations.from_studies(
        Study(nct_id=f"NCT9000000{i}", brief_summary=text) for i, text in enumerate(texts))


@pytest.fixture(scope="module")
def shared_effective(shared_data) -> dict[str, list[str]]:
    return mine_shared(shared_data).effective()


# -- mining one text ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "pair"), [
    ("given mesenchymal stem cells (MSCs) twice", ("MSC", "mesenchymal stem cells")),
    ("tumor necrosis factor (TNF) levels", ("TNF", "tumor necrosis factor")),
    ("interleukin-6 (IL-6) was measured", ("IL-6", "interleukin-6")),
    ("Decompensated liver cirrhosis LC a complication", ("LC", "liver cirrhosis")),
    ("graft-versus-host disease GVHD after transplant", ("GVHD", "graft versus host disease")),
    # The first character starts the long form's first word, which is no stop word.
    ("test if Acceptance and Commitment Therapy (ACT), a behavioral intervention",
     ("ACT", "acceptance and commitment therapy")),
    # Most characters at word starts: not "americans", not "astrocytoma".
    ("in the United States. African Americans (AA) have been", ("AA", "african americans")),
    ("Glioblastoma multiforme (GBM) and anaplastic astrocytoma (AA) are", ("AA", "anaplastic astrocytoma")),
    # Not across a paragraph break ("~") or a sentence.
    ("before the six months it currently takes.~C-type natriuretic peptide (CNP) and",
     ("CNP", "c-type natriuretic peptide")),
    ("the RECIST criteria. Progression free survival (PFS) in", ("PFS", "progression free survival")),
    # A hyphenated part may start it.
    ("using the anti-pertussis toxin (PT) antibodies", ("PT", "pertussis toxin")),
    ("Kappa K=(Observed Agreement (OA)- Agreement", ("OA", "observed agreement")),
    ("an initial strategy with coronary CT angiography (CTA) will", ("CTA", "ct angiography")),
])
def test_pairs_with_and_without_parentheses(text, pair):
    assert pair in set(mine_pairs(text))


@pytest.mark.parametrize("text", [
    "patients in the US were enrolled",               # no initials match
    "abnormalities, which include brain swelling (ARIA-E)",  # letters gathered across a clause
    "scored with the HADS questionnaire",
    "Phase II trial",
    "located in the Indian Ocean (OI) zone",          # would start with a stop word
    "Patients receive osimertinib orally (PO) once daily",  # words that give no character
    "The Covid-19 HEalth caRe wOrkErS (HEROES) Study",  # letters inside words, not their starts
    "Sj(SqrRoot)(Delta)gren s Syndrome (SS) is",      # not into brackets, nor from a lone "s"
    "treatment of SARS-CoV2 (CoV) infection",         # the start of a word, not an abbreviation
    "Favipiravir (Favipira) for COVID-19",
    "an anodal tDCS of 2 milliamperes (mA) lasting",  # a unit
    "Acceptance and Commitment Therapy ACT (a protocol)",  # bare capitals beside a bracket
])
def test_no_pair_where_the_letters_do_not_name_the_words(text):
    assert list(mine_pairs(text)) == []


def test_bare_initials_do_not_start_with_a_stop_word():
    assert list(mine_pairs("the and Commitment Therapy ACT group")) == []


# -- what is expanded --------------------------------------------------------------------------

def test_spellings_that_analyze_alike_merge_and_the_most_frequent_is_shown(shared_data):
    seed = (shared_data / "seed_format" / "NCT05871463.txt").read_text(encoding="utf-8")
    mined = Abbreviations.from_studies([Study(nct_id="NCT05871463", detailed_description=seed)])
    effective = mined.effective()
    # "mesenchymal stem cell MSC" and "Mesenchymal stem cells MSC" are one long form.
    assert len(effective["MSC"]) == 1
    assert effective["MSC"][0] in {"mesenchymal stem cell", "mesenchymal stem cells"}
    # LC is mined, but a two-letter short form that one study defines is not expanded.
    assert mined.pairs["LC"] == {"liver cirrhosis": 1} and "LC" not in effective


def test_a_pair_counts_once_per_study():
    mined = one_study_each("tumor necrosis factor (TNF) and tumor necrosis factors (TNF) in tumor "
                           "necrosis factor (TNF)")
    assert sum(mined.pairs["TNF"].values()) == 1


def test_a_two_letter_short_form_needs_two_studies():
    carrying = "the Carrying angle (CA) was compared"
    assert "CA" not in one_study_each(carrying).effective()
    assert one_study_each(carrying, carrying).effective()["CA"] == ["carrying angle"]


def test_a_short_form_with_several_long_forms_keeps_those_that_studies_share():
    mined = one_study_each("Motivational Interviewing (MI) helps", "the risk of myocardial intervention (MI)")
    assert "MI" not in mined.effective()
    mined = one_study_each(*["mesenchymal stem cells (MSCs)"] * 9, *["mesenchymal stromal cells (MSCs)"] * 3,
                           *["marrow stromal cells (MSC)"] * 2)
    # A long form of a small minority of the studies is dropped, even with two of them.
    assert mined.effective()["MSC"] == ["mesenchymal stem cells", "mesenchymal stromal cells"]


def test_a_short_form_that_is_also_an_ordinary_word_needs_two_studies():
    definition = "the Molecular Analysis for Therapy Choice (MATCH) trial"
    assert one_study_each(definition).effective()["MATCH"] == ["molecular analysis for therapy choice"]
    ordinary = "results that match the protocol"
    assert "MATCH" not in one_study_each(definition, ordinary).effective()
    assert "MATCH" in one_study_each(definition, definition, ordinary).effective()


def test_a_long_form_goes_with_the_short_form_most_studies_give_it():
    mined = one_study_each(*["nitazoxanide (NTZ) tablets"] * 2, "nitazoxanide (NTX) tablets")
    assert mined.effective() == {"NTZ": ["nitazoxanide"]}


def test_synonym_file_pairs_are_kept_whatever_the_support(tmp_path):
    mined = one_study_each(*["carrying angle (CA)"] * 3)
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("CA = cancer\nMI = myocardial infarction\n", encoding="utf-8")
    mined.apply_user_file(synonyms)
    assert mined.effective() == {"CA": ["cancer", "carrying angle"], "MI": ["myocardial infarction"]}


def test_round_trip_keeps_pairs_and_vetoes(tmp_path):
    mined = Abbreviations()
    mined.add("MSC", "mesenchymal stem cell", 3)
    mined.vetoed.add(("LC", None))
    (tmp_path / "abbreviations.json").write_text(mined.to_json(), encoding="utf-8")
    loaded = Abbreviations.load(tmp_path)
    assert loaded.pairs == mined.pairs and loaded.vetoed == mined.vetoed


def test_round_trip_keeps_which_short_forms_are_words(tmp_path):
    mined = one_study_each("the Molecular Analysis for Therapy Choice (MATCH) trial", "results that match")
    (tmp_path / "abbreviations.json").write_text(mined.to_json(), encoding="utf-8")
    loaded = Abbreviations.load(tmp_path)
    assert loaded.words == {"match": 1}  # only the mined short forms' words are stored
    loaded.add("ICU", "intensive care unit")
    assert "MATCH" not in loaded.effective() and "ICU" in loaded.effective()


def test_the_effective_map_is_stored_and_recomputed_after_a_change(tmp_path):
    mined = Abbreviations()
    mined.add("MSC", "mesenchymal stem cell", 3)
    mined.add("MSC", "mesenchymal stem cells", 2)
    mined.add("LC", "liver cirrhosis", 2)
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


# -- the precision bar on ../shared/data -------------------------------------------------------

def test_the_judged_sample_has_100_pairs_and_at_least_95_correct():
    rows = read_judged()
    assert len(rows) == JUDGED_SIZE
    assert {row["verdict"] for row in rows} <= {"correct", "wrong"}
    assert all(row["note"] for row in rows if row["verdict"] == "wrong"), "say why a pair is wrong"
    correct = sum(row["verdict"] == "correct" for row in rows)
    assert correct >= MIN_CORRECT, f"{correct} of {JUDGED_SIZE} judged pairs are correct"


def test_the_judged_sample_is_the_seeded_sample_of_what_the_miner_expands(shared_effective):
    judged = [(row["short"], row["long"]) for row in read_judged()]
    drawn = judged_sample(shared_effective)
    assert judged == drawn, (
        f"the pairs the miner expands on ../shared/data changed, so {JUDGED.name} no longer holds "
        "their seeded sample: re-draw it (python tests/index/test_abbreviations.py) and judge the "
        f"new pairs; {len(set(drawn) - set(judged))} of {JUDGED_SIZE} were never judged")


def test_the_known_wrong_pairs_are_not_expanded(shared_effective):
    assert [pair for pair in KNOWN_WRONG if pair[1] in shared_effective.get(pair[0], [])] == []
    # Nor any long form holding junk: a paragraph break, a bracket, a sentence end.
    assert [pair for pair in expanded_pairs(shared_effective)
            if any(mark in pair[1] for mark in ("~", "(", ")", "[", ". "))] == []


if __name__ == "__main__":
    # Print a draft of the judged list for the miner as it is: the verdicts already given are
    # kept, the pairs never judged are marked "?".
    given = {(row["short"], row["long"]): row for row in read_judged()} if JUDGED.exists() else {}
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    writer = csv.writer(sys.stdout, delimiter="\t", quoting=csv.QUOTE_NONE, lineterminator="\n")
    writer.writerow(JUDGED_COLUMNS)
    for short, long_form in judged_sample(mine_shared(shared).effective()):
        row = given.get((short, long_form), {"verdict": "?", "note": ""})
        writer.writerow([short, long_form, row["verdict"], row["note"]])
