"""The measurements of one scale: builds, index sizes, in-process query latency, incremental
update; the HTTP measure lives in `benchmarks.http`.

Builds and updates run in a child process each (`benchmarks.build_worker`) so their peak
memory is theirs alone. Query rounds interleave the engines (round 1: engine A, B, C; round
2: ...), so a burst of load from other work on a shared machine hits every engine alike.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import peers
from .queries import MIX

ROUND_SEED = 7  # fixed order of queries within a round, the same for every engine


@dataclass
class Settings:
    """What a run measures and where it keeps its files."""

    cache: Path
    rounds: int = 20  # timed passes over the query mix per engine (after one warm-up pass)
    reuse_indexes: bool = True  # reuse a cached build (and its measured cost) of this scale
    update_count: int = 1000


def load_average() -> float:
    """The 1-minute load average: how busy the shared machine was."""
    return round(os.getloadavg()[0], 2)


def dir_size(path: Path) -> int:
    """Bytes on disk under `path`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _worker(action: str, engine: str, index_dir: Path, files: list[Path]) -> dict:
    command = [sys.executable, "-m", "benchmarks.build_worker", action, engine, str(index_dir),
               *map(str, files)]
    root = Path(__file__).resolve().parent.parent
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    load_before = load_average()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} {action} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_avg"] = [load_before, load_average()]
    return result


def build(engine: str, files: list[Path], scale: int, settings: Settings) -> tuple[Path, dict]:
    """Build (or reuse) `engine`'s index of `files`; returns its folder and the build cost."""
    folder = settings.cache / "index" / str(scale)
    index_dir = folder / engine
    record = folder / f"{engine}.build.json"
    if settings.reuse_indexes and record.exists() and index_dir.exists():
        cost = json.loads(record.read_text())
        cost["reused"] = True
    else:
        shutil.rmtree(index_dir, ignore_errors=True)
        record.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        cost = _worker("build", engine, index_dir, files)
        record.write_text(json.dumps(cost))
    cost["records_per_s"] = round(cost["docs"] / cost["seconds"], 1)
    cost["index_mb"] = round(dir_size(index_dir) / 1024 ** 2, 1)
    return index_dir, cost


def update(engine: str, index_dir: Path, update_file: Path) -> dict:
    """Upsert the update file into `engine`'s index while a session that has run the query mix
    stays open, as a server's would; returns the update's cost and, under "after", the mix's
    first run on the updated index through that session."""
    session = peers.load(engine).Engine().open(index_dir)
    try:
        for case in MIX:
            session.run(case)
        cost = _worker("update", engine, index_dir, [update_file])
        session.refresh()
        first = []
        for case in MIX:
            started = time.perf_counter()
            session.run(case)
            first.append((time.perf_counter() - started) * 1000)
    finally:
        session.close()
    cost["records_per_s"] = round(cost["docs"] / cost["seconds"], 1)
    cost["after"] = summarize(first)
    return cost


def percentile(samples: list[float], pct: float) -> float:
    """The nearest-rank `pct` percentile of `samples`."""
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarize(samples_ms: list[float]) -> dict:
    """p50/p95/p99/mean of latencies in milliseconds."""
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "mean_ms": round(sum(samples_ms) / len(samples_ms), 2),
    }


def latency(index_dirs: dict[str, Path], settings: Settings) -> dict:
    """Query latency (wall clock and CPU time) per engine over the mix, plus each query's
    median and total hits (to check that the engines answer alike)."""
    sessions, opening = {}, {}
    for name, path in index_dirs.items():
        started = time.perf_counter()
        sessions[name] = peers.load(name).Engine().open(path)
        opening[name] = time.perf_counter() - started
    samples: dict[str, dict[int, list[float]]] = {name: {i: [] for i in range(len(MIX))}
                                                  for name in sessions}
    totals: dict[str, list[int]] = {name: [] for name in sessions}
    order = list(range(len(MIX)))
    random.Random(ROUND_SEED).shuffle(order)
    load_before = load_average()
    first: dict[str, list[float]] = {name: [] for name in sessions}
    for name, session in sessions.items():  # warm-up: opens files, fills caches
        for case in MIX:
            started = time.perf_counter()
            totals[name].append(session.run(case)[0])
            first[name].append((time.perf_counter() - started) * 1000)
    cpu: dict[str, dict[int, list[float]]] = {name: {i: [] for i in range(len(MIX))}
                                               for name in sessions}
    for _ in range(settings.rounds):
        for name, session in sessions.items():
            for i in order:
                started, cpu_started = time.perf_counter(), time.process_time()
                session.run(MIX[i])
                samples[name][i].append((time.perf_counter() - started) * 1000)
                cpu[name][i].append((time.process_time() - cpu_started) * 1000)
    out = {}
    for name, session in sessions.items():
        session.close()
        flat = [ms for per_case in samples[name].values() for ms in per_case]
        # CPU time of this process: on a busy shared machine it shows what a query costs
        # without the time spent waiting for a core (every engine searches in one thread).
        out[name] = {
            **summarize(flat),
            "open_s": round(opening[name], 3),
            "cpu": summarize([ms for per_case in cpu[name].values() for ms in per_case]),
            # The warm-up pass: each query's first run on a freshly opened index, before any
            # cache (ours, the OS's for the peers) holds its terms.
            "cold": summarize(first[name]),
            "per_query": [
                {"kind": case.kind, "query": case.app_text(), "statuses": list(case.statuses),
                 "page": case.page, "total": totals[name][i],
                 "p50_ms": round(percentile(samples[name][i], 50), 2),
                 "cpu_p50_ms": round(percentile(cpu[name][i], 50), 2)}
                for i, case in enumerate(MIX)
            ],
        }
    out["load_avg"] = [load_before, load_average()]
    return out
