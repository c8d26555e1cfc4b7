"""Throughput, query latency and memory of the ONNX sentence encoder on real trial texts.
Not a test (pytest collects test_*.py only): run it by hand, niced, one configuration a process:

    nice -n 10 python tests/semantic/measure_encoder.py [--int8] [--threads N] [--texts 500]

Texts: title, conditions, keywords and brief summary of the studies in ../shared/data and
indexer/sample_data (about 130 words each). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT.parent / "shared" / "data" / "ctgov", ROOT.parent / "shared" / "data" / "trec_ct"
           / "trec_2022_corpus_sample.jsonl", ROOT / "indexer" / "sample_data"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def trial_texts(limit: int) -> list[str]:
    from indexer.model import Study
    from indexer.readers import read_sources

    studies = {}
    for found in read_sources([str(path) for path in SOURCES if path.exists()]):
        if isinstance(found, Study) and found.brief_summary:
            studies[found.nct_id] = found
    return [". ".join(filter(None, [s.brief_title or s.official_title, ", ".join(s.conditions),
                                    ", ".join(s.keywords), s.brief_summary]))
            for _, s in sorted(studies.items())][:limit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--batch", type=int, help="batch size (default: the encoder's)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model")
    args = parser.parse_args()
    texts = trial_texts(args.texts)
    before = rss_mb()
    started = time.perf_counter()
    from indexer.semantic import SentenceEncoder

    encoder = SentenceEncoder(args.model, int8=args.int8, threads=args.threads)
    load_seconds = time.perf_counter() - started
    encoder.encode_query("warm up")
    loaded = rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    encoder.encode(texts, **({"batch_size": args.batch} if args.batch else {}))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies = []
    for _ in range(args.queries):
        t = time.perf_counter()
        encoder.encode_query("heart attack")
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    print(json.dumps({
        "model": encoder.model_path.name, "threads": args.threads or "all", "batch": args.batch or "default",
        "texts": len(texts), "mean_words": round(statistics.mean(len(t.split()) for t in texts), 1),
        "texts_per_wall_s": round(len(texts) / wall, 1), "texts_per_cpu_s": round(len(texts) / cpu, 1),
        "query_ms_p50": round(latencies[len(latencies) // 2], 2),
        "query_ms_p95": round(latencies[int(len(latencies) * 0.95)], 2),
        "load_s": round(load_seconds, 2), "rss_mb_before_load": round(before),
        "rss_mb_after_load": round(loaded), "rss_mb_after_encoding": round(rss_mb()),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
