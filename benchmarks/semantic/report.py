"""The results document: semantic.md (tables per measure) and semantic.json (everything)."""

from __future__ import annotations

import json
from pathlib import Path

from .latency import MODES


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
    lines = ["| vector fill (`fill_vectors`, a one-thread encoder process per core) | studies | wall (s) "
             "| CPU (s) | studies/s | studies per CPU-s | load avg |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
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
    lines += ["", *memory_rows(probe),
              *([f"| first hybrid search of a warmed worker, all of the above included (`covid`; "
                 f"keyword {_f(probe['first_hybrid']['keyword_ms'])} ms) | "
                 f"{_f(probe['first_hybrid']['ms'] / 1000)} | | |"] if probe.get("first_hybrid") else []),
              "", *SCAN_HEADER]
    return "\n".join(lines + scan_rows(probe, entry.get("probe_blas_1")))


SCAN_HEADER = ("| nearest-neighbour search alone (`DenseView.nearest`) | share allowed | p50 (ms) | "
               "p95 (ms) | recall@100 mean / min | matches (median) |",
               "| --- | ---: | ---: | ---: | ---: | ---: |")


def memory_rows(probe: dict) -> list[str]:
    """A fresh process's cost of the vectors: time, RSS and USS (private) growth."""
    load, view, enc = probe["load_vectors"], probe["view"], probe["encoder"]
    after = probe.get("after_scans", {})
    index = f"; index of {load['index_lists']:,} lists" if load.get("index_lists") else "; no index"
    return ["| fresh process (once per worker) | s | RSS growth (MB) | USS growth (MB) |",
            "| --- | ---: | ---: | ---: |",
            f"| map {load['vectors']:,} vectors (`VectorCache.refresh`; {_f(load['matrix_mb'])} MB of "
            f"float16 rows{index}) | {_f(load['seconds'])} | {_f(load['rss_growth_mb'])} | "
            f"{_f(load.get('uss_growth_mb'))} |",
            f"| line them up with the documents (`DenseView`; reading the NCT IDs "
            f"{_f(view.get('nct_ids_seconds'))} s of it), totals so far | {_f(view['seconds'])} | "
            f"{_f(view['rss_growth_mb'])} | {_f(view.get('uss_growth_mb'))} |",
            f"| after every search below, the encoder left out | | {_f(after.get('rss_growth_mb'))} | "
            f"{_f(after.get('uss_growth_mb'))} |",
            f"| load the query encoder (1 thread) | {_f(enc['seconds'])} | {_f(enc['rss_growth_mb'])} | |"]


def scan_rows(*probes) -> list[str]:
    """The search's rows of each probe, named by its BLAS threads."""
    lines = []
    for run in filter(None, probes):
        threads = run.get("blas_threads")
        for name, v in run["scan"]["variants"].items():
            recall = (f"{v['recall_mean']:.4f} / {v['recall_min']:.2f}"
                      if v.get("recall_mean") is not None else "–")
            lines.append(f"| {name}, {threads} BLAS thread{'s' if threads != 1 else ''} | "
                         f"{_f(v.get('share'))} | {_f(v['p50_ms'])} | {_f(v['p95_ms'])} | {recall} | "
                         f"{_f(v['matches_p50'])} |")
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
        lines += [f"**{int(size):,} vectors, no index** ({entry['vectors']['kind']} vectors from "
                  f"{entry['vectors']['pool']}; the filter cases are the largest index's, repeated):",
                  "", *memory_rows(probe), "", *SCAN_HEADER]
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
