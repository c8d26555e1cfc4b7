"""Results: machine facts, the markdown table, the JSON file, and the regression check
against the committed baseline."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .measure import percentile

ENGINE_ORDER = ("whoosh", "fts5", "tantivy")
PEERS = ("fts5", "tantivy")
LABELS = {"whoosh": "trialsearch (Whoosh)", "fts5": "SQLite FTS5", "tantivy": "tantivy"}
# (label, path into an engine's results, higher is better?)
ROWS = (
    ("build time (s)", ("build", "seconds"), False),
    ("build records/s", ("build", "records_per_s"), True),
    ("build peak RSS (MB)", ("build", "peak_rss_mb"), False),
    ("index size (MB)", ("build", "index_mb"), False),
    ("query p50 (ms)", ("latency", "p50_ms"), False),
    ("query p95 (ms)", ("latency", "p95_ms"), False),
    ("query p99 (ms)", ("latency", "p99_ms"), False),
    ("query p95 CPU time (ms)", ("latency", "cpu_p95_ms"), False),
    ("query p50, first run (ms)", ("latency", "cold_p50_ms"), False),
    ("query p95, first run (ms)", ("latency", "cold_p95_ms"), False),
    ("open the index and warm its caches (s)", ("latency", "open_s"), False),
    ("open the index alone (s)", ("latency", "open_only_s"), False),
    ("update 1,000 (s)", ("update", "seconds"), False),
    ("query p95, first run after the update (ms)", ("update", "after_p95_ms"), False),
    ("HTTP req/s (8 clients)", ("http", "requests_per_s"), True),
    ("HTTP p95 (ms)", ("http", "p95_ms"), False),
    ("server worker RSS after the load (MB)", ("http", "worker_rss_mb"), False),
    ("server worker private memory (MB)", ("http", "worker_private_mb"), False),
    # Hybrid search (`benchmarks.hybrid`): trialsearch alone, on its index with vectors.
    ("hybrid query p50 (ms)", ("hybrid", "p50_ms"), False),
    ("hybrid query p95 (ms)", ("hybrid", "p95_ms"), False),
    ("hybrid query p95 CPU time (ms)", ("hybrid", "cpu_p95_ms"), False),
    ("hybrid query p95, each query new (ms)", ("hybrid_new_query", "p95_ms"), False),
    ("hybrid HTTP req/s (8 clients)", ("hybrid_http", "requests_per_s"), True),
    ("hybrid HTTP p95 (ms)", ("hybrid_http", "p95_ms"), False),
    ("hybrid server worker RSS after the load (MB)", ("hybrid_http", "worker_rss_mb"), False),
    ("hybrid server worker private memory (MB)", ("hybrid_http", "worker_private_mb"), False),
)
# The "Location and eligibility filters" table: trialsearch's figures over the plain mix beside
# the same figures over the filter cases (queries.FILTER_CASES, which the peers do not run).
# (label, key in the JSON summary, path into trialsearch's results)
FILTER_ROWS = (
    ("query p50 (ms)", "p50_ms", ("latency", "p50_ms")),
    ("query p95 (ms)", "p95_ms", ("latency", "p95_ms")),
    ("query p95 CPU time (ms)", "cpu_p95_ms", ("latency", "cpu_p95_ms")),
    ("query p95, first run (ms)", "cold_p95_ms", ("latency", "cold_p95_ms")),
    ("HTTP p50 (ms)", "http_p50_ms", ("http", "p50_ms")),
    ("HTTP p95 (ms)", "http_p95_ms", ("http", "p95_ms")),
    ("HTTP req/s (8 clients) ↑", "http_requests_per_s", ("http", "requests_per_s")),
)
# The regression check compares trialsearch to FTS5 measured in the same run, so it holds on
# any machine: a ratio that gets more than REGRESSION_FACTOR times worse fails.
REGRESSION_FACTOR = 2.0


def machine_info() -> dict:
    """CPU, memory, Python and library versions, and the load at the time of the call."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal")))
    except OSError:
        mem_kb = 0
    versions = {}
    for dist in ("trialsearch", "whoosh3", "tantivy", "nltk", "gunicorn", "flask"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    versions["sqlite"] = sqlite3.sqlite_version
    return {
        "cpu_count": os.cpu_count(), "cpu_model": model, "ram_gb": round(mem_kb / 1024 ** 2, 1),
        "python": platform.python_version(), "platform": platform.platform(),
        "versions": versions, "git_commit": _git_commit(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _get(engine: dict, path: tuple[str, str]):
    section = engine.get(path[0]) or {}
    for part in ("cpu", "cold", "after"):  # "cpu_p95_ms" is section["cpu"]["p95_ms"]
        if path[1].startswith(part + "_"):
            return (section.get(part) or {}).get(path[1][len(part) + 1:])
    return section.get(path[1])


def _fmt(value) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def _ratio(r: float) -> str:
    return f"{r:,.0f}×" if r >= 10 else f"{r:.2g}×"


def ratios(result: dict) -> dict:
    """trialsearch's figures as ratios to the best peer (value ÷ best peer value), per row."""
    engines = result["engines"]
    out = {}
    for label, path, higher_better in ROWS:
        peer_values = [_get(engines[p], path) for p in PEERS if p in engines]
        peer_values = [v for v in peer_values if v]
        mine = _get(engines.get("whoosh", {}), path)
        if mine is None or not peer_values:
            continue
        best = max(peer_values) if higher_better else min(peer_values)
        out[label] = round(mine / best, 2)
    return out


def scale_table(result: dict) -> str:
    """The markdown table of one scale: each figure absolute, with its ratio to the best
    peer in brackets (trialsearch ÷ best peer; higher-is-better rows say so)."""
    engines = result["engines"]
    names = [e for e in ENGINE_ORDER if e in engines]
    lines = [f"| {result['scale']:,} studies | " + " | ".join(LABELS[n] for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for label, path, higher_better in ROWS:
        values = {n: _get(engines[n], path) for n in names}
        peer_values = [values[p] for p in PEERS if values.get(p)]
        if all(v is None for v in values.values()):
            continue
        best = (max(peer_values) if higher_better else min(peer_values)) if peer_values else None
        cells = []
        for n in names:
            v = values[n]
            ratio = f" ({_ratio(v / best)})" if v is not None and best else ""
            cells.append(_fmt(v) + ratio)
        lines.append(f"| {label}{' ↑' if higher_better else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_query_table(result: dict) -> str:
    """Median latency (ms) and hit count of each query of the mix, per engine."""
    engines = {n: result["engines"][n] for n in ENGINE_ORDER if n in result["engines"]
               and result["engines"][n].get("latency")}
    if not engines:
        return ""
    names = list(engines)
    lines = ["| query | " + " | ".join(f"{LABELS[n]} ms (hits)" for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    first = engines[names[0]]["latency"]["per_query"]
    for i, q in enumerate(first):
        label = f"{q['kind']}: `{q['query']}`" \
            + (f" status={'/'.join(q['statuses'])}" if q["statuses"] else "") \
            + (f" page {q['page']}" if q["page"] > 1 else "")
        cells = [f"{_fmt(e['latency']['per_query'][i]['p50_ms'])} ({e['latency']['per_query'][i]['total']:,})"
                 for e in engines.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def filter_summary(result: dict) -> dict | None:
    """trialsearch's figures over the plain mix and over the location and eligibility filter
    cases, side by side (for results.json); None when the run did not measure the filters."""
    whoosh = result["engines"].get("whoosh") or {}
    filters = (whoosh.get("latency") or {}).get("filters")
    if not filters:
        return None
    # The same figures read from the filter cases' part of each section.
    only_filters = {section: (whoosh.get(section) or {}).get("filters") or {}
                    for section in ("latency", "http")}
    mix, cases = {}, {}
    for _, key, path in FILTER_ROWS:
        mix[key] = _get(whoosh, path)
        cases[key] = _get(only_filters, path)
    http_filters = (whoosh.get("http") or {}).get("filters") or {}
    return {
        "mix": {"queries": len(whoosh["latency"]["per_query"]), **mix},
        "filters": {"queries": len(filters["per_query"]), **cases,
                    **({"http_errors": http_filters["errors"]} if "errors" in http_filters else {}),
                    **({"http_error": http_filters["error"]} if "error" in http_filters else {})},
        "per_query": [{key: q.get(key) for key in ("label", "kind", "total", "p50_ms", "cpu_p50_ms")}
                      for q in filters["per_query"]],
    }


def filter_table(result: dict) -> str:
    """The "Location and eligibility filters" table of one scale: trialsearch's plain mix
    beside the filter cases (with their ratio to the mix), then each filter case."""
    summary = filter_summary(result)
    if summary is None:
        return ""
    mix, cases = summary["mix"], summary["filters"]
    lines = [f"| {result['scale']:,} studies, trialsearch | plain mix ({mix['queries']} queries) | "
             f"location and eligibility filters ({cases['queries']} queries) |",
             "| --- | ---: | ---: |"]
    for label, key, _ in FILTER_ROWS:
        if mix[key] is None and cases[key] is None:
            continue
        ratio = f" ({_ratio(cases[key] / mix[key])})" if cases[key] is not None and mix[key] else ""
        lines.append(f"| {label} | {_fmt(mix[key])} | {_fmt(cases[key])}{ratio} |")
    lines += ["", "| filter case | ms (hits) |", "| --- | ---: |"]
    lines += [f"| {q['kind']}: {q['label']} | {_fmt(q['p50_ms'])} ({q['total']:,}) |"
              for q in summary["per_query"]]
    return "\n".join(lines)


def markdown(results: list[dict]) -> str:
    """The whole results document: one table per scale, notes on skips and machine load."""
    parts = ["# trialsearch benchmark results", ""]
    machine = results[-1]["machine"] if results else {}
    if machine:
        parts += [f"Software: Python {machine['python']}; "
                  + ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
                  + f"; {machine['ram_gb']} GB RAM. Each scale names the machine and commit it ran on.", ""]
    parts += ["Cells: absolute figure (ratio to the best of SQLite FTS5 and tantivy: value ÷ best "
              "peer). ↑ marks rows where higher is better; everywhere else lower is better.", ""]
    for result in results:
        parts += [f"## {result['scale']:,} studies" + (" (quick)" if result.get("quick") else ""), "",
                  scale_table(result), ""]
        notes = [f"{what}: {why}" for what, why in result.get("skipped", {}).items()]
        loads = {phase: result.get("load_avg", {}).get(phase)
                 for phase in ("build", "queries", "http", "hybrid", "update")}
        run = result["machine"]
        notes.append(f"measured {run.get('at', '?')} on {run['cpu_count']} CPUs ({run['cpu_model']}) "
                     f"at commit {run.get('git_commit') or '?'}")
        notes.append("machine load (1-min average, before → after) "
                     + "; ".join(f"{k} {v[0]}→{v[1]}" for k, v in loads.items() if v)
                     + f" on {run['cpu_count']} CPUs (other jobs share this machine)")
        notes += [f"{LABELS[n]} build: {e['build']['note']}" for n, e in result["engines"].items()
                  if (e.get("build") or {}).get("note")]
        reused = [LABELS[n] for n, e in result["engines"].items() if (e.get("build") or {}).get("reused")]
        if reused:
            notes.append("build figures reused from the cached build of " + ", ".join(reused)
                         + " (measured when it was built)")
        vectors = result["engines"].get("whoosh", {}).get("vectors")
        if vectors:
            notes.append("hybrid: " + _vectors_note(vectors))
        summary = filter_summary(result)
        if summary is None:
            notes.append("location and eligibility filters: not measured in this run")
        elif summary["filters"].get("http_error"):
            notes.append(f"HTTP with the filter cases failed: {summary['filters']['http_error']}")
        filters = filter_table(result)
        parts += [f"- {note}" for note in notes] + [""]
        if filters:
            parts += ["### Location and eligibility filters", "",
                      "trialsearch alone (SQLite FTS5 and tantivy have no location or eligibility "
                      "filters): the plain mix beside the filter cases (`near` with a radius and "
                      "`sort=distance`, `country`, `age`, `sex`, age group, healthy volunteers, "
                      "funder type), measured in the same rounds (their first runs follow the "
                      "mix's); brackets: filters ÷ mix. Per case: median ms (hits).", "", filters, ""]
        table = per_query_table(result)
        if table:
            parts += ["<details><summary>Per query: median latency and hits</summary>", "", table, "",
                      "</details>", ""]
    return "\n".join(parts)


def _vectors_note(vectors: dict) -> str:
    """What the hybrid rows searched: real vectors (and what filling them took) or synthetic."""
    if vectors.get("kind") == "real":
        rate = vectors.get("studies_per_s")
        return (f"real vectors of every study ({vectors.get('studies'):,})"
                + (f", filled at {rate} studies/s on every core" if rate else "")
                + (" (in an earlier run)" if vectors.get("reused") else ""))
    return (f"synthetic vectors ({vectors.get('count'):,}), resampled from {vectors.get('pool')} "
            "with seeded noise: they cost what real ones cost to search, not what they find")


def write(results: list[dict], out: Path) -> Path:
    """Merge `results` into `out` (one JSON per scale, kept across runs) and rewrite
    results.json and results.md from every scale there. Returns the markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    for result in results:
        (out / f"scale-{result['scale']}.json").write_text(json.dumps(result, indent=2))
    every = sorted((json.loads(p.read_text()) for p in out.glob("scale-*.json")),
                   key=lambda r: r["scale"])
    for result in every:
        result["ratios_to_best_peer"] = ratios(result)
        summary = filter_summary(result)
        if summary is not None:
            result["location_and_eligibility_filters"] = summary
    (out / "results.json").write_text(json.dumps(every, indent=2))
    path = out / "results.md"
    path.write_text(markdown(every))
    return path


def check_regression(result: dict, baseline_path: Path) -> list[str]:
    """Failures (empty when none) of `result` against the baseline's ratios to FTS5."""
    baseline = json.loads(baseline_path.read_text())
    current = baseline_ratios(result)
    failures = []
    for key, what, lower_is_better in (("query_p95_vs_fts5", "query p95 (CPU time)", True),
                                       ("build_rps_vs_fts5", "build records per CPU-second", False)):
        now, then = current[key], baseline[key]
        worse = now / then if lower_is_better else then / now
        if worse > REGRESSION_FACTOR:
            failures.append(f"{what} is {now:.3g}× FTS5's in this run against {then:.3g}× in "
                            f"the baseline: {worse:.2f}× worse (limit {REGRESSION_FACTOR:g}×)")
    return failures


def _cpu_throughput(engine: dict) -> float:
    return engine["build"]["docs"] / engine["build"]["cpu_seconds"]


def _mix_p95(engine: dict) -> float:
    return percentile([q["cpu_p50_ms"] for q in engine["latency"]["per_query"]], 95)


def baseline_ratios(result: dict) -> dict:
    """The machine-independent figures the baseline keeps: trialsearch ÷ FTS5 in one run.

    Both figures use CPU time, which waiting for a busy machine's cores does not inflate (CI
    runs this beside other tests on 2 cores). Query p95 is the 95th percentile over the mix of
    each query's median CPU time, so one slow sample (a GC pause) cannot decide the check;
    build throughput is records per CPU-second of the build and its writer processes.
    """
    whoosh, fts5 = result["engines"]["whoosh"], result["engines"]["fts5"]
    return {
        "scale": result["scale"],
        "query_p95_vs_fts5": round(_mix_p95(whoosh) / _mix_p95(fts5), 3),
        "build_rps_vs_fts5": round(_cpu_throughput(whoosh) / _cpu_throughput(fts5), 4),
        "machine_load_avg": result["machine"]["load_avg_1_5_15"],
        "measured_at": result["machine"]["at"],
    }
