"""Reliability under load and faults, with real processes on 127.0.0.1 and real index dirs.

* Rebuild under load: a gunicorn server (`trialsearch serve`, 2 workers) answers 8 client
  threads for ~20 s while `trialsearch build` and `trialsearch update` run again and again in
  subprocesses, alternating between two corpora whose results are recognisable (corpus A's
  studies are NCT2xxxxxxx and carry the word "alphamark", corpus B's NCT3xxxxxxx "betamark").
  Every response must come entirely from one generation, never empty, never failed.
* SIGKILL: `trialsearch build` (and `update`) killed with -9 at seeded random points, one of
  them for certain while the new generation is being written; the live index still opens and
  answers as before (or exactly as the finished write), and the next build removes leftovers.
* Two writers at once: one waits (`--wait`) or fails with the lock message; nothing corrupts.

Each of the load and kill tests prints a `SUMMARY ...` line with what it measured (requests
served, failures, responses per generation; kill points by phase); `pytest -rP` shows them.
* Disk full (a small tmpfs, or RLIMIT_FSIZE where mounting is not allowed) and a read-only
  index directory (a read-only bind mount, or an unprivileged user): a clear error, exit 2, no
  traceback, and the old index still serves.

Every subprocess and wait is bounded; all servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from live import gunicorn_server

from indexer import open_index
from indexer.index.layout import CURRENT_FILE, GENERATION_PREFIX, TEMP_PREFIX, generation_path, write_lock
from indexer.model import Study
from indexer.readers import read_sources

pytestmark = pytest.mark.slow  # each test runs real processes for 10-90 s

TRIALSEARCH = str(Path(sys.executable).with_name("trialsearch"))
CLI_TIMEOUT = 120  # seconds for any one CLI run; a hang is a failure, not a stuck CI job

FILLER_WORDS = ("liver cirrhosis hepatic fibrosis stem cell therapy infusion randomized placebo "
                "controlled trial diabetes insulin glucose metformin asthma inhaled steroid "
                "stroke aspirin rehabilitation kidney dialysis transplant vaccine immunogenicity "
                "pain opioid sleep insomnia obesity exercise diet breast cancer chemotherapy "
                "radiotherapy lung tumour biomarker cohort registry children adults elderly").split()

# Corpus A and corpus B: disjoint NCT ID ranges and a marker word in every probe study.
CORPORA = {"A": (20_000_000, "alphamark"), "B": (30_000_000, "betamark")}
PROBE_WORD = "loadprobe"  # every probe study of both corpora has it; filler studies never do
PROBES = 40  # probe studies per corpus (all fit on one page of results)
FILLER = 300  # non-matching studies per corpus: builds take a second or two, several fit in 20 s
LARGE_FILLER = 1000  # the corpus killed mid-build and fought over: builds take a few seconds


def study_text(nct_id: str, title: str, summary: str, status: str = "RECRUITING") -> str:
    """One study in the plain-text export layout."""
    return (f"Viewing Study {nct_id}\n\nStudy NCT ID: {nct_id}\nStatus: {status}\n"
            f"First Post: 2023-03-0{int(nct_id[-1]) % 9 + 1}\n\nBrief Title: {title}\n\n"
            f"Study Overview\n\nBrief Summary: {summary}\n\n")


def write_corpus(folder: Path, name: str, *, probes: int = PROBES, filler: int = FILLER,
                 revision: str = "", seed: int = 0) -> Path:
    """Write corpus `name` ("A"/"B"): `probes` studies matching PROBE_WORD and the corpus
    marker, then `filler` studies that match neither; 200 studies per file."""
    base, marker = CORPORA[name]
    rng = random.Random(seed or base)
    folder.mkdir(parents=True, exist_ok=True)
    studies = []
    for n in range(probes + filler):
        nct_id = f"NCT{base + n:08d}"
        words = " ".join(rng.choice(FILLER_WORDS) for _ in range(8))
        prose = " ".join(rng.choice(FILLER_WORDS) for _ in range(60))
        if n < probes:
            title = f"{marker} {PROBE_WORD} {words} {revision}".strip()
            summary = f"{marker} {PROBE_WORD} {prose}"
        else:
            title, summary = words, prose
        studies.append(study_text(nct_id, title, summary))
    for start in range(0, len(studies), 200):
        (folder / f"{name}-{start:05d}.txt").write_text("".join(studies[start:start + 200]),
                                                        encoding="utf-8")
    return folder


def run_cli(*args: str, timeout: float = CLI_TIMEOUT, **popen) -> subprocess.CompletedProcess:
    """Run `trialsearch ARGS` to completion (bounded), capturing output as text."""
    return subprocess.run([TRIALSEARCH, *args], capture_output=True, text=True, timeout=timeout,
                          **popen)


def run_together(*commands: list[str], index: Path, prefix: list[str] = (),
                 **popen) -> list[subprocess.CompletedProcess]:
    """Run several `trialsearch` commands at once (the CLI's two-second start-up is paid in
    parallel), bounded; their results in order."""
    processes = [subprocess.Popen([*prefix, TRIALSEARCH, *args, "--index", str(index)], text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
                 for args in commands]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=CLI_TIMEOUT)
            results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results


def assert_clear_error(result: subprocess.CompletedProcess, *phrases: str) -> None:
    """Exit 2 with an `Error: ...` message holding `phrases`, and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert "Traceback" not in output, output[-3000:]
    assert "Error:" in result.stderr, output[-2000:]
    for phrase in phrases:
        assert phrase in output, (phrase, output[-2000:])


def answers(index_path: Path) -> dict:
    """What a freshly opened index answers to a few probe queries (ids and totals)."""
    index = open_index(index_path)
    try:
        return snapshot(index)
    finally:
        index.close()


def snapshot(index) -> dict:
    out = {"documents": index.stats()["documents"]}
    for q in (PROBE_WORD, "liver cirrhosis", "status:recruiting", "alphamark OR betamark"):
        result = index.search(q, per_page=100, facets=False, highlights=False)
        out[q] = (result.total, sorted(hit.nct_id for hit in result.hits))
    return out


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(TEMP_PREFIX))


def generations(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(GENERATION_PREFIX))


def wait_for(predicate, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


def lock_holder(root: Path) -> str:
    """What the write lock file says: "pid N" from the process that took the lock last (it is
    emptied on release, but not by a process killed while holding it)."""
    try:
        return (root / "write.lock").read_text().strip()
    except OSError:
        return ""


def lock_is_free(root: Path) -> bool:
    """True if nobody holds the index's write lock (probed with a non-blocking flock)."""
    with open(root / "write.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def all_ids(root: Path) -> set[str]:
    index = open_index(root)
    try:
        return {term.decode() if isinstance(term, bytes) else term
                for term in index.searcher().lexicon("nct_id")}
    finally:
        index.close()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("corpora")
    return {
        "A": write_corpus(base / "A", "A"),
        "B": write_corpus(base / "B", "B"),
        # Upserts of corpus A's (B's) probe studies: same IDs and marker, a revised title.
        "A-update": write_corpus(base / "A-update", "A", filler=0, revision="revised"),
        "B-update": write_corpus(base / "B-update", "B", filler=0, revision="revised"),
        # A larger corpus for kills and lock contention (builds take a few seconds).
        "large": write_corpus(base / "large", "B", probes=PROBES, filler=LARGE_FILLER, seed=99),
        "small": write_corpus(base / "small", "A", probes=10, filler=10),
    }


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
    with gunicorn_server(root) as url:
        done = threading.Event()
        clients = [threading.Thread(target=client_loop, args=(url, done, report, n), daemon=True)
                   for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in clients:
            thread.start()
        try:
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
        finally:
            done.set()
            for thread in clients:
                thread.join(timeout=30)
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


def all_ids_of_corpus(folder: Path) -> set[str]:
    return {item.nct_id for item in read_sources([folder]) if isinstance(item, Study)}


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


# -- two writers at once ---------------------------------------------------------------------

def test_a_second_writer_fails_with_the_lock_message_or_waits_for_it(corpora, tmp_path):
    root = tmp_path / "index"
    assert run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet").returncode == 0
    before = answers(root)
    # Another writer (this test process, a real flock) holds the lock: a build or update
    # without --wait is refused at once, naming the holder; one with --wait queues.
    with write_lock(root):
        for refused in run_together(["update", str(corpora["A-update"]), "--quiet"],
                                    ["build", str(corpora["small"]), "--quiet"],
                                    ["delete", "NCT20000001"], index=root):
            assert_clear_error(refused, "locked by a running build or update",
                               f"pid {os.getpid()}", "--wait")
        waiting = subprocess.Popen(
            [TRIALSEARCH, "update", str(corpora["A-update"]), "--index", str(root), "--quiet",
             "--wait", "90"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2.0)
            assert waiting.poll() is None, waiting.communicate()[1][-2000:]
            assert answers(root) == before, "a writer changed the index while the lock was held"
        except BaseException:
            waiting.kill()
            raise
    _, err = waiting.communicate(timeout=CLI_TIMEOUT)
    assert waiting.returncode == 0, err[-2000:]
    assert answers(root)[f"{PROBE_WORD}"][0] == PROBES  # the queued update ran after release
    assert lock_is_free(root)

    # Real processes racing: a long build and two updates, all with --wait: all succeed, one
    # after the other, and the result is one of the orders (never a mix).
    racers = run_together(["build", str(corpora["large"]), "--quiet", "--wait", "120"],
                          ["update", str(corpora["B-update"]), "--quiet", "--wait", "120"],
                          ["update", str(corpora["A-update"]), "--quiet", "--wait", "120"],
                          index=root)
    for result in racers:
        assert result.returncode == 0, result.stderr[-2000:]
    large = all_ids_of_corpus(corpora["large"])
    a_update = all_ids_of_corpus(corpora["A-update"])
    # An update before the build is replaced by it; one after it is upserted into it (the
    # B-update's IDs are the large corpus's probes, the A-update's are new to it).
    assert all_ids(root) in (large, large | a_update)
    revised = open_index(root).search(f"betamark AND {PROBE_WORD} AND revised", per_page=100).total
    assert revised in (0, PROBES), revised
    assert lock_is_free(root) and not leftovers(root) and len(generations(root)) <= 2


def test_two_updates_at_once_serialize_or_refuse_cleanly(corpora, tmp_path):
    root = tmp_path / "index"
    assert run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet").returncode == 0
    # Two updates started together without --wait: one runs, the other is refused with the
    # lock message (or, if the first finished before the second started, both run).
    names = ("A", "B")
    results = run_together(*(["update", str(corpora[name]), "--quiet"] for name in names),
                           index=root)
    applied = all_ids_of_corpus(corpora["small"])
    for name, result in zip(names, results):
        if result.returncode:
            assert_clear_error(result, "locked by a running build or update")
        else:
            applied |= all_ids_of_corpus(corpora[name])
    assert any(result.returncode == 0 for result in results)
    # Each update committed all of its studies or none.
    assert all_ids(root) == applied
    assert lock_is_free(root)


# -- disk full ---------------------------------------------------------------------------------

def _run_privileged(*command: str) -> bool:
    try:
        return subprocess.run(list(command), capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str):
    """A tmpfs of `size` mounted at `path` (root only); yields False where mounting fails."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _run_privileged("mount", "-t", "tmpfs", "-o",
                                                 f"size={size},mode=0755", "tmpfs", str(path)):
        yield False
        return
    try:
        yield True
    finally:
        if not _run_privileged("umount", str(path)):
            _run_privileged("umount", "-l", str(path))


def fill_disk(folder: Path, leave_bytes: int) -> Path:
    """Fill the filesystem holding `folder`, then free about `leave_bytes`."""
    filler = folder / "filler.bin"
    chunk = b"\0" * (64 * 1024)
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - leave_bytes))
    return filler


def _limit_file_size(limit: int):
    def apply() -> None:
        # Without SIGXFSZ's default action (kill) a write past the limit fails with EFBIG.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_disk_full_is_a_clear_error_and_the_old_index_still_serves(corpora, tmp_path):
    mountpoint = tmp_path / "disk"
    with small_tmpfs(mountpoint, "6m") as mounted:
        root = mountpoint / "index"
        result = run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet")
        assert result.returncode == 0, result.stderr
        served = open_index(root)
        before = snapshot(served)
        if mounted:
            # A real ENOSPC: the filesystem is full but for a little room, so the build fails
            # part-way through writing the new generation.
            filler = fill_disk(mountpoint, leave_bytes=256 * 1024)
            limit = {}
            phrases = ("disk full",)
        else:
            # No mount here: a file-size limit makes the writes fail with EFBIG instead.
            filler = None
            limit = {"preexec_fn": _limit_file_size(200 * 1024)}
            phrases = ()
        generation = generation_path(root)
        files_before = {p.name for p in generation.iterdir()}
        for args in (["build", str(corpora["large"])], ["update", str(corpora["large"])]):
            failed = run_cli(*args, "--index", str(root), "--quiet", **limit)
            assert_clear_error(failed, "could not write the index", "was not changed", *phrases)
            assert snapshot(served) == before
            assert answers(root) == before
            assert not leftovers(root) and lock_is_free(root)
            assert generation_path(root) == generation
        # (Whoosh's lock file is not a partial segment: the first update creates it.)
        partial = {p.name for p in generation.iterdir()} - files_before - {"MAIN_WRITELOCK"}
        # With room again, writes succeed, and the next commit removes the failed update's
        # partial segment files.
        if filler:
            filler.unlink()
        assert run_cli("update", str(corpora["A-update"]), "--index", str(root),
                       "--quiet").returncode == 0
        assert not partial & {p.name for p in generation.iterdir()}, partial
        assert snapshot(served)[PROBE_WORD][0] == PROBES
        assert run_cli("build", str(corpora["small"]), "--index", str(root),
                       "--quiet").returncode == 0
        assert not leftovers(root) and len(generations(root)) <= 2
        served.close()
    print(f"\ndisk full simulated with {'a full tmpfs (ENOSPC)' if mounted else 'RLIMIT_FSIZE (EFBIG)'}")


# -- read-only index directory ---------------------------------------------------------------

@contextlib.contextmanager
def read_only(path: Path):
    """Make `path` read-only for the CLI: as root a read-only bind mount, or failing that, the
    CLI run as `nobody`; otherwise its directories chmod 555. Yields extra run_together
    options, or skips with the reason."""
    if os.geteuid() != 0:
        folders = [path, *(p for p in path.rglob("*") if p.is_dir())]
        for folder in folders:
            folder.chmod(0o555)
        try:
            yield {}
        finally:
            for folder in folders:
                folder.chmod(0o755)
        return
    if _run_privileged("mount", "--bind", str(path), str(path)):
        try:
            if _run_privileged("mount", "-o", "remount,ro,bind", str(path)):
                yield {}
                return
        finally:
            if not _run_privileged("umount", str(path)):
                _run_privileged("umount", "-l", str(path))
    setpriv = shutil.which("setpriv")
    if setpriv and _run_privileged(setpriv, "--reuid=nobody", "--regid=nogroup",
                                   "--clear-groups", "true"):
        yield {"prefix": [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]}
        return
    pytest.skip("as root, with neither a read-only bind mount nor setpriv available, "
                "a read-only index directory cannot be simulated here")


def test_read_only_index_directory_is_a_clear_error_and_still_serves(corpora):
    # A world-readable directory outside pytest's private tmp tree, so `nobody` can read it.
    base = Path(tempfile.mkdtemp(prefix="trialsearch-ro-"))
    try:
        base.chmod(0o755)
        root = base / "index"
        assert run_cli("build", str(corpora["small"]), "--index", str(root), "--quiet").returncode == 0
        before = answers(root)
        with read_only(root) as options:
            *failures, found = run_together(
                ["build", str(corpora["small"])], ["update", str(corpora["small"])],
                ["delete", "NCT20000001"], ["search", PROBE_WORD, "--json"],
                index=root, prefix=options.get("prefix", []))
            for failed in failures:
                assert_clear_error(failed, "could not write the index", "was not changed")
            # Searching a read-only index works.
            assert found.returncode == 0, found.stderr
            assert json.loads(found.stdout)["total"] == 10
        assert answers(root) == before
    finally:
        shutil.rmtree(base, ignore_errors=True)
