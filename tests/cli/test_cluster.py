"""Past one machine: `trialsearch vectors --cluster` and `build --cluster` on a real Dask
cluster (a `dask scheduler` and two `dask worker` processes on 127.0.0.1), against the same
work done on this machine's cores; and what `--cluster` says when it cannot be used.

The vectors come out bit for bit the same (each chunk of texts is encoded alone, by a
one-thread encoder, wherever it runs); the index built through the cluster answers every
search as the one built here does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from live import free_port

from indexer import open_index
from indexer.semantic import missing_packages
from indexer.semantic.store import VectorStore

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    shutil.which("dask", path=str(Path(sys.executable).parent)) is None or bool(missing_packages()),
    reason="needs the 'cluster' and 'semantic' extras: pip install 'trialsearch[cluster,semantic]'")]
TRIALSEARCH = [sys.executable, "-m", "indexer.cli"]
QUERIES = ("exosomes", "stem cell therapy", "title:covid", "knee", "diabetes OR asthma")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two one-thread workers on 127.0.0.1; its address."""
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path_factory.mktemp("dask")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], stdout=subprocess.DEVNULL,
                                  stderr=open(logs / "scheduler.log", "w"))]  # noqa: SIM115
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                    "--name", f"w{n}", "--local-directory", str(logs / f"w{n}")],
                                   stdout=subprocess.DEVNULL,
                                   stderr=open(logs / f"worker{n}.log", "w"))  # noqa: SIM115
                  for n in range(2)]
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([*TRIALSEARCH, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def stored(path: Path) -> dict[str, np.ndarray]:
    store = VectorStore(path, readonly=True)
    try:
        return {nct_id: vector for _, ids, rows in store.rows_since(0) for nct_id, vector in zip(ids, rows)}
    finally:
        store.close()


def test_vectors_on_a_cluster_are_those_computed_here(cluster, built_index, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    shutil.copytree(built_index, here)
    shutil.copytree(built_index, there)
    run("vectors", "--index", str(here), "--procs", "2", "--quiet")
    done = run("vectors", "--index", str(there), "--cluster", cluster)
    assert f"encoding in the Dask cluster at {cluster} (2 worker threads)" in done.stderr
    ours, theirs = stored(here), stored(there)
    assert ours.keys() == theirs.keys() and len(ours) > 30
    assert all(np.array_equal(ours[n], theirs[n]) for n in ours)
    for query in ("hyperglycaemia", "stem cells for lung injury"):
        assert ([h.nct_id for h in open_index(here).search(query, mode="semantic").hits] ==
                [h.nct_id for h in open_index(there).search(query, mode="semantic").hits])


def test_a_build_on_a_cluster_answers_as_one_built_here(cluster, corpus_dir, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    run("build", str(corpus_dir), "--index", str(here), "--procs", "2", "--quiet", "--no-vectors")
    run("build", str(corpus_dir), "--index", str(there), "--cluster", cluster, "--quiet",
        "--no-vectors")
    ours, theirs = open_index(here), open_index(there)
    assert ours.stats()["documents"] == theirs.stats()["documents"] > 30
    for query in QUERIES:
        a, b = ours.search(query, per_page=100), theirs.search(query, per_page=100)
        assert a.total == b.total and [(h.nct_id, h.score) for h in a.hits] == [
            (h.nct_id, h.score) for h in b.hits], query


def test_a_cluster_that_does_not_answer_is_named(built_index, tmp_path):
    path = tmp_path / "index"
    shutil.copytree(built_index, path)
    started = time.monotonic()
    done = subprocess.run([*TRIALSEARCH, "vectors", "--index", str(path), "--cluster",
                           f"tcp://127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and time.monotonic() - started < 90
    assert "Error: no Dask scheduler answers at tcp://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
