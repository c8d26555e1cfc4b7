"""The benchmark suite: the corpus generator's determinism and realism, and `--quick` end to
end (a fresh 10k build per engine, the query mix, the regression check against
benchmarks/baseline.json)."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT

from benchmarks import peers
from benchmarks.generate import Generator, corpus_files, field_mix, fit, update_file, write_jsonl
from benchmarks.measure import Settings, build, update
from benchmarks.queries import MIX
from benchmarks.report import ENGINE_ORDER
from indexer.model import Study
from indexer.readers import read_sources

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

QUICK_TIMEOUT = 900  # seconds; the quick mode takes about 2 minutes on 2 idle cores


@pytest.fixture(scope="module")
def model(shared_data):
    """The corpus model learned from ../shared/data."""
    return fit([shared_data])


def test_generator_is_deterministic_and_ids_are_unique(model):
    first = list(Generator(model, seed=1).shard(0, size=50))
    assert first == list(Generator(model, seed=1).shard(0, size=50))
    assert first != list(Generator(model, seed=2).shard(0, size=50))
    second = list(Generator(model, seed=1).shard(1, size=50))
    ids = [r["protocolSection"]["identificationModule"]["nctId"] for r in first + second]
    assert len(set(ids)) == 100
    # Upsert variants keep the IDs and change the content.
    variant = list(Generator(model, seed=1).shard(0, size=50, variant=1))
    assert [r["protocolSection"]["identificationModule"]["nctId"] for r in variant] == ids[:50]
    assert variant != first


def test_generated_studies_read_back_with_a_realistic_field_mix(model, shared_data, tmp_path):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(Generator(model).shard(0, size=600), path)
    items = list(read_sources([path]))
    assert all(isinstance(item, Study) for item in items) and len(items) == 600
    mix = field_mix(items)
    for name in ("brief_summary", "detailed_description", "eligibility_criteria", "keywords",
                 "interventions", "collaborators"):
        assert mix[name] == pytest.approx(model.shapes[name].present, abs=0.08), name
    # Lengths follow the real records: mean summary and eligibility within 25%.
    real = [s for s in read_sources([shared_data]) if isinstance(s, Study)
            and s.source_format != "tsv"]
    for name in ("brief_summary", "eligibility_criteria"):
        generated_mean = statistics.mean(len(getattr(s, name).split()) for s in items if getattr(s, name))
        real_mean = statistics.mean(len(getattr(s, name).split()) for s in real if getattr(s, name))
        assert generated_mean == pytest.approx(real_mean, rel=0.25), name
    assert {s.status for s in items} >= {"RECRUITING", "COMPLETED"}


@pytest.mark.timeout(QUICK_TIMEOUT + 60)
def test_quick_mode_passes_and_writes_the_table(shared_data, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=QUICK_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    assert "| 10,000 studies |" in table and "query p95 (ms)" in table
    assert "SQLite FTS5" in table
    (result,) = json.loads((tmp_path / "results.json").read_text())
    assert result["engines"]["whoosh"]["build"]["docs"] == 10_000
    assert result["engines"]["fts5"]["latency"]["p95_ms"] > 0


def test_update_is_measured_through_a_session_left_open(shared_data, tmp_path):
    """Each engine upserts into its built index while a session stays open, then that session
    runs the query mix once more: the first run after an update, as a server meets it."""
    files = corpus_files([shared_data], 300, tmp_path)
    changes = update_file([shared_data], 40, tmp_path)
    for name in ENGINE_ORDER:
        if peers.load(name).available():
            continue
        index_dir, cost = build(name, files, 300, Settings(cache=tmp_path))
        assert cost["docs"] == 300, name
        updated = update(name, index_dir, changes)
        assert updated["docs"] == 40 and updated["seconds"] > 0, name
        assert updated["after"]["n"] == len(MIX) and updated["after"]["p95_ms"] > 0, name
