"""The sentence encoder (MiniLM, fp32, onnxruntime): texts per second on real study texts, the
word pieces it reads, and the latency of encoding one short query at a time."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from ..generate import DEFAULT_SEED
from ..measure import percentile, summarize

QUERY_ENCODE_REPEATS = 20
# Short queries people type; their vectors are encoded one at a time, with one thread.
SHORT_QUERIES = ("covid", "treatment", "fluoxetine", "breast cancer", "lung injury", "pneumonia",
                 "type 2 diabetes", "heart failure in older adults", "covid-19 vaccine for children",
                 "depression after stroke", "knee osteoarthritis pain", "stem cells for ARDS")


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
