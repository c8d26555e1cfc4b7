"""Command line: `python -m benchmarks [--quick] [--scales 10000,100000,500000] [--out DIR]`.

Generates (or reuses) the scaled corpora, builds every available engine's index, measures
them (the query mix on every engine; trialsearch's location and eligibility filters beside it)
and writes results.md and results.json into --out. Hybrid search (the default
mode of an index with vectors) is measured on trialsearch's index with real vectors up to
100k studies and synthetic ones above (`hybrid`). `--quick` measures 10k studies only,
with fewer query rounds and no HTTP, hybrid or update measure, and exits 1 when trialsearch's query
p95 or build throughput, as ratios to SQLite FTS5 in the same run (in CPU time, so a busy
machine does not skew them), is more than 2× worse than in benchmarks/baseline.json.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

from . import hybrid, peers, report, serving
from .generate import DEFAULT_SEED, corpus_files, update_file
from .measure import Settings, build, latency, load_average, update

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "data"  # ../shared/data from the repo
BASELINE = HERE / "baseline.json"
QUICK_ROUNDS = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options (see --help)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="10k studies, fresh builds, 5 query rounds, no HTTP/update; "
                             "fail on a >2x regression against the baseline")
    parser.add_argument("--scales", default="10000,100000,500000",
                        help="comma-separated corpus sizes (multiples of 10000)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default benchmarks/results, or "
                             "benchmarks/.cache/quick-results with --quick)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="real records the corpora are modelled on (default ../shared/data)")
    parser.add_argument("--cache", type=Path, default=HERE / ".cache",
                        help="where corpora and indexes are kept")
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed passes over the query mix (default 20 at 10k, fewer above)")
    parser.add_argument("--http-seconds", type=float, default=30.0,
                        help="duration of the HTTP load test per scale")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measure")
    parser.add_argument("--no-hybrid", action="store_true",
                        help="skip hybrid search (vectors for trialsearch's index, then the mix "
                             "in process and over HTTP)")
    parser.add_argument("--real-vectors-up-to", type=int, default=100_000,
                        help="scales up to this get really encoded vectors for the hybrid "
                             "measure; larger ones synthetic vectors resampled from the "
                             "largest real fill (default 100000)")
    parser.add_argument("--engines", default=",".join(report.ENGINE_ORDER),
                        help="comma-separated engines to run (default all: whoosh,fts5,tantivy)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    parser.add_argument("--write-baseline", action="store_true",
                        help="write benchmarks/baseline.json from this run's smallest scale")
    return parser.parse_args(argv)


def default_rounds(scale: int) -> int:
    """20 rounds at 10k studies, fewer for larger corpora (their queries take longer)."""
    return max(3, round(20 / math.sqrt(scale / 10_000)))


def run_scale(scale: int, args: argparse.Namespace, settings: Settings) -> dict:
    """Every measure of one corpus size, as a JSON-ready dict."""
    started = time.perf_counter()
    machine = report.machine_info()
    print(f"[{scale:,}] corpus", flush=True)
    files = corpus_files([args.source], scale, args.cache, seed=DEFAULT_SEED)
    result = {"scale": scale, "quick": args.quick, "machine": machine, "engines": {},
              "skipped": {}, "load_avg": {}}
    names = []
    chosen = set(args.engines.split(","))
    for name in report.ENGINE_ORDER:
        reason = peers.load(name).available() if name in chosen else "not chosen (--engines)"
        if reason:
            print(f"[{scale:,}] skipping {name}: {reason}", flush=True)
            result["skipped"][report.LABELS[name]] = reason
        else:
            names.append(name)
    index_dirs = {}
    load_before = load_average()
    for name in names:
        print(f"[{scale:,}] build {name}", flush=True)
        index_dirs[name], cost = build(name, files, scale, settings)
        result["engines"][name] = {"build": cost}
        print(f"[{scale:,}]   {cost['seconds']} s, {cost['records_per_s']} records/s, "
              f"{cost['peak_rss_mb']} MB peak, {cost['index_mb']} MB on disk", flush=True)
    result["load_avg"]["build"] = [load_before, load_average()]
    settings.rounds = args.rounds or (QUICK_ROUNDS if args.quick else default_rounds(scale))
    print(f"[{scale:,}] queries: {settings.rounds} rounds", flush=True)
    lat = latency(index_dirs, settings)
    result["load_avg"]["queries"] = lat.pop("load_avg")
    for name in names:
        result["engines"][name]["latency"] = lat[name]
        print(f"[{scale:,}]   {name}: p50 {lat[name]['p50_ms']} ms, p95 {lat[name]['p95_ms']} ms", flush=True)
        if lat[name].get("filters"):
            print(f"[{scale:,}]   {name} with location and eligibility filters: p50 "
                  f"{lat[name]['filters']['p50_ms']} ms, p95 {lat[name]['filters']['p95_ms']} ms", flush=True)
    skip_http = "not measured in --quick mode" if args.quick else (
        "skipped (--no-http)" if args.no_http else serving.unavailable())
    if skip_http:
        result["skipped"]["HTTP"] = skip_http
    else:
        print(f"[{scale:,}] HTTP {args.http_seconds:g} s", flush=True)
        http = serving.measure(index_dirs["whoosh"], args.http_seconds)
        result["load_avg"]["http"] = http.pop("load_avg")
        result["engines"]["whoosh"]["http"] = http
        result["skipped"]["HTTP peers"] = ("FTS5 and tantivy have no HTTP server here; the HTTP "
                                           "figures are trialsearch's alone")
    skip_hybrid = "not measured in --quick mode" if args.quick else (
        "skipped (--no-hybrid)" if args.no_hybrid else
        "not chosen (--engines)" if "whoosh" not in names else hybrid.unavailable())
    if skip_hybrid:
        result["skipped"]["hybrid"] = skip_hybrid
    else:
        measured = hybrid.measure(
            index_dirs["whoosh"], scale, settings.cache, real_up_to=args.real_vectors_up_to,
            rounds=settings.rounds, http_seconds=None if skip_http else args.http_seconds)
        if "skipped" in measured:
            result["skipped"]["hybrid"] = measured.pop("skipped")
        else:
            result["load_avg"]["hybrid"] = measured.pop("load_avg")
        result["engines"]["whoosh"].update(measured)
    if args.quick:
        result["skipped"]["update"] = "not measured in --quick mode"
    else:
        changes = update_file([args.source], settings.update_count, args.cache)
        load_before = load_average()
        for name in names:
            print(f"[{scale:,}] update {settings.update_count} into {name}", flush=True)
            result["engines"][name]["update"] = update(name, index_dirs[name], changes)
        result["load_avg"]["update"] = [load_before, load_average()]
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns the exit code."""
    args = parse_args(argv)
    scales = [10_000] if args.quick else [int(s) for s in args.scales.split(",") if s.strip()]
    out = args.out or (args.cache / "quick-results" if args.quick else HERE / "results")
    settings = Settings(cache=args.cache, reuse_indexes=not (args.rebuild or args.quick))
    if args.quick:
        # Fresh builds every time, kept apart from the cached indexes of full runs.
        settings.cache = args.cache / "quick"
        shutil.rmtree(settings.cache / "index", ignore_errors=True)
    results = [run_scale(scale, args, settings) for scale in scales]
    path = report.write(results, out)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    if len(results) == 1:
        print(report.scale_table(results[0]))
        print(report.filter_table(results[0]))
    else:
        print(path.read_text())
    if args.write_baseline:
        BASELINE.write_text(json.dumps(report.baseline_ratios(results[0]), indent=2) + "\n")
        print(f"wrote {BASELINE}")
    if args.quick:
        failures = report.check_regression(results[0], BASELINE)
        for failure in failures:
            print(f"REGRESSION: {failure}", file=sys.stderr)
        if failures:
            return 1
        print("no regression against benchmarks/baseline.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
