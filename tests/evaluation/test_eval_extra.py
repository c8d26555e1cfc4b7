"""ir-measures is the `eval` extra: without it, scoring says how to install it."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.errors import TrialsearchError
from indexer.evaluation.measures import score_run


def test_scoring_without_ir_measures_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ir_measures", None)  # `import ir_measures` now fails
    with pytest.raises(TrialsearchError, match=r"pip install 'trialsearch\[eval\]'"):
        score_run({"t": {"NCT00000001": 2}}, {"t": ["NCT00000001"]})


def test_scoring_with_ir_measures_gives_trec_measures():
    scores = score_run({"t": {"NCT00000001": 2, "NCT00000002": 0}},
                       {"t": ["NCT00000002", "NCT00000001"]})
    assert scores["t"]["RR"] == 0.5 and scores["t"]["R@100"] == 1.0


def test_eval_without_ir_measures_stops_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ir_measures", None)
    topics = tmp_path / "queries.jsonl"
    topics.write_text('{"_id": "t1", "text": "asthma"}\n', encoding="utf-8")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nt1\tNCT00000001\t2\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["eval", "--topics", str(topics), "--qrels", str(qrels),
                                       "--records", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'trialsearch[eval]'" in result.output
