"""What the reliability tests share (tests/index/test_rebuild_under_load.py and test_write_faults.py; the corpora fixture is in tests/conftest.py): two
recognisable corpora (corpus A's studies are NCT2xxxxxxx with the word "alphamark", corpus B's
NCT3xxxxxxx with "betamark"), the CLI run as a subprocess with a bounded time, and looks at an
index folder (its generations, leftovers, lock and answers). Every subprocess and wait is
bounded; all servers listen on 127.0.0.1 only."""

from __future__ import annotations

import fcntl
import random
import subprocess
import sys
import time
from pathlib import Path

from indexer import open_index
from indexer.index.layout import GENERATION_PREFIX, TEMP_PREFIX
from indexer.model import Study
from indexer.readers import read_sources

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


def all_ids_of_corpus(folder: Path) -> set[str]:
    """Every NCT ID a corpus folder holds."""
    return {item.nct_id for item in read_sources([folder]) if isinstance(item, Study)}
