"""The measurements of one scale: builds, index sizes, in-process query latency, incremental
update; the HTTP measure lives in `benchmarks.serving`.

Builds and updates run in a child process each (`benchmarks.build_worker`) so their peak
memory is theirs alone. Query rounds interleave the engines (round 1: engine A, B, C; round
2: ...), so a burst of load from other work on a shared machine hits every engine alike. The
location and eligibility filter cases (`queries.FILTER_CASES`) run in the same rounds, after the
mix, on the engines that answer them (trialsearch alone), and are summarised apart from it.
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
from .queries import FILTER_CASES, MIX, QueryCase

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
    # The corpus folders name the generator's format: a build of an older corpus is not reused.
    corpus = ",".join(sorted({Path(f).parent.name for f in files}))
    cost = json.loads(record.read_text()) if record.exists() else {}
    if settings.reuse_indexes and index_dir.exists() and cost.get("corpus") == corpus:
        cost["reused"] = True
    else:
        shutil.rmtree(index_dir, ignore_errors=True)
        record.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        cost = {**_worker("build", engine, index_dir, files), "corpus": corpus}
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
    median and total hits (to check that the engines answer alike). Engines that answer the
    filter cases (see `peers.answers`) also get the same figures for them under "filters"."""
    sessions, opening = {}, {}
    for name, path in index_dirs.items():
        started = time.perf_counter()
        sessions[name] = peers.load(name).Engine().open(path)
        opening[name] = time.perf_counter() - started
    cases = {name: _Cases(MIX) for name in sessions}
    extra = {name: _Cases([c for c in FILTER_CASES if peers.answers(name, c)]) for name in sessions}
    load_before = load_average()
    for name, session in sessions.items():  # warm-up: opens files, fills caches
        cases[name].warm_up(session)
    for name, session in sessions.items():  # the filters' first runs, after the whole mix's
        extra[name].warm_up(session)
    for _ in range(settings.rounds):
        for name, session in sessions.items():
            cases[name].timed_round(session)
            extra[name].timed_round(session)
    out = {}
    for name, session in sessions.items():
        session.close()
        out[name] = {**cases[name].summary(), "open_s": round(opening[name], 3)}
        if getattr(session, "warm_seconds", None) is not None:  # trialsearch: open, then warm
            out[name]["open_only_s"] = round(opening[name] - session.warm_seconds, 3)
        if extra[name].cases:
            out[name]["filters"] = extra[name].summary()
    out["load_avg"] = [load_before, load_average()]
    return out


class _Cases:
    """The query cases one engine runs and their samples: the first (warm-up) run of each,
    then wall-clock and CPU-time samples per timed round."""

    def __init__(self, cases):
        self.cases: list[QueryCase] = list(cases)
        self.order = list(range(len(self.cases)))  # fixed order of the cases within a round
        random.Random(ROUND_SEED).shuffle(self.order)
        self.totals: list[int] = []
        self.first: list[float] = []
        self.wall: list[list[float]] = [[] for _ in self.cases]
        self.cpu: list[list[float]] = [[] for _ in self.cases]

    def warm_up(self, session) -> None:
        """Run every case once (opens files, fills caches), keeping hit counts and times."""
        for case in self.cases:
            started = time.perf_counter()
            self.totals.append(session.run(case)[0])
            self.first.append((time.perf_counter() - started) * 1000)

    def timed_round(self, session) -> None:
        """One timed pass over the cases, in the round order."""
        for i in self.order:
            started, cpu_started = time.perf_counter(), time.process_time()
            session.run(self.cases[i])
            self.wall[i].append((time.perf_counter() - started) * 1000)
            self.cpu[i].append((time.process_time() - cpu_started) * 1000)

    def summary(self) -> dict:
        """Percentiles over every sample, CPU time, first runs and each case's median."""
        # CPU time of this process: on a busy shared machine it shows what a query costs
        # without the time spent waiting for a core (every engine searches in one thread).
        return {
            **summarize([ms for samples in self.wall for ms in samples]),
            "cpu": summarize([ms for samples in self.cpu for ms in samples]),
            # The warm-up pass: each query's first run on a freshly opened index, before any
            # cache (ours, the OS's for the peers) holds its terms.
            "cold": summarize(self.first),
            "per_query": [_per_query(case, self.totals[i], self.wall[i], self.cpu[i])
                          for i, case in enumerate(self.cases)],
        }


def _per_query(case: QueryCase, total: int, wall: list[float], cpu: list[float]) -> dict:
    out = {"kind": case.kind, "query": case.app_text(), "statuses": list(case.statuses),
           "page": case.page, "total": total,
           "p50_ms": round(percentile(wall, 50), 2), "cpu_p50_ms": round(percentile(cpu, 50), 2)}
    if case.app_only:
        filters = {k: v for k, v in case.app_filters().items() if k != "status"}
        out.update(filters=filters, sort=case.sort, label=case.describe())
    return out
