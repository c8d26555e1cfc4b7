"""A fresh process, as a server worker starts: load the vectors (`VectorCache.refresh`), line
them up with the documents, load the query encoder, each with its time and memory; then the
exact dense scan alone (`DenseView.nearest`), and a warmed worker's first hybrid search.
`run_probe` runs `probe` in a child process of its own, so its memory is the probe's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..measure import percentile, summarize
from ..queries import MIX
from .latency import plain_words
from .vectors import VECTOR_SEED

REPO = Path(__file__).resolve().parents[2]  # where `python -m benchmarks.semantic` runs
FILTER_SHARE = 0.13  # the share of studies a filtered scan keeps (as dense.py's docstring)
SCAN_ROUNDS = 15


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    """This process's resident memory (MB)."""
    return _status_mb("VmRSS")


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; whether the kernel allowed it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def probe(root: Path, rounds: int) -> dict:
    """In this (fresh) process: open the index at `root` if it has one, load its vectors
    (`VectorCache.refresh`) and line them up with the documents (`DenseView`), load the query
    encoder, then time `DenseView.nearest` for real query vectors: hybrid's depth without and
    with a filter, and semantic's (every match, sorted). Memory is VmRSS growth; peak is
    VmHWM over the RSS before (the kernel's peak is reset first)."""
    from indexer.index.layout import generation_path
    from indexer.search.dense import MIN_SIMILARITY, DenseView, VectorCache
    from indexer.search.live import SearchIndex
    from indexer.search.plan import FUSION_DEPTH
    from indexer.semantic.encoder import SentenceEncoder

    out: dict = {}
    index = None
    if generation_path(root) is not None:
        started, before = time.perf_counter(), rss_mb()
        index = SearchIndex(root)
        snap = index.snapshot()
        out["open_index"] = {"seconds": round(time.perf_counter() - started, 2),
                             "rss_growth_mb": round(rss_mb() - before, 1)}
    cache = VectorCache(root)
    peak_reset = reset_peak()
    before = rss_mb()
    started = time.perf_counter()
    cache.refresh()
    seconds = time.perf_counter() - started
    after = rss_mb()
    out["load_vectors"] = {
        "vectors": cache.size, "dims": int(cache.matrix.shape[1]), "seconds": round(seconds, 2),
        "matrix_mb": round(cache.size * cache.matrix.shape[1] * 4 / 1024 ** 2, 1),
        "allocated_mb": round(cache.matrix.nbytes / 1024 ** 2, 1),
        "rss_growth_mb": round(after - before, 1),
        "peak_growth_mb": round(_status_mb("VmHWM") - before, 1) if peak_reset else None,
        "model": cache.model}
    started, before = time.perf_counter(), rss_mb()
    if index is not None:
        nct_ids, live = snap.nct_ids(), snap.scorer.live
    else:
        nct_ids = list(cache.row_of)  # in row order
        live = np.ones(len(nct_ids), dtype=bool)
    ids_seconds = time.perf_counter() - started
    view = DenseView(cache, nct_ids, live)
    view.sync()
    out["view"] = {"seconds": round(time.perf_counter() - started, 2), "covered": view.covered,
                   "nct_ids_seconds": round(ids_seconds, 2) if index is not None else None,
                   "rss_growth_mb": round(rss_mb() - before, 1)}
    started, before = time.perf_counter(), rss_mb()
    encoder = SentenceEncoder(threads=1)
    queries = [c.app_text() for c in MIX if plain_words(c)]
    vectors = encoder.encode(queries)
    out["encoder"] = {"seconds": round(time.perf_counter() - started, 2),
                      "rss_growth_mb": round(rss_mb() - before, 1)}
    mask = np.random.default_rng(VECTOR_SEED).random(len(nct_ids)) < FILTER_SHARE
    variants = {"hybrid depth, no filter": (None, FUSION_DEPTH),
                f"hybrid depth, {FILTER_SHARE:.0%} filter": (mask, FUSION_DEPTH),
                "semantic (every match, sorted)": (None, None)}
    out["scan"] = {"rounds": rounds, "min_similarity": MIN_SIMILARITY, "variants": {}}
    for name, (allowed, depth) in variants.items():
        samples, matches = [], []
        for vector in vectors:
            found, _ = view.nearest(vector, allowed, None)
            matches.append(len(found))
            view.nearest(vector, allowed, depth)  # warm-up
            for _ in range(rounds):
                started = time.perf_counter()
                view.nearest(vector, allowed, depth)
                samples.append((time.perf_counter() - started) * 1000)
        out["scan"]["variants"][name] = {**summarize(samples), "depth": depth,
                                         "matches_p50": percentile(matches, 50),
                                         "matches_max": max(matches)}
    out["scan"]["queries"] = queries
    out["rss_mb"] = round(rss_mb(), 1)
    out["blas_threads"] = blas_threads()
    cache.close()
    if index is not None:
        # A server worker's first hybrid search, on an index handle of its own (nothing above
        # is reused but the OS's file cache): warmed as `trialsearch serve` warms, its words
        # already read by a keyword search, it loads the vectors, reads every NCT ID, lines
        # them up, loads the encoder and encodes the query.
        index.close()
        index = SearchIndex(root)
        index.warm()
        index.search("covid", mode="keyword")
        started = time.perf_counter()
        index.search("covid", mode="keyword")
        keyword_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        first = index.search("covid", mode="hybrid")
        out["first_hybrid"] = {"query": "covid", "mode": first.mode,
                               "ms": round((time.perf_counter() - started) * 1000, 1),
                               "keyword_ms": round(keyword_ms, 1)}
        index.close()
    return out


def blas_threads() -> int:
    """The threads OpenBLAS uses in this process (OPENBLAS_NUM_THREADS, else one per core)."""
    return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)


def run_probe(root: Path, rounds: int, blas_threads: int | None = None) -> dict:
    """`probe(root)` in a child process of its own (so its memory is the probe's alone);
    `blas_threads` caps OpenBLAS's threads there (default: one per core, as a server has)."""
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    if blas_threads:
        env.update(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(blas_threads))
    done = subprocess.run([sys.executable, "-m", "benchmarks.semantic", "--probe", str(root),
                           "--probe-rounds", str(rounds)],
                          capture_output=True, text=True, env=env, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"probe of {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
