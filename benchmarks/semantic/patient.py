"""What patient mode costs: `python -m benchmarks.semantic.patient [--scale 100000]
[--pool INDEX] [--rounds 3]`, or on an index as it is: `... --index DIR` (its own vectors).

Runs `SearchIndex.match` (the page's request: 10 studies with their reasons, highlights, the
age and sex filters the description gives) on the suite's cached index of `--scale` studies,
with the TREC topics of ../shared/data/trec_ct as the descriptions (124 real case notes, 60 to
400 words), warmed as a server worker is (`SearchIndex.warm`, then one pass over the topics:
the condition vocabulary and the encoder are loaded once per worker). Then interleaved timed
rounds, each topic twice: as a new description (`forget_query_vectors` first: the encoder reads
it, up to 256 word pieces), then at once as one seen before (its vector remembered).
Prints and writes p50 / p95 / p99 of each, in wall time and CPU time, to --out.

The index gets a vectors file of its own, as `benchmarks.semantic` gives one
(<cache>/semantic/<scale>/): synthetic vectors resampled with noise from a real pool, here the
vectors of `--pool` (an index with a real fill: `trialsearch build ../shared/data
../shared/eval_corpus --index /tmp/eval-ix-all` computes 11,985) or of the 10k real fill.
With `--index DIR` nothing is built or filled: the index at DIR is measured with the vectors
it has (real ones, where `trialsearch vectors` computed them), and only read.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ..generate import DEFAULT_SEED, corpus_files
from ..measure import Settings, build, load_average, summarize
from ..report import machine_info
from .run import BENCHMARKS, DEFAULT_SOURCE
from .vectors import fill_synthetic, index_ids, pool_of, view_folder

TOPIC_SETS = ("trec_2021", "trec_2022", "sigir")


def topics(source: Path) -> list[str]:
    """The patient descriptions of the TREC topic files under `source`/trec_ct."""
    texts = []
    for name in TOPIC_SETS:
        path = source / "trec_ct" / name / "queries.jsonl"
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip()]
    return texts


def measure(root: Path, descriptions: list[str], rounds: int) -> dict:
    """Patient mode on the index at `root` (see the module docstring)."""
    from indexer.search.live import SearchIndex

    index = SearchIndex(root)
    try:
        started = time.perf_counter()
        index.warm()
        warm = time.perf_counter() - started
        if index.meaning_unavailable():
            raise RuntimeError(f"meaning search cannot run: {index.meaning_unavailable()}")
        started = time.perf_counter()
        first = index.match(descriptions[0])
        vocabulary = time.perf_counter() - started  # the first: the condition vocabulary
        for text in descriptions[1:]:
            index.match(text)
        samples: dict[str, dict[str, list[float]]] = {
            kind: {"wall": [], "cpu": [], "search": []} for kind in ("seen", "new")}
        for _ in range(rounds):
            for text in descriptions:
                # New first: forgetting drops every remembered vector, so the description is
                # seen (its vector remembered) only straight after its own new run.
                for kind in ("new", "seen"):
                    if kind == "new":
                        index.meaning.forget_query_vectors()
                    wall, cpu = time.perf_counter(), time.process_time()
                    result = index.match(text)
                    samples[kind]["wall"].append((time.perf_counter() - wall) * 1000)
                    samples[kind]["cpu"].append((time.process_time() - cpu) * 1000)
                    samples[kind]["search"].append(result.search.took_ms)
        return {"documents": index.searcher().doc_count(), "mode": first.search.mode,
                "warm_s": round(warm, 2), "first_match_s": round(vocabulary, 2),
                "descriptions": len(descriptions), "rounds": rounds,
                **{kind: {"wall": summarize(times["wall"]), "cpu": summarize(times["cpu"]),
                          "search_core": summarize(times["search"])}
                   for kind, times in samples.items()}}
    finally:
        index.close()


def main(argv: list[str] | None = None) -> int:
    """Run the measure; print the figures and write patient-<scale>.json into --out."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.semantic.patient",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100_000, help="studies (a multiple of 10,000)")
    parser.add_argument("--pool", type=Path, default=None,
                        help="an index with real vectors to resample from (default: the 10k real fill)")
    parser.add_argument("--index", type=Path, default=None,
                        help="measure this index as it is, with its own vectors (no build)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the topics")
    parser.add_argument("--topics", type=int, default=None,
                        help="only the first N descriptions (a quick look)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--cache", type=Path, default=BENCHMARKS / ".cache")
    parser.add_argument("--out", type=Path, default=BENCHMARKS / "results")
    args = parser.parse_args(argv)
    descriptions = topics(args.source)[:args.topics]
    if args.index is not None:
        root, cost, vectors = args.index, None, {"source": f"the index's own, {args.index}"}
    else:
        root, cost, vectors = _cached_index(args)
    load = load_average()
    result = {"machine": machine_info(), "scale": args.scale, "build": cost, "vectors": vectors,
              "load_avg": [load], **measure(root, descriptions, args.rounds)}
    result["load_avg"].append(load_average())
    scale = result["documents"] if args.index is not None else args.scale
    result["scale"] = scale
    for kind, label in (("seen", "description seen before"), ("new", "a new description")):
        wall, cpu = result[kind]["wall"], result[kind]["cpu"]
        print(f"[{scale:,}] {label}: p50 {wall['p50_ms']} ms, p95 {wall['p95_ms']} ms, "
              f"p99 {wall['p99_ms']} ms (CPU p95 {cpu['p95_ms']} ms)", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"patient-{scale}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"load average {result['load_avg']}; written to {out}")
    return 0


def _cached_index(args: argparse.Namespace) -> tuple[Path, dict, dict]:
    """The suite's cached index of `args.scale` studies (built if missing) in a folder with
    synthetic vectors resampled from `args.pool`'s real ones: its root, build cost, vectors."""
    from indexer.semantic.contract import model_id
    from indexer.semantic.encoder import SentenceEncoder

    files = corpus_files([args.source], args.scale, args.cache, seed=DEFAULT_SEED)
    print(f"[{args.scale:,}] corpus: {len(files)} shards; building or reusing the index", flush=True)
    index_dir, cost = build("whoosh", files, args.scale, Settings(cache=args.cache))
    root = view_folder(index_dir, args.cache / "semantic" / str(args.scale))
    pool_root = args.pool or args.cache / "semantic" / "10000"
    pool = pool_of(pool_root)
    vectors = fill_synthetic(root, index_ids(root), pool, str(pool_root),
                             model_id(SentenceEncoder(threads=1)))
    print(f"[{args.scale:,}] vectors: {len(pool):,} real ones from {pool_root}, resampled", flush=True)
    return root, cost, vectors


if __name__ == "__main__":
    raise SystemExit(main())
