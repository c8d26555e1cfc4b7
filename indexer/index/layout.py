"""The one owner of an index folder's layout: its file names, its write lock, how a file in it
is replaced, and where the live generation is.

    index_data/
      CURRENT              name of the live generation (replaced atomically)
      write.lock           flock()ed by whichever build/update/delete is running
      sync.json            where `trialsearch sync` got to
      sync/                the pages a sync downloads, kept until it has updated the index
      vectors.sqlite3      study vectors for meaning search, kept across generations: the
                           filler's record of what was encoded from which text
      vectors/             the same vectors as the searches read them, memory-mapped and
                           shared by every server process (indexer/semantic/matrix.py)
      vectors.lock         flock()ed by whichever process is computing vectors
      gen-20261125T101500-3f2a/   a Whoosh index plus meta.json and abbreviations.json;
                           beside each segment's files, its tables (`<segment>.tbl`: every
                           document's facet values, sites, age limits and field lengths as
                           arrays, see `indexer.index.tables`)
      .tmp-gen-.../        a build in progress (removed by the next build if it was killed)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IndexLockedError, IndexNotFoundError, IndexWriteError

DEFAULT_INDEX = "index_data"  # the CLI's and web app's index folder unless told otherwise
CURRENT_FILE = "CURRENT"
LOCK_FILE = "write.lock"
SYNC_FILE = "sync.json"
SYNC_FOLDER = "sync"
VECTORS_FILE = "vectors.sqlite3"  # study vectors by NCT ID: reused by every generation
VECTORS_LOCK = "vectors.lock"
VECTORS_DIR = "vectors"  # the memory-mapped vectors searches read (indexer/semantic/matrix.py)
META_FILE = "meta.json"  # in a generation: build and update times, sources, counts
ABBREVIATIONS_FILE = "abbreviations.json"  # in a generation: the pairs it expands
SEGMENT_TABLES_EXT = ".tbl"  # beside a segment's files: its tables (indexer.index.tables)
GENERATION_PREFIX = "gen-"
TEMP_PREFIX = ".tmp-"


def generation_path(root: str | os.PathLike) -> Path | None:
    """The live generation's directory, or None when no index has been built at `root`."""
    pointer = Path(root) / CURRENT_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):  # nothing built, or `root` is a file
        return None
    path = Path(root) / name
    return path if name and path.is_dir() else None


def require_generation(root: str | os.PathLike) -> Path:
    """The live generation's directory. Raises IndexNotFoundError, saying how to build one,
    when there is none."""
    generation = generation_path(root)
    if generation is None:
        raise IndexNotFoundError(f"no index at {root}; run `trialsearch build SOURCE --index {root}`")
    return generation


def read_meta(generation: Path) -> dict:
    """The generation's meta.json (build time, sources, counts), or {} if unreadable."""
    try:
        return json.loads((generation / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, through a hidden temp file beside it, so a
    reader sees the old file or the new one, never half of one."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def write_error(root: Path, exc: OSError) -> IndexWriteError:
    """The error for a write the disk refused, naming the folder and the reason."""
    reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
    return IndexWriteError(
        f"could not write the index at {root}: {reason} ({exc.filename or root}); "
        "the live index was not changed"
    )


@contextlib.contextmanager
def write_lock(root: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's exclusive write lock, waiting up to `wait` seconds for it."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a write the disk refuses fails here, not again when the file is closed.
        handle = open(root / LOCK_FILE, "a+b", buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:  # a read-only or full disk, a directory we may not write
        raise write_error(root, exc) from exc
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().decode("utf-8", "replace").strip() or "another process"
                    raise IndexLockedError(
                        f"the index at {root} is locked by a running build or update "
                        f"({holder}); try again when it finishes, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.1)
        with contextlib.suppress(OSError):  # who holds it is a courtesy; a full disk may refuse
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_generation_name() -> str:
    """A fresh generation folder name: `gen-` and the UTC time, made unique."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{GENERATION_PREFIX}{stamp}-{secrets.token_hex(3)}"


def remove_stale(root: Path, keep: set[str]) -> None:
    """Delete leftover temp builds and generations older than the ones in `keep`.

    The previous generation is kept so a server that opened it just before the switch can
    finish its request.
    """
    for child in root.iterdir():
        if child.name.startswith(TEMP_PREFIX) or (
            child.name.startswith(GENERATION_PREFIX) and child.name not in keep
        ):
            shutil.rmtree(child, ignore_errors=True)
