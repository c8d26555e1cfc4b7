"""`trialsearch eval`: topics and qrels parsing, key-term queries, metric wiring on a tiny
hand-made collection whose right answers are known, and a real run on the shared TREC data."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer import QueryError, build_index, open_index
from indexer.cli import main
from indexer.evaluation.encoders import missing_packages
from indexer.evaluation.evaluate import HYBRID, evaluate, live_row
from indexer.evaluation.measures import MEASURES
from indexer.evaluation.rankers import live_ranker
from indexer.evaluation.rerankers import FEEDBACK_TERMS, FEEDBACK_WEIGHT, feedback_query
from indexer.evaluation.topics import EvalInputError, read_qrels, read_short_queries, read_topics
from indexer.index.analysis import analyze
from indexer.search.fusion import reciprocal_rank_fusion
from indexer.search.keyterms import KeyQuery, fit_query, key_terms
from indexer.search.query import parse_query

TRIALSEARCH = Path(sys.executable).with_name("trialsearch")
CONFIGURATIONS = ["BM25F", "BM25F + abbreviations", "BM25F + abbreviations + feedback (default)",
                  "SQLite FTS5 bm25", "live: keyword",  # no vectors, no meaning modes
                  "live: patient", "live: patient, no age/sex filter"]

ASTHMA, DIABETES, CIRRHOSIS, ABSENT = "NCT90000001", "NCT90000002", "NCT90000003", "NCT90000009"
# Three trials in the TREC corpus format. The topic below is mostly about asthma, a little about
# diabetes and not at all about cirrhosis, so every configuration ranks ASTHMA, then DIABETES,
# and never retrieves CIRRHOSIS.
TRIALS = [
    {"_id": ASTHMA, "title": "Inhaled Budesonide for Severe Asthma",
     "text": "Summary: Inhaled budesonide in adults with severe asthma and wheezing.",
     "metadata": {"brief_summary": "Inhaled budesonide in adults with severe asthma and wheezing.",
                  "diseases_list": ["Asthma"], "drugs_list": ["Budesonide"]}},
    {"_id": DIABETES, "title": "Metformin in Type 2 Diabetes",
     "text": "Summary: Metformin for adults with type 2 diabetes.",
     "metadata": {"brief_summary": "Metformin for adults with type 2 diabetes.",
                  "diseases_list": ["Diabetes Mellitus, Type 2"], "drugs_list": ["Metformin"]}},
    {"_id": CIRRHOSIS, "title": "Carvedilol in Compensated Cirrhosis",
     "text": "Summary: Carvedilol to lower portal pressure in cirrhosis.",
     "metadata": {"brief_summary": "Carvedilol to lower portal pressure in cirrhosis.",
                  "diseases_list": ["Liver Cirrhosis"], "drugs_list": ["Carvedilol"]}},
]
TOPIC = {"_id": "t1", "text": "Patient is a 34-year-old woman with severe asthma. Her asthma "
         "worsens at night with wheezing; asthma inhalers help. She also has diabetes."}


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _qrels(tmp_path: Path, grades: dict[str, int]) -> str:
    rows = "".join(f"t1\t{nct_id}\t{grade}\n" for nct_id, grade in grades.items())
    return _write(tmp_path / "qrels.tsv", "query-id\tcorpus-id\tscore\n" + rows)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The three trials as records on disk, an index of them, and the topic file."""
    folder = tmp_path_factory.mktemp("tiny")
    records = _write(folder / "corpus.jsonl", "".join(json.dumps(t) + "\n" for t in TRIALS))
    index = folder / "index"
    build_index([records], index)
    topics = _write(folder / "topics.jsonl", json.dumps(TOPIC) + "\n")
    return {"records": records, "index": str(index), "topics": topics}


def _eval_json(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- the metrics are wired right: known answers -------------------------------------------------
@pytest.mark.parametrize("grades, expected", [
    # The eligible trial is ranked first: every metric is perfect (P@10 is 1 of 10).
    ({ASTHMA: 2, DIABETES: 0, CIRRHOSIS: 0},
     {"nDCG@10": 1.0, "P@10": 0.1, "RR": 1.0, "R@100": 1.0}),
    # Ranked second: RR 1/2, nDCG (2/log2 3) / 2.
    ({ASTHMA: 0, DIABETES: 2, CIRRHOSIS: 0},
     {"nDCG@10": 1 / math.log2(3), "P@10": 0.1, "RR": 0.5, "R@100": 1.0}),
    # An excluded (1) trial first is a gain for nDCG but not relevant for P, RR and recall.
    ({ASTHMA: 1, DIABETES: 2, CIRRHOSIS: 0},
     {"nDCG@10": (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)), "P@10": 0.1, "RR": 0.5,
      "R@100": 1.0}),
    # Never retrieved (no shared word) but judged eligible: nothing found.
    ({ASTHMA: 0, DIABETES: 0, CIRRHOSIS: 2},
     {"nDCG@10": 0.0, "P@10": 0.0, "RR": 0.0, "R@100": 0.0}),
])
def test_pool_mode_metrics_match_hand_computed_values(tiny, tmp_path, grades, expected):
    report = _eval_json(["--topics", tiny["topics"], "--qrels", _qrels(tmp_path, grades),
                         "--records", tiny["records"]])
    assert report["mode"] == "pool"
    assert list(report["means"]) == CONFIGURATIONS
    for configuration in CONFIGURATIONS:
        assert report["means"][configuration] == pytest.approx(expected), configuration


def test_pool_mode_counts_only_judged_trials_it_has(tiny, tmp_path):
    # ABSENT is judged eligible but has no record: pool mode neither ranks nor counts it.
    qrels = _qrels(tmp_path, {DIABETES: 2, ABSENT: 2, ASTHMA: 1})
    report = _eval_json(["--topics", tiny["topics"], "--qrels", qrels,
                         "--records", tiny["records"]])
    cover = report["coverage"]
    assert (cover["judgments"], cover["judgments_available"]) == (3, 2)
    assert (cover["eligible"], cover["eligible_available"]) == (2, 1)
    assert cover["topics_evaluated"] == ["t1"]
    assert report["means"]["BM25F"]["R@100"] == 1.0


def test_full_mode_scores_against_every_judgment(tiny, tmp_path):
    # The same judgments over the whole index: the missing eligible trial halves recall.
    qrels = _qrels(tmp_path, {DIABETES: 2, ABSENT: 2})
    report = _eval_json(["--topics", tiny["topics"], "--qrels", qrels, "--index", tiny["index"]])
    assert report["mode"] == "full"
    for configuration in CONFIGURATIONS:
        assert report["means"][configuration]["R@100"] == pytest.approx(0.5)
        assert report["means"][configuration]["RR"] == pytest.approx(0.5)


def test_text_output_is_a_table_with_the_framing_notes(tiny, tmp_path):
    result = CliRunner().invoke(main, ["eval", "--topics", tiny["topics"], "--qrels",
                                       _qrels(tmp_path, {ASTHMA: 2}), "--index", tiny["index"]])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if line.startswith("configuration"))
    assert header.split()[1:] == [*MEASURES, "empty"]
    assert "SQLite FTS5 bm25" in result.stdout and "live: keyword" in result.stdout
    assert "eligible (2)" in result.stdout and "not comparable" in result.stdout


# -- hybrid ranking (the `semantic` extra is never installed for the tests) ----------------------
def test_reciprocal_rank_fusion_sums_reciprocal_ranks():
    # a: 1/61 + 1/63 edges out b: 2/62; a and c tie, and keep the order they were first seen.
    assert reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "a"]]) == ["a", "c", "b"]
    assert reciprocal_rank_fusion([["a"], ["b", "a"]]) == ["a", "b"]


class WordCountEncoder:
    """A stand-in for the sentence model: one dimension per disease word."""

    WORDS = ("asthma", "diabetes", "cirrhosis")

    def encode(self, texts):
        import numpy

        vectors = numpy.array([[text.lower().count(w) for w in self.WORDS] for text in texts],
                              dtype=float) + 1e-9
        return vectors / numpy.linalg.norm(vectors, axis=1, keepdims=True)


def test_hybrid_fuses_lexical_and_vector_rankings(tiny, tmp_path):
    # CIRRHOSIS shares no word with the topic, so BM25F never ranks it; the vector ranker ranks
    # every judged trial, and fusion puts it third: RR 1/3 where BM25F has 0.
    qrels = {"t1": {ASTHMA: 0, DIABETES: 0, CIRRHOSIS: 2}}
    report = evaluate(open_index(tiny["index"]), {"t1": TOPIC["text"]}, qrels, pool=True,
                      workdir=tmp_path, encoder=WordCountEncoder())
    assert report.means["BM25F"]["RR"] == 0.0
    assert report.means[HYBRID]["RR"] == pytest.approx(1 / 3)
    assert report.means[HYBRID]["R@100"] == 1.0


def test_hybrid_without_the_extra_says_why(tiny, tmp_path, monkeypatch):
    real = importlib.util.find_spec  # onnxruntime hidden, as on a machine without the extra
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args, **kwargs:
                        None if name.split(".")[0] == "onnxruntime" else real(name, *args, **kwargs))
    assert "onnxruntime" in missing_packages()
    result = CliRunner().invoke(main, ["eval", "--topics", tiny["topics"], "--qrels",
                                       _qrels(tmp_path, {ASTHMA: 2}), "--index", tiny["index"],
                                       "--hybrid"])
    assert result.exit_code == 2
    assert "needs the optional 'semantic' extra" in result.stderr
    assert "pip install 'trialsearch[semantic]'" in result.stderr


# -- queries from patient descriptions ----------------------------------------------------------
def test_key_terms_weight_topic_words_and_drop_narrative(tiny):
    index = open_index(tiny["index"])
    terms = key_terms(TOPIC["text"], index)
    assert terms.words[0] == "asthma"  # three mentions, and in the index
    assert "diabetes" in terms.words
    # Narrative and function words, numbers, and words the index lacks are gone.
    dropped = {"patient", "year", "old", "woman", "her", "she", "34", "night", "worsens"}
    assert not dropped & set(terms.words)
    assert terms.weights == sorted(terms.weights, reverse=True)
    assert sum(terms.weights) / len(terms.weights) == pytest.approx(1.0)


def test_fit_query_keeps_the_query_within_the_language_bounds(tiny):
    index = open_index(tiny["index"])
    too_long = KeyQuery([f"word{i}" for i in range(150)], [1.5] * 150)
    fitted = fit_query(too_long, index)
    assert 0 < len(fitted.words) < 150
    assert fitted.words == too_long.words[:len(fitted.words)]  # the lightest terms go first
    parse_query(fitted.text(), index.searcher().schema, operator="or")  # accepted as it is
    with pytest.raises(QueryError):
        parse_query(KeyQuery(too_long.words[:len(fitted.words) + 1],
                             too_long.weights[:len(fitted.words) + 1]).text(),
                    index.searcher().schema, operator="or")


# -- bad input: a clear Error, exit 2, no traceback ---------------------------------------------
def test_reading_errors_name_file_and_line(tmp_path):
    topics = _write(tmp_path / "topics.jsonl", json.dumps(TOPIC) + "\n{not json\n")
    with pytest.raises(EvalInputError, match=r"topics.jsonl line 2: .*\"_id\" and \"text\""):
        read_topics(topics)
    qrels = _write(tmp_path / "q.tsv", "query-id\tcorpus-id\tscore\nt1\tNCT90000001\teligible\n")
    with pytest.raises(EvalInputError, match=r"q.tsv line 2: expected 'query-id"):
        read_qrels(qrels)
    assert read_qrels(_qrels(tmp_path, {ASTHMA: 2})) == {"t1": {ASTHMA: 2}}


@pytest.mark.slow
@pytest.mark.parametrize("case", ["topics as qrels", "qrels for other topics", "missing file",
                                  "no index", "records and index"])
def test_bad_input_is_a_one_line_error_with_exit_2(tiny, tmp_path, case):
    qrels = _qrels(tmp_path, {ASTHMA: 2})
    args = {
        "topics as qrels": ["--topics", tiny["topics"], "--qrels", tiny["topics"],
                            "--index", tiny["index"]],
        "qrels for other topics": ["--topics", tiny["topics"], "--index", tiny["index"],
                                   "--qrels", _write(tmp_path / "other.tsv",
                                                     "query-id\tcorpus-id\tscore\nt9\tNCT1\t2\n")],
        "missing file": ["--topics", str(tmp_path / "nope.jsonl"), "--qrels", qrels],
        "no index": ["--topics", tiny["topics"], "--qrels", qrels,
                     "--index", str(tmp_path / "no_index")],
        "records and index": ["--topics", tiny["topics"], "--qrels", qrels,
                              "--records", tiny["records"], "--index", tiny["index"]],
    }[case]
    result = subprocess.run([str(TRIALSEARCH), "eval", *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    expected = {"topics as qrels": "topics.jsonl line 1: expected 'query-id",
                "qrels for other topics": "judge none of the topics",
                "missing file": "nope.jsonl", "no index": "no index at",
                "records and index": "not both"}[case]
    assert expected in result.stderr


# -- the real shared data -----------------------------------------------------------------------
@pytest.mark.slow
def test_real_trec_2022_pool_gives_sane_metrics(shared_data):
    # The 100-trial TREC 2022 corpus sample and the legacy XML records: judged for TREC 2022.
    trec = shared_data / "trec_ct"
    report = _eval_json([
        "--topics", str(trec / "trec_2022" / "queries.jsonl"),
        "--qrels", str(trec / "trec_2022" / "qrels.tsv"),
        "--records", str(trec / "trec_2022_corpus_sample.jsonl"),
        "--records", str(shared_data / "ctgov" / "legacy_xml"),
    ])
    cover = report["coverage"]
    assert cover["judgments"] == 24_519 and cover["topics"] == 34
    assert 0 < cover["eligible_available"] <= cover["judgments_available"] < cover["judgments"]
    assert len(cover["topics_evaluated"]) >= 5
    for configuration in CONFIGURATIONS:
        means = report["means"][configuration]
        assert all(0.0 <= value <= 1.0 for value in means.values())
        # Every judged trial shares words with its topic, and the eligible ones come early.
        assert means["nDCG@10"] > 0.5 and means["RR"] > 0.5
    assert 5 <= report["mean_query_terms"] <= 30


def test_feedback_adds_the_vocabulary_of_the_top_studies(built_index):
    index = open_index(built_index)
    query = key_terms("A man with decompensated cirrhosis of the liver and ascites", index)
    top = [hit.nct_id for hit in index.search(query.text(), operator="or", per_page=5).hits]
    expanded = feedback_query(query, index, top)
    added = expanded.words[len(query.words):]
    assert 0 < len(added) <= FEEDBACK_TERMS
    assert not set(analyze(" ".join(added))) & set(analyze(" ".join(query.words)))
    assert max(expanded.weights[len(query.words):]) == pytest.approx(FEEDBACK_WEIGHT)
    assert feedback_query(query, index, []) == query  # nothing to learn from: unchanged


# -- whole index, judged in index; short typed queries ---------------------------------------------
def test_judged_in_index_scores_only_the_judgments_the_index_holds(tiny, tmp_path):
    # The whole index ranks ASTHMA (unjudged: not relevant), then DIABETES (eligible). ABSENT
    # is judged eligible but not in the index: full mode counts it, this mode does not.
    qrels = _qrels(tmp_path, {DIABETES: 2, ABSENT: 2})
    args = ["--topics", tiny["topics"], "--qrels", qrels, "--index", tiny["index"]]
    full = _eval_json(args)
    report = _eval_json([*args, "--judged-in-index"])
    assert report["mode"] == "index" and report["queries"] == "long"
    assert (report["coverage"]["judgments"], report["coverage"]["judgments_available"]) == (2, 1)
    for configuration in CONFIGURATIONS:
        assert full["means"][configuration]["R@100"] == pytest.approx(0.5)
        assert report["means"][configuration]["R@100"] == pytest.approx(1.0)
        assert report["means"][configuration]["RR"] == pytest.approx(0.5)  # unjudged ASTHMA first
    result = CliRunner().invoke(main, ["eval", *args, "--judged-in-index", "--pool"])
    assert result.exit_code == 2 and "does not combine" in result.output


def _id2queries(path: Path, entries: dict) -> str:
    return _write(path, json.dumps({topic: {"raw": "...", "gpt-4-turbo": {
        "summary": "...", "conditions": conditions}} for topic, conditions in entries.items()}))


def test_short_queries_run_live_and_count_zero_results_and_skips(tiny, tmp_path):
    topics = _write(tmp_path / "topics3.jsonl", "".join(
        json.dumps({"_id": t, "text": TOPIC["text"]}) + "\n" for t in ("t1", "t2", "t3")))
    qrels = _write(tmp_path / "q3.tsv", "query-id\tcorpus-id\tscore\n" + "".join(
        f"{t}\t{ASTHMA}\t2\n" for t in ("t1", "t2", "t3")))
    # t1 types two conditions the index holds; t2's first two match nothing (its third would
    # match, but only the first two are the query); t3 has no short query.
    short = _id2queries(tmp_path / "id2queries.json", {
        "t1": ["Severe asthma", "Wheezing", "Cirrhosis"],
        "t2": ["Porphyria", "Sarcoidosis", "Asthma"],
    })
    args = ["--topics", topics, "--qrels", qrels, "--index", tiny["index"], "--judged-in-index",
            "--short", short]
    report = _eval_json(args)
    assert report["queries"] == "short" and report["mode"] == "index"
    assert report["short_queries"] == {"t1": "Severe asthma Wheezing", "t2": "Porphyria Sarcoidosis"}
    live = live_row("keyword")
    assert report["short_skipped"] == ["t3"] and report["zero_results"] == {live: ["t2"]}
    assert list(report["means"]) == [live]
    assert report["per_topic"][live]["t1"]["RR"] == 1.0
    assert report["per_topic"][live]["t2"] == dict.fromkeys(MEASURES, 0.0)
    text = CliRunner().invoke(main, ["eval", *args]).stdout
    assert "2 topics scored, 1 skipped without a short query" in text
    row = next(line for line in text.splitlines() if line.startswith(live))
    assert row.split()[-1] == "1"  # the "empty" column: t2 found nothing


def test_short_queries_go_through_the_forgiving_and(tiny, tmp_path):
    # "asthma metformin": no study holds both; the live search loosens to studies holding some.
    index = open_index(tiny["index"])
    assert live_ranker(index)("asthma metformin", None)[:2] in ([ASTHMA, DIABETES],
                                                                 [DIABETES, ASTHMA])
    assert live_ranker(index)("asthma metformin", {DIABETES}) == [DIABETES]


@pytest.mark.parametrize("content, message", [
    ("{not json", r"bad\.json line 1: not JSON .*TrialGPT id2queries\.json"),
    ("[1, 2]", r"bad\.json: expected a JSON object of topic id"),
    ('{"t1": "asthma"}', r"bad\.json: topic 't1': expected"),
    ('{"t1": {"gpt-4-turbo": {"conditions": "asthma"}}}', r"bad\.json: topic 't1': .*\"conditions\""),
])
def test_malformed_id2queries_is_an_error_naming_the_file(tmp_path, content, message):
    with pytest.raises(EvalInputError, match=message):
        read_short_queries(_write(tmp_path / "bad.json", content))


def test_missing_or_malformed_id2queries_on_the_command_line(tiny, tmp_path):
    base = ["eval", "--topics", tiny["topics"], "--qrels", _qrels(tmp_path, {ASTHMA: 2}),
            "--index", tiny["index"], "--short"]
    missing = CliRunner().invoke(main, [*base, str(tmp_path / "nowhere.json")])
    assert missing.exit_code == 2 and "nowhere.json" in missing.output
    with pytest.raises(EvalInputError, match="cannot read .*nowhere.json"):
        read_short_queries(tmp_path / "nowhere.json")
    malformed = CliRunner().invoke(main, [*base, _write(tmp_path / "id2q.json", "[]")])
    assert malformed.exit_code == 2
    assert "Error:" in malformed.output and "id2q.json" in malformed.output
