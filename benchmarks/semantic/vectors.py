"""The vectors each scale searches: a folder per scale reading the suite's cached index with a
vectors file of its own (`view_folder`), the real fill, timed (`fill_real`), and the synthetic
vectors of larger scales, resampled from a real pool with seeded noise (`fill_synthetic`)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from pathlib import Path

import numpy as np

VECTOR_SEED = 11  # synthetic vectors: which real vector each study borrows, and its noise
NOISE = 0.2  # norm of the noise added to a borrowed unit vector, before renormalising


def view_folder(index_dir: Path, folder: Path) -> Path:
    """`folder` made an index folder that reads `index_dir`'s live generation (a symlink and a
    copy of CURRENT) and keeps a vectors file of its own; returns it."""
    from indexer.index.layout import CURRENT_FILE, require_generation

    generation = require_generation(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("gen-*"):
        if old.is_symlink() and old.name != generation.name:
            old.unlink()
    link = folder / generation.name
    if not link.is_symlink():
        link.symlink_to(generation.resolve(), target_is_directory=True)
    current = folder / CURRENT_FILE
    if not current.exists() or current.read_text() != generation.name + "\n":
        current.write_text(generation.name + "\n")
    return folder


def fill_real(root: Path, refill: bool) -> dict:
    """Encode every study of the index at `root` (`fill_vectors`, every core), timed; a fill
    recorded before in fill.json is reused unless `refill` (fill_vectors would find nothing
    left to encode)."""
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.fill import fill_vectors
    from indexer.semantic.parallel import local_encoder

    record, marker = root / "fill.json", root / "vectors.json"
    if refill:
        _remove_vectors(root)
        record.unlink(missing_ok=True)
    if record.exists() and json.loads(marker.read_text() if marker.exists() else "{}").get("kind") == "real":
        topped_up = fill_vectors(root, SentenceEncoder()).encoded  # usually nothing left
        return {**json.loads(record.read_text()), "reused": True, "topped_up": topped_up}
    _remove_vectors(root)  # synthetic ones, or a fill that was stopped
    marker.unlink(missing_ok=True)
    # As `trialsearch vectors` runs: a one-thread encoder process per core.
    encoder = local_encoder(SentenceEncoder(threads=1))
    load_before = round(os.getloadavg()[0], 2)
    started, cpu_started = time.perf_counter(), _cpu()
    try:
        report = fill_vectors(root, encoder)
    finally:
        encoder.close()  # its processes' CPU time is counted once they are reaped
    wall, cpu = time.perf_counter() - started, _cpu() - cpu_started
    cost = {"studies": report.studies, "encoded": report.encoded, "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "processes": os.cpu_count(),
            "studies_per_s": round(report.encoded / wall, 1) if report.encoded else None,
            "studies_per_cpu_s": round(report.encoded / cpu, 1) if report.encoded else None,
            "load_avg": [load_before, round(os.getloadavg()[0], 2)]}
    record.write_text(json.dumps(cost))
    marker.write_text(json.dumps({"kind": "real"}))
    return cost


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the encoder processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _remove_vectors(root: Path) -> None:
    """Delete the vectors stored at `root`: the filler's record and the shared matrix."""
    for name in ("vectors.sqlite3", "vectors.sqlite3-wal", "vectors.sqlite3-shm"):
        (root / name).unlink(missing_ok=True)
    shutil.rmtree(root / "vectors", ignore_errors=True)


def mirrored(root: Path) -> dict:
    """Write the shared matrix searches map (and its index) from the vectors stored at
    `root`, unless it is there; what that took."""
    from indexer.semantic.matrix import current_set
    from indexer.semantic.mirror import Mirror
    from indexer.semantic.store import VectorStore

    if current_set(root) is not None:
        return {"reused": True}
    started = time.perf_counter()
    store = VectorStore(root)
    mirror = Mirror(root, store, say=lambda message: print(f"  {message}", flush=True))
    try:
        rows = mirror.open()
        mirror.index(final=True)
        lists = mirror.nearest.lists if mirror.nearest is not None else None
    finally:
        mirror.close()
        store.close()
    return {"rows": rows, "index_lists": lists, "seconds": round(time.perf_counter() - started, 1)}


def pool_of(root: Path) -> np.ndarray:
    """Every vector stored at `root`, as one matrix."""
    from indexer.semantic.store import VectorStore

    store = VectorStore(root, readonly=True)
    try:
        parts = [vectors for _, _, vectors in store.rows_since(0)]
    finally:
        store.close()
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def synthetic(pool: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` unit vectors, each a random row of `pool` plus Gaussian noise of norm about
    NOISE, renormalised (random normal unit vectors when the pool is empty)."""
    dims = pool.shape[1] if pool.size else 384
    noise = rng.standard_normal((count, dims), dtype=np.float32) * np.float32(NOISE / np.sqrt(dims))
    if pool.size:
        noise += pool[rng.integers(0, len(pool), count)]
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return noise


def fill_synthetic(root: Path, nct_ids: list[str], pool: np.ndarray, pool_name: str, model: str,
                   chunk: int = 20_000) -> dict:
    """Store synthetic vectors (see `synthetic`) for `nct_ids` at `root` under `model`,
    unless the same were stored before (vectors.json says which); returns what was stored."""
    from indexer.semantic.contract import text_hash
    from indexer.semantic.store import VectorStore

    wanted = {"kind": "synthetic", "pool": pool_name, "pool_size": len(pool), "noise": NOISE,
              "seed": VECTOR_SEED, "count": len(nct_ids), "model": model}
    marker = root / "vectors.json"
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return {**wanted, "reused": True, "shared": mirrored(root)}
    marker.unlink(missing_ok=True)
    _remove_vectors(root)
    (root / "fill.json").unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(VECTOR_SEED)
    started = time.perf_counter()
    store = VectorStore(root)
    try:
        store.use_model(model, pool.shape[1] if pool.size else 384)
        digest = text_hash("synthetic")
        for start in range(0, len(nct_ids), chunk):
            ids = nct_ids[start:start + chunk]
            store.put(zip(ids, [digest] * len(ids), synthetic(pool, len(ids), rng)))
    finally:
        store.close()
    seconds = round(time.perf_counter() - started, 1)
    shared = mirrored(root)
    marker.write_text(json.dumps(wanted))
    return {**wanted, "seconds": seconds, "shared": shared}


def index_ids(root: Path) -> list[str]:
    """The NCT IDs of the live documents of the index at `root`."""
    from indexer.search.live import SearchIndex

    index = SearchIndex(root)
    try:
        snap = index.snapshot()
        return [nct_id for nct_id, live in zip(snap.nct_ids(), snap.scorer.live) if nct_id and live]
    finally:
        index.close()
