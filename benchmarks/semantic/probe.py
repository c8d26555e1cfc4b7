"""A fresh process, as a server worker starts: map the shared vectors (`VectorCache.refresh`),
line them up with the documents, load the query encoder, each with its time and memory
(RSS, and USS: what the process holds privately); then the nearest-neighbour search alone
(`DenseView.nearest`) under each filter case, with its recall@100 against the exact float32
scan, and a warmed worker's first hybrid search. `run_probe` runs `probe` in a child process
of its own, so its memory is the probe's alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..measure import percentile, summarize
from ..queries import FILTER_CASES, MIX
from .latency import plain_words
from .vectors import VECTOR_SEED

REPO = Path(__file__).resolve().parents[2]  # where `python -m benchmarks.semantic` runs
FILTER_SHARE = 0.13  # the share of studies a filtered scan keeps (as dense.py's docstring)
SCAN_ROUNDS = 15
MASKS_FILE = "filter-masks.npz"  # an index scale's filter cases, for the scans without one


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


def anon_mb() -> float:
    """This process's anonymous resident memory (MB): none of it a mapped file's pages."""
    return _status_mb("RssAnon")


def uss_mb() -> float:
    """This process's private memory (MB): what it holds that no other process shares."""
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        return sum(int(line.split()[1]) for line in rollup
                   if line.startswith(("Private_Clean:", "Private_Dirty:"))) / 1024


def filter_masks(snap) -> dict[str, np.ndarray]:
    """The document mask of each filter case of the suite (the mix's status filters and
    FILTER_CASES), by its description."""
    from indexer.search.filters import parse_filters

    masks = {}
    for case in (*MIX, *FILTER_CASES):
        if case.app_filters():
            restriction = parse_filters(case.app_filters())
            masks[case.describe()] = snap.docsets.filter(restriction)[1].copy()
    return masks


def tiled(masks: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """Each mask repeated to `size` documents (a larger corpus with the same filter shares)."""
    return {name: np.resize(mask, size) for name, mask in masks.items()}


def probe(root: Path, rounds: int) -> dict:
    """In this (fresh) process: open the index at `root` if it has one, map its shared vectors
    (`VectorCache.refresh`) and line them up with the documents (`DenseView`), load the query
    encoder, then time `DenseView.nearest` for real query vectors: hybrid's depth without and
    with a filter, semantic's (every match, sorted), and hybrid's depth under each filter case
    of the suite, with its recall@100 against the exact float32 scan. Memory is growth over
    the process before the vectors: RSS (shared pages of the mapped file included) and USS
    (private), after loading and after the scans."""
    from indexer.index.layout import generation_path
    from indexer.search.dense import MIN_SIMILARITY, DenseView, VectorCache
    from indexer.search.live import SearchIndex
    from indexer.search.plan import FUSION_DEPTH
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.matrix import nct_id_of

    out: dict = {}
    index = None
    masks_file = root / MASKS_FILE
    if generation_path(root) is not None:
        started, before = time.perf_counter(), rss_mb()
        index = SearchIndex(root)
        snap = index.snapshot()
        out["open_index"] = {"seconds": round(time.perf_counter() - started, 2),
                             "rss_growth_mb": round(rss_mb() - before, 1)}
    cache = VectorCache(root)
    before, private, anon = rss_mb(), uss_mb(), anon_mb()
    started = time.perf_counter()
    cache.refresh()
    seconds = time.perf_counter() - started
    dims = cache.set.dimensions
    out["load_vectors"] = {
        "vectors": cache.size, "dims": dims, "seconds": round(seconds, 2),
        "matrix_mb": round(cache.size * dims * 2 / 1024 ** 2, 1),
        "index_lists": cache.nearest.lists if cache.nearest is not None else None,
        "rss_growth_mb": round(rss_mb() - before, 1), "uss_growth_mb": round(uss_mb() - private, 1),
        "anon_growth_mb": round(anon_mb() - anon, 1), "model": cache.model}
    started, before_ids, before_ids_anon = time.perf_counter(), uss_mb(), anon_mb()
    if index is not None:
        nct_ids, live = snap.nct_ids(), snap.scorer.live
        masks = filter_masks(snap)
        np.savez_compressed(masks_file, **masks)
    else:
        nct_ids = [nct_id_of(int(n)) for n in cache.set.ids]  # in row order
        live = np.ones(len(nct_ids), dtype=bool)
        masks = tiled(dict(np.load(masks_file)), len(nct_ids)) if masks_file.exists() else {}
    ids_seconds, ids_uss = time.perf_counter() - started, uss_mb() - before_ids
    ids_anon = anon_mb() - before_ids_anon
    view = DenseView(cache, nct_ids, live)
    view.sync()
    out["view"] = {"seconds": round(time.perf_counter() - started, 2), "covered": view.covered,
                   "nct_ids_seconds": round(ids_seconds, 2) if index is not None else None,
                   # the NCT IDs as strings: the index's (a worker holds them anyway), or
                   # made here from the rows when there is no index
                   "nct_ids_uss_mb": round(ids_uss, 1), "nct_ids_anon_mb": round(ids_anon, 1),
                   "rss_growth_mb": round(rss_mb() - before, 1),
                   "uss_growth_mb": round(uss_mb() - private, 1),
                   "anon_growth_mb": round(anon_mb() - anon, 1)}
    started, encoder_rss = time.perf_counter(), rss_mb()
    encoder = SentenceEncoder(threads=1)
    queries = [c.app_text() for c in MIX if plain_words(c)]
    vectors = encoder.encode(queries)
    out["encoder"] = {"seconds": round(time.perf_counter() - started, 2),
                      "rss_growth_mb": round(rss_mb() - encoder_rss, 1)}
    encoder_uss = uss_mb() - private - out["view"]["uss_growth_mb"]
    encoder_anon = anon_mb() - anon - out["view"]["anon_growth_mb"]
    random_mask = np.random.default_rng(VECTOR_SEED).random(len(nct_ids)) < FILTER_SHARE
    variants = {"hybrid depth, no filter": (None, FUSION_DEPTH),
                f"hybrid depth, {FILTER_SHARE:.0%} random filter": (random_mask, FUSION_DEPTH),
                "semantic (every match, sorted)": (None, None),
                **{f"hybrid depth, {name}": (mask, FUSION_DEPTH) for name, mask in masks.items()}}
    out["scan"] = {"rounds": rounds, "min_similarity": MIN_SIMILARITY, "variants": {}}
    found_by: dict[str, list[np.ndarray]] = {}
    for name, (allowed, depth) in variants.items():
        samples, cpu_ms, matches = [], [], []
        for vector in vectors:
            found, _ = view.nearest(vector, allowed, None)
            matches.append(len(found))
            got, _ = view.nearest(vector, allowed, depth, None)  # warm-up, and the recall
            found_by.setdefault(name, []).append(got)
            for _ in range(rounds):
                started, cpu = time.perf_counter(), time.process_time()
                view.nearest(vector, allowed, depth)
                samples.append((time.perf_counter() - started) * 1000)
                cpu_ms.append((time.process_time() - cpu) * 1000)
        allowed_live = live if allowed is None else allowed & live
        share = np.count_nonzero(allowed_live) / max(1, np.count_nonzero(live))
        out["scan"]["variants"][name] = {**summarize(samples), "depth": depth, "share": round(share, 4),
                                         "matches_p50": percentile(matches, 50),
                                         "matches_max": max(matches),
                                         "cpu_p50_ms": round(percentile(cpu_ms, 50), 2),
                                         "cpu_p95_ms": round(percentile(cpu_ms, 95), 2)}
    out["scan"]["queries"] = queries
    out["rss_mb"] = round(rss_mb(), 1)
    # What the vectors cost this process once searched, the encoder's own memory left out. The
    # mapped rows and index count in RSS, and in USS too while no other process maps them;
    # anonymous memory (RssAnon) is what another worker, sharing the mapped files, adds.
    out["after_scans"] = {"rss_growth_mb": round(rss_mb() - before - out["encoder"]["rss_growth_mb"], 1),
                          "uss_growth_mb": round(uss_mb() - private - encoder_uss, 1),
                          "anon_growth_mb": round(anon_mb() - anon - encoder_anon, 1)}
    out["blas_threads"] = blas_threads()
    # recall@depth against the exact float32 scan, once memory is measured (the scan's matrix
    # is this process's own, as large as the float32 vectors)
    truth = _Exact(root, view, nct_ids)
    for name, (allowed, depth) in variants.items():
        if depth is not None:
            recalls = [truth.recall(vector, allowed, depth, got)
                       for vector, got in zip(vectors, found_by[name])]
            out["scan"]["variants"][name].update(recall_mean=round(float(np.mean(recalls)), 4),
                                                 recall_min=round(float(np.min(recalls)), 4))
    truth.close()
    cache.close()
    if index is not None:
        # A server worker's first hybrid search, on an index handle of its own (nothing above
        # is reused but the OS's file cache): warmed as `trialsearch serve` warms, its words
        # already read by a keyword search, it maps the vectors, reads every NCT ID, lines
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


class _Exact:
    """The exact float32 scan (the filler's stored vectors) that recall is measured against."""

    def __init__(self, root: Path, view, nct_ids: list[str | None]) -> None:
        from indexer.semantic.store import VectorStore

        docnum = {nct_id: n for n, nct_id in enumerate(nct_ids) if nct_id is not None}
        self.matrix = np.zeros((len(nct_ids), 0), np.float32)
        self.have = np.zeros(len(nct_ids), bool)
        store = VectorStore(root, readonly=True)
        try:
            for _, ids, rows in store.rows_since(0):
                if not self.matrix.shape[1]:
                    self.matrix = np.zeros((len(nct_ids), rows.shape[1]), np.float32)
                at = [docnum.get(n, -1) for n in ids]
                keep = np.array(at) >= 0
                self.matrix[np.array(at)[keep]] = rows[keep]
                self.have[np.array(at)[keep]] = True
        finally:
            store.close()
        self.have &= view.rows >= 0

    def recall(self, vector: np.ndarray, allowed: np.ndarray | None, depth: int, got: np.ndarray) -> float:
        """recall@depth of `got` against the exact scan's `depth` nearest allowed documents."""
        scores = self.matrix @ vector
        ok = self.have if allowed is None else self.have & allowed
        scores[~ok] = -np.inf
        best = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth]
        best = best[np.isfinite(scores[best])]
        if not len(best):  # the filter allows none: nothing to find, nothing missed
            return 1.0
        return len(set(best.tolist()) & set(got.tolist())) / len(best)

    def close(self) -> None:
        self.matrix = np.zeros((0, 0), np.float32)


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
