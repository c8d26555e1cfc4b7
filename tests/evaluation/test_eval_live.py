"""`trialsearch eval`'s live-search rows: the live search in each mode (keyword, hybrid,
semantic) on long (key terms + description) and short (typed) queries, on real indexes of the
invented corpus: `built_index` without study vectors, `vector_index` with them (conftest; it
skips where the `semantic` extra is missing)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from indexer import open_index
from indexer.cli import main
from indexer.errors import TrialsearchError
from indexer.evaluation.encoders import missing_packages
from indexer.evaluation.evaluate import (
    ABBREVIATIONS,
    DEFAULT,
    FTS5,
    PATIENT,
    PATIENT_UNFILTERED,
    PLAIN,
    SHORT_HYBRID,
    evaluate,
    live_row,
)
from indexer.evaluation.rankers import check_modes, live_modes, live_ranker, patient_ranker
from indexer.evaluation.rerankers import stored_vectors
from indexer.search import MODES
from indexer.search.keyterms import KeyQuery, fit_query, key_terms

# Two invented patients: decompensated cirrhosis (three eligible trials, one excluded) and
# memory loss in old age, in words no trial uses ("senile forgetfulness"): the typed query
# finds nothing by its words, only by meaning.
TOPICS = {
    "cirrhosis": "A 61-year-old man with decompensated liver cirrhosis from chronic hepatitis B. "
                 "He has tense ascites that needs paracentesis every two weeks despite diuretics, "
                 "and his doctors are considering stem cell therapy or albumin infusions.",
    "memory": "A 74-year-old woman whose family notes senile forgetfulness over two years: she "
              "misplaces things, repeats questions and lost her way home twice. Her memory tests "
              "show mild cognitive impairment.",
}
QRELS = {
    "cirrhosis": {"NCT99000001": 2, "NCT99000013": 2, "NCT99000029": 2, "NCT99000028": 1,
                  "NCT99000006": 0},
    "memory": {"NCT99000034": 2, "NCT99000014": 2, "NCT99000007": 2, "NCT99000021": 0},
}
SHORT = {"cirrhosis": ["Decompensated cirrhosis", "Ascites"], "memory": ["Senile forgetfulness"]}
LONG_ROWS = [PLAIN, ABBREVIATIONS, DEFAULT, FTS5]
LIVE_ROWS = [live_row(mode) for mode in MODES]
PATIENT_ROWS = [PATIENT, PATIENT_UNFILTERED]  # long queries only, whatever the modes
NO_SEMANTIC = missing_packages()
needs_semantic = pytest.mark.skipif(bool(NO_SEMANTIC), reason=(
    f"study vectors need {', '.join(NO_SEMANTIC)}: pip install 'trialsearch[semantic]'"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Topics, qrels and id2queries files for TOPICS, QRELS and SHORT."""
    folder = tmp_path_factory.mktemp("live-eval")
    topics = folder / "queries.jsonl"
    topics.write_text("".join(json.dumps({"_id": t, "text": text}) + "\n"
                              for t, text in TOPICS.items()), encoding="utf-8")
    qrels = folder / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n" + "".join(
        f"{t}\t{nct_id}\t{grade}\n" for t, grades in QRELS.items()
        for nct_id, grade in grades.items()), encoding="utf-8")
    short = folder / "id2queries.json"
    short.write_text(json.dumps({t: {"raw": "...", "gpt-4-turbo": {"summary": "...",
                                                                   "conditions": c}}
                                 for t, c in SHORT.items()}), encoding="utf-8")
    return {"topics": str(topics), "qrels": str(qrels), "short": str(short)}


def _cli(files, index, *extra) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["eval", "--topics", files["topics"], "--qrels",
                                       files["qrels"], "--index", str(index), "--judged-in-index",
                                       *extra])
    return result.exit_code, result.stdout, result.stderr


def _eval_json(files, index, *extra) -> dict:
    code, out, err = _cli(files, index, *extra, "--json")
    assert code == 0, out + err
    return json.loads(out)


def _typed(text: str) -> str:
    return " ".join(SHORT[text])


# -- without vectors: keyword only, and a clear word about the rest -------------------------------
def test_live_keyword_row_ranks_as_the_search_box_did(built_index):
    # The short-query row before modes existed ran `search(text)` with its defaults; on an
    # index without vectors those are keyword, and the keyword row ranks exactly so.
    index = open_index(built_index)
    keyword = live_ranker(index, "keyword")
    for text in ("Decompensated cirrhosis Ascites", "asthma metformin", "Senile forgetfulness",
                 "heart failure"):
        defaults = index.search(text, per_page=100, facets=False, highlights=False)
        assert defaults.mode == "keyword"
        assert keyword(text, None) == [hit.nct_id for hit in defaults.hits], text
    assert live_ranker(index)("asthma", None) == keyword("asthma", None)  # the default mode


def test_without_vectors_only_the_keyword_row_and_a_note_why(built_index, files):
    assert live_modes(open_index(built_index)) == (
        ["keyword"], "no study vectors yet: run trialsearch vectors")
    for extra in ([], ["--short", files["short"]]):
        report = _eval_json(files, built_index, *extra)
        rows = [row for row in report["means"] if row.startswith("live: ")]
        assert rows == [live_row("keyword"), *(PATIENT_ROWS if not extra else [])]
        assert report["live_modes"] == ["keyword"]
        assert "no study vectors" in report["live_unavailable"]
        code, out, _ = _cli(files, built_index, *extra)
        assert code == 0
        assert ('No "live: hybrid" and "live: semantic" rows: the index cannot search by meaning '
                "(no study vectors yet: run trialsearch vectors).") in out


def test_patient_rows_rank_as_patient_mode_does(built_index):
    # The patient rows are SearchIndex.match on the description, with and without the age and
    # sex it gives; in pool mode kept to the judged trials.
    index = open_index(built_index)
    for eligibility in (True, False):
        rank = patient_ranker(index, eligibility=eligibility, key_terms=30)
        for text in TOPICS.values():
            match = index.match(text, per_page=100, age_filter=eligibility, sex_filter=eligibility)
            assert rank(KeyQuery([], [], text), None) == [hit.nct_id for hit in match.hits]
            assert match.filters == ({"age": 61.0, "sex": "MALE"} if "61-year-old" in text else
                                     {"age": 74.0, "sex": "FEMALE"}) if eligibility else \
                {"age": None, "sex": None}
        judged = set(QRELS["cirrhosis"])
        assert set(rank(KeyQuery([], [], TOPICS["cirrhosis"]), judged)) <= judged
    assert patient_ranker(index, eligibility=True, key_terms=30)(KeyQuery([], [], " "), None) == []


@pytest.mark.parametrize("modes, message", [
    ("hybrid", "the live hybrid mode cannot run on this index"),
    ("keyword,semantic,hybrid", "the live semantic and hybrid modes cannot run on this index"),
])
def test_asking_for_meaning_modes_without_vectors_is_an_error(built_index, files, modes, message):
    code, out, err = _cli(files, built_index, "--modes", modes)
    assert code == 2
    assert f"Error: {message}: meaning search is unavailable (no study vectors yet: run " \
           "trialsearch vectors); give --modes keyword" in err
    assert "Traceback" not in out + err


def test_unknown_modes_are_a_usage_error(built_index, files):
    code, _, err = _cli(files, built_index, "--modes", "keyword,fuzzy")
    assert code == 2 and "'fuzzy'" in err and "keyword, hybrid, semantic" in err
    with pytest.raises(TrialsearchError, match="unknown search mode 'fuzzy'"):
        check_modes(open_index(built_index), ["fuzzy"])


# -- with vectors: every mode, long and short -----------------------------------------------------
@needs_semantic
@pytest.mark.slow
def test_long_queries_score_every_live_mode(vector_index, files, tmp_path):
    index = open_index(vector_index)
    assert live_modes(index) == (list(MODES), "")
    report = evaluate(index, TOPICS, QRELS, pool=False, judged_in_index=True, workdir=tmp_path)
    assert list(report.means) == LONG_ROWS + LIVE_ROWS + PATIENT_ROWS
    assert report.live_modes == list(MODES) and report.live_unavailable == ""
    assert all(not topics for topics in report.zero_results.values())
    # The live keyword row is the key terms OR-ed, unboosted, by the words alone.
    query = fit_query(key_terms(TOPICS["memory"], index), index)
    words = index.search(" ".join(query.words), operator="or", mode="keyword", per_page=100)
    semantic = index.search(" ".join(query.words), operator="or", mode="semantic",
                            meaning=TOPICS["memory"], per_page=100)
    assert words.mode == "keyword" and semantic.mode == "semantic"
    assert semantic.hits[0].nct_id in {"NCT99000034", "NCT99000014", "NCT99000007"}
    assert report.per_topic[live_row("semantic")]["memory"]["RR"] == 1.0
    for mode in ("keyword", "hybrid"):  # they find every eligible trial of both
        assert report.means[live_row(mode)]["R@100"] == 1.0, mode
    # Meaning alone misses one (less alike than MIN_SIMILARITY); it still finds most.
    assert report.means[live_row("semantic")]["R@100"] > 0.5
    # --modes picks the rows, in MODES' order.
    chosen = _eval_json(files, vector_index, "--modes", "semantic,keyword")
    assert list(chosen["means"]) == LONG_ROWS + [live_row("keyword"), live_row("semantic")] + PATIENT_ROWS


@needs_semantic
@pytest.mark.slow
def test_short_queries_score_every_live_mode_and_count_empty_ones(vector_index, built_index,
                                                                  files):
    report = _eval_json(files, vector_index, "--short", files["short"])
    assert list(report["means"]) == LIVE_ROWS
    # "Senile forgetfulness" shares no word with any trial: keyword finds nothing, meaning
    # finds the memory trials.
    assert report["zero_results"] == {live_row("keyword"): ["memory"], live_row("hybrid"): [],
                                      live_row("semantic"): []}
    assert report["per_topic"][live_row("hybrid")]["memory"]["RR"] == 1.0
    # The keyword row is what the short-query row gave before modes (the index's own search
    # without vectors): the same per-topic scores as on the copy without them.
    before = _eval_json(files, built_index, "--short", files["short"])
    assert (report["per_topic"][live_row("keyword")]
            == before["per_topic"][live_row("keyword")])
    code, out, _ = _cli(files, vector_index, "--short", files["short"])
    assert code == 0
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines()
            if line.startswith("live: ")}
    assert {name: cells[-1] for name, cells in rows.items()} == {
        "live: keyword": "1", "live: hybrid": "0", "live: semantic": "0"}  # the "empty" column
    assert "cannot search by meaning" not in out


@needs_semantic
@pytest.mark.slow
def test_eval_only_hybrid_reads_the_stored_vectors(vector_index, files, monkeypatch):
    from indexer.evaluation.encoders import Encoder
    from indexer.semantic.contract import study_text

    encoder = Encoder(threads=1)
    index = open_index(vector_index)
    stored, hashes = stored_vectors(index, encoder)
    assert len(stored) == len(hashes) == index.searcher().doc_count()
    some = sorted(stored)[:3]
    fresh = encoder.encode([study_text(index.get(nct_id), index.abbreviations) for nct_id in some])
    for nct_id, vector in zip(some, fresh):
        assert float(np.dot(stored[nct_id], vector)) > 0.9999
    # With the vectors stored, the eval-only hybrid encodes only the queries it reads.
    encoded: list[int] = []
    real = Encoder.encode
    monkeypatch.setattr(Encoder, "encode", lambda self, texts: encoded.append(len(texts))
                        or real(self, texts))
    code, out, err = _cli(files, vector_index, "--short", files["short"], "--hybrid")
    assert code == 0, out + err
    assert SHORT_HYBRID in out
    assert encoded and set(encoded) == {1}
