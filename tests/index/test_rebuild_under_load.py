"""Reliability under load and under SIGKILL, with real processes on 127.0.0.1 and real index
directories.

* Rebuild under load: a gunicorn server (`trialsearch serve`, 2 workers) answers 8 client
  threads for ~20 s while `trialsearch build` and `trialsearch update` run again and again in
  subprocesses, alternating between two corpora whose results are recognisable. Every response
  must come entirely from one generation, never empty, never failed.
* SIGKILL: `trialsearch build` (and `update`) killed with -9 at seeded random points, one of
  them for certain while the new generation is being written; the live index still opens and
  answers as before (or exactly as the finished write), and the next build removes leftovers.

Each test prints a `SUMMARY ...` line with what it measured (requests served, failures,
responses per generation; kill points by phase); `pytest -rP` shows them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from live import gunicorn_server
from reliability import (
    CORPORA,
    PROBE_WORD,
    PROBES,
    TRIALSEARCH,
    all_ids,
    all_ids_of_corpus,
    answers,
    generations,
    leftovers,
    lock_holder,
    run_cli,
    snapshot,
    wait_for,
)

from indexer import open_index
from indexer.index.layout import CURRENT_FILE, generation_path

pytestmark = pytest.mark.slow  # each test runs real processes for 10-90 s


# -- rebuild under load ----------------------------------------------------------------------

LOAD_SECONDS = 20
CLIENTS = 8


class LoadReport:
    """What the client threads saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.served = 0
        self.failures: list[str] = []
        self.generations = Counter()  # "A"/"B"/"A-revised"/... -> responses
        self.latencies: list[float] = []

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


@contextlib.contextmanager
def clients(loop, url: str, report: LoadReport) -> Iterator[None]:
    """CLIENTS threads running `loop(url, done, report, seed)` until the block ends."""
    done = threading.Event()
    threads = [threading.Thread(target=loop, args=(url, done, report, n), daemon=True)
               for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)


def classify(body: dict) -> str:
    """Which corpus a probe response came from; raises AssertionError if mixed or empty."""
    results = body["results"]
    assert body["total"] == PROBES, f"total {body['total']}, expected {PROBES}"
    assert len(results) == PROBES, f"{len(results)} results on the page, expected {PROBES}"
    kinds, revised = set(), set()
    for hit in results:
        number = int(hit["nct_id"][3:])
        corpus = "A" if number // 10_000_000 == 2 else "B" if number // 10_000_000 == 3 else "?"
        marker = CORPORA.get(corpus, (0, "?"))[1]
        assert marker in hit["title"], f"{hit['nct_id']} title {hit['title']!r} lacks {marker}"
        kinds.add(corpus)
        revised.add("revised" in hit["title"])
    assert len(kinds) == 1 and "?" not in kinds, f"mixed generations: {sorted(kinds)}"
    assert len(revised) == 1, "half of an update: some titles revised, some not"
    return kinds.pop() + ("+update" if revised == {True} else "")


def client_loop(url: str, done: threading.Event, report: LoadReport, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    queries = [PROBE_WORD, f"{PROBE_WORD}", f"title:{PROBE_WORD}", f"{PROBE_WORD} OR nosuchword"]
    while not done.is_set():
        params = {"q": rng.choice(queries), "per_page": 100}
        if rng.random() < 0.3:
            params["sort"] = rng.choice(["relevance", "last_update", "first_posted"])
        started = time.monotonic()
        try:
            response = session.get(f"{url}/api/search", params=params, timeout=15)
            elapsed = time.monotonic() - started
            if response.status_code != 200:
                report.fail(f"HTTP {response.status_code} for {params}: {response.text[:200]}")
                continue
            kind = classify(response.json())
        except AssertionError as exc:
            report.fail(f"{params}: {exc}")
            continue
        except (requests.RequestException, ValueError) as exc:
            report.fail(f"{params}: {type(exc).__name__}: {exc}")
            continue
        with report.lock:
            report.served += 1
            report.generations[kind] += 1
            report.latencies.append(elapsed)


@pytest.mark.live_server
def test_rebuild_and_update_under_load_never_fail_or_mix_generations(corpora, tmp_path,
                                                                     record_property):
    root = tmp_path / "index"
    first = run_cli("build", str(corpora["A"]), "--index", str(root), "--quiet")
    assert first.returncode == 0, first.stderr
    report = LoadReport()
    writes: list[tuple[str, float, int]] = []  # (command corpus, seconds, exit code)
    with gunicorn_server(root) as url, clients(client_loop, url, report):
        started = time.monotonic()
        live = "A"
        # Write for ~20 s and at least 3 builds and 3 updates, alternating corpora.
        while time.monotonic() - started < LOAD_SECONDS or len(writes) < 6:
            assert time.monotonic() - started < 150, f"writes took far too long: {writes}"
            target = "B" if live == "A" else "A"
            for command, corpus in (("build", target), ("update", f"{target}-update")):
                t0 = time.monotonic()
                result = run_cli(command, str(corpora[corpus]), "--index", str(root),
                                 "--quiet", "--wait", "30")
                writes.append((f"{command} {corpus}", time.monotonic() - t0, result.returncode))
                assert result.returncode == 0, result.stderr[-2000:]
            live = target
        time.sleep(1.0)  # let the clients see the last generation
        duration = time.monotonic() - started
    latencies = sorted(report.latencies)
    summary = {
        "requests_served": report.served,
        "failures": len(report.failures),
        "seconds": round(duration, 1),
        "writes": len(writes),
        "responses_by_generation": dict(report.generations),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
    }
    record_property("rebuild_under_load", json.dumps(summary))
    print(f"\nSUMMARY rebuild under load: {json.dumps(summary)}")
    assert not report.failures, f"{len(report.failures)} failed: {report.failures[:10]}"
    assert report.served >= 200, summary
    builds = sum(1 for w in writes if w[0].startswith("build"))
    assert builds >= 3 and len(writes) - builds >= 3, writes
    # Clients saw both corpora and the updates: the switches happened under their feet.
    assert {"A", "B"} <= {kind[0] for kind in report.generations}, summary
    assert any(kind.endswith("+update") for kind in report.generations), summary
    assert len(generations(root)) <= 2 and not leftovers(root)


# -- SIGKILL during writes -------------------------------------------------------------------

KILL_RUNS = int(os.environ.get("KILL_RUNS", "6"))


def test_sigkill_during_build_and_update_leaves_a_working_index(corpora, tmp_path,
                                                               record_property):
    root = tmp_path / "index"
    assert run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet").returncode == 0
    long_lived = open_index(root)  # like a server's: opened before any of the kills
    before = answers(root)
    # How long a complete build of the large corpus takes here, for spreading the kill points.
    scratch = tmp_path / "scratch"
    t0 = time.monotonic()
    assert run_cli("build", str(corpora["large"]), "--index", str(scratch), "--quiet").returncode == 0
    full = time.monotonic() - t0
    after_large = answers(scratch)
    shutil.rmtree(scratch)

    rng = random.Random(20241125)
    large_ids = all_ids_of_corpus(corpora["large"])
    kill_points = []
    for run in range(KILL_RUNS):
        command = "update" if run % 3 == 2 else "build"
        delay = rng.uniform(0.05, full * 1.05)
        live_before = (root / CURRENT_FILE).read_text()
        ids_before = all_ids(root)
        stale = set(leftovers(root))
        process = subprocess.Popen(
            [TRIALSEARCH, command, str(corpora["large"]), "--index", str(root), "--quiet"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        if run == 0:
            # One kill for certain in the middle of writing the new generation, whatever the
            # machine's speed: as soon as its temp directory appears.
            wait_for(lambda: set(leftovers(root)) - stale or process.poll() is not None, 60)  # noqa: B023 - called here
            delay = time.monotonic() - t0
        else:
            time.sleep(delay)
        # Where the writer was when killed (as far as the index directory shows).
        holding = lock_holder(root) == f"pid {process.pid}"
        writing = bool(set(leftovers(root)) - stale)
        phase = ("writing the new generation" if writing else "holding the lock" if holding
                 else "starting up (or done)")
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=30)
        finished = process.returncode == 0
        assert process.returncode in (0, -signal.SIGKILL), err[-2000:]
        kill_points.append({"command": command, "delay_s": round(delay, 2), "phase": phase,
                            "completed_before_kill": finished})
        if run == 0:
            # The certain mid-write kill leaves a temp directory; a later build removes it.
            left_by_first_kill = set(leftovers(root)) - stale
        # The live index opens and answers: as before the kill, or (when the kill came after
        # the switch or the commit) exactly as the finished write would have it.
        now = answers(root)
        if command == "build":
            switched = (root / CURRENT_FILE).read_text() != live_before
            assert now == (after_large if switched else before), (run, phase, delay)
        else:  # an update commits all of its studies or none
            assert all_ids(root) in (ids_before, ids_before | large_ids), (run, phase, delay)
        before = now
        assert snapshot(long_lived) == now
        assert generation_path(root) is not None
    long_lived.close()
    # A killed writer's lock dies with it: the next update and build run without --wait.
    result = run_cli("update", str(corpora["A-update"]), "--index", str(root), "--quiet")
    assert result.returncode == 0, result.stderr
    # The next build clears every leftover and keeps at most the previous generation.
    left_by_kills = set(leftovers(root)) | left_by_first_kill
    result = run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet")
    assert result.returncode == 0, result.stderr
    assert not leftovers(root), leftovers(root)
    assert len(generations(root)) <= 2
    assert answers(root)[PROBE_WORD][0] == 10
    phases = Counter(p["phase"] for p in kill_points)
    summary = {"kill_points": len(kill_points), "full_build_s": round(full, 2),
               "by_phase": dict(phases),
               "completed_before_kill": sum(p["completed_before_kill"] for p in kill_points),
               "leftovers_cleaned": len(left_by_kills)}
    record_property("sigkill", json.dumps(summary))
    print(f"\nSUMMARY sigkill: {json.dumps(summary)}\nkill points: {json.dumps(kill_points)}")
    assert len(kill_points) == KILL_RUNS
    # The kills really interrupted writes, and left temp files for the next build to remove.
    assert phases["writing the new generation"] >= 1 and left_by_kills, summary
    assert any(not p["completed_before_kill"] for p in kill_points)




# -- the same in hybrid mode, with the vector filler, a sync and rebuilds at once -------------

SYNC_BASE, SYNC_WORD, SYNCED = 40_000_000, "syncprobe", 20


def sync_studies() -> list[dict]:
    """What the fake registry serves a sync: studies of their own range and word."""
    return [{"protocolSection": {
        "identificationModule": {"nctId": f"NCT{SYNC_BASE + n:08d}",
                                 "briefTitle": f"{SYNC_WORD} kidney dialysis transplant study {n}"},
        "statusModule": {"overallStatus": "RECRUITING",
                         "lastUpdatePostDateStruct": {"date": f"2024-01-{n % 28 + 1:02d}"}},
        "descriptionModule": {"briefSummary": f"{SYNC_WORD} dialysis in kidney failure, arm {n}"}}}
        for n in range(SYNCED)]


def hybrid_loop(url: str, done: threading.Event, report: LoadReport, seed: int) -> None:
    """Alternate a keyword probe (one generation, whole: `classify`) and a hybrid search,
    whose studies found by words or meaning must all come from one build (its corpus and
    what syncs added to it)."""
    rng = random.Random(seed)
    session = requests.Session()
    while not done.is_set():
        hybrid = rng.random() < 0.5
        params = ({"q": f"{PROBE_WORD} stem cell therapy", "per_page": 100, "mode": "hybrid"} if hybrid
                  else {"q": PROBE_WORD, "per_page": 100, "mode": "keyword"})
        started = time.monotonic()
        try:
            response = session.get(f"{url}/api/search", params=params, timeout=15)
            if response.status_code != 200:
                report.fail(f"HTTP {response.status_code} for {params}: {response.text[:200]}")
                continue
            body = response.json()
            if hybrid:
                ranges = {int(hit["nct_id"][3:]) // 10_000_000 for hit in body["results"]} - {SYNC_BASE // 10_000_000}
                assert len(ranges) <= 1, f"mixed generations in a hybrid search: {sorted(ranges)}"
                kind = f"hybrid:{body['mode']}"
            else:
                kind = classify(body)
        except AssertionError as exc:
            report.fail(f"{params}: {exc}")
            continue
        except (requests.RequestException, ValueError) as exc:
            report.fail(f"{params}: {type(exc).__name__}: {exc}")
            continue
        with report.lock:
            report.served += 1
            report.generations[kind] += 1
            report.latencies.append(time.monotonic() - started)


@pytest.mark.live_server
@pytest.mark.timeout(600)  # a first build with vectors, 6 or more writes, then the filler's catching up
def test_filler_rebuilds_and_syncs_under_hybrid_load_lose_nothing(corpora, tmp_path, record_property):
    pytest.importorskip("onnxruntime", reason="meaning search needs the 'semantic' extra")
    ctgov_server = sys.modules.get("ctgov_server")  # the fake registry of tests/registry/
    if ctgov_server is None:  # not imported yet by tests/registry/test_ctgov.py
        spec = importlib.util.spec_from_file_location(
            "ctgov_server", Path(__file__).parents[1] / "registry" / "ctgov_server.py")
        ctgov_server = importlib.util.module_from_spec(spec)
        sys.modules["ctgov_server"] = ctgov_server  # its dataclasses look their module up there
        spec.loader.exec_module(ctgov_server)
    from indexer.search.dense import DenseView, VectorCache
    from indexer.semantic.store import VectorStore

    root = tmp_path / "index"
    first = run_cli("build", str(corpora["A"]), "--index", str(root), "--quiet", "--vectors",
                    timeout=300)
    assert first.returncode == 0, first.stderr
    api, registry = ctgov_server.start(sync_studies())
    report = LoadReport()
    writes: list[tuple[str, float, int]] = []
    try:
        # The server's own filler (`vectors --watch`) computes the vectors of every new build.
        with gunicorn_server(root, env={"TRIALSEARCH_VECTORS": "1"}) as url:
            with clients(hybrid_loop, url, report):
                started = time.monotonic()
                live = "A"
                while time.monotonic() - started < LOAD_SECONDS or len(writes) < 6:
                    assert time.monotonic() - started < 240, f"writes took far too long: {writes}"
                    target = "B" if live == "A" else "A"
                    for command in (["build", str(corpora[target])],
                                    ["sync", "--api-url", api.url, "--since", "2020-01-01",
                                     "--rate", "600000"]):
                        t0 = time.monotonic()
                        result = run_cli(*command, "--index", str(root), "--quiet", "--wait", "60")
                        writes.append((command[0], time.monotonic() - t0, result.returncode))
                        assert result.returncode == 0, result.stderr[-2000:]
                    live = target
            # The clients have stopped. Lose nothing: the filler catches up with the last
            # build and sync.
            caught_up = time.monotonic()
            deadline = caught_up + 240
            while True:
                health = requests.get(f"{url}/api/health", timeout=15).json()
                vectors = health["vectors"]
                if vectors["filling"] is None and vectors["studies"] == health["documents"]:
                    break
                assert time.monotonic() < deadline, health
                time.sleep(1)
            caught_up = time.monotonic() - caught_up
            found = requests.get(f"{url}/api/search", params={"q": "dialysis for failing kidneys",
                                                              "mode": "semantic", "per_page": 100},
                                 timeout=30).json()
    finally:
        registry.shutdown()
    index = open_index(root)
    snap = index.snapshot()
    store = VectorStore(root, readonly=True)
    live_ids = {n for n, alive in zip(snap.nct_ids(), snap.scorer.live) if n and alive}
    assert live_ids <= set(store.hashes()), live_ids - set(store.hashes())
    cache = VectorCache(root)
    cache.refresh()
    view = DenseView(cache, snap.nct_ids(), snap.scorer.live)
    view.sync()
    assert view.covered == len(live_ids) == 340 + SYNCED  # the last build's corpus and the sync
    assert {hit["nct_id"] for hit in found["results"]} >= {f"NCT{SYNC_BASE + n:08d}" for n in range(SYNCED)}
    summary = {"requests_served": report.served, "failures": len(report.failures),
               "writes": len(writes), "responses": dict(report.generations),
               "filler_caught_up_s": round(caught_up, 1)}
    record_property("hybrid_under_load", json.dumps(summary))
    print(f"\nSUMMARY hybrid under load: {json.dumps(summary)}")
    assert not report.failures, f"{len(report.failures)} failed: {report.failures[:10]}"
    assert report.generations["hybrid:hybrid"] > 0 and {"A", "B"} <= set(report.generations), summary
