"""Write faults, with real processes and real index directories: two writers at once (one
waits with `--wait` or fails with the lock message; nothing corrupts), a full disk (a small
tmpfs, or RLIMIT_FSIZE where mounting is not allowed) and a read-only index directory (a
read-only bind mount, or an unprivileged user): a clear error, exit 2, no traceback, and the old
index still serves.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from reliability import (
    CLI_TIMEOUT,
    PROBE_WORD,
    PROBES,
    TRIALSEARCH,
    all_ids,
    all_ids_of_corpus,
    answers,
    assert_clear_error,
    generations,
    leftovers,
    lock_is_free,
    run_cli,
    run_together,
    snapshot,
)

from indexer import open_index
from indexer.index.layout import generation_path, write_lock

pytestmark = pytest.mark.slow  # each test runs real processes for 10-90 s


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
    # Unbuffered: a buffered file would keep the chunk that did not fit and raise ENOSPC again
    # when closed, outside the loop that expects it.
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
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

