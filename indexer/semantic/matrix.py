"""The study vectors as searches read them: one memory-mapped matrix beside the index, shared
by every server process through the page cache, so each process adds a few MB of its own for
vectors however many studies there are.

    index_data/vectors/
      CURRENT              the live set's folder name (replaced atomically)
      set-<time>-<hex>/
        meta.json          format, model, dimensions
        rows.f16           row r: its vector, `dimensions` little-endian float16
        rows.ids           row r: two little-endian uint32, the study's NCT number (with the
                           DEAD bit set: the study's vector was deleted) and the seq of the
                           vectors.sqlite3 row it was written from
        nearest.faiss      the inverted-file index over the first rows (nearest.py)

`vectors.sqlite3` (store.py) stays the filler's record: which vector was encoded from which
text, in float32, written in transactions. This set is derived from it and can always be
written again from it (`MatrixWriter` does when the set is missing, damaged or of another
model). Rows are only ever appended: a study whose text changed gets a new row, and a
study's latest row is its vector, so a reader picks up a filler at work by reading the rows
added since it last looked (codes first, then ids: a row counts once its id is there). A set
with many superseded rows is written again whole, as a new set, and CURRENT switched to it.
"""

from __future__ import annotations

import json
import mmap
import os
import secrets
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..index.layout import CURRENT_FILE, VECTORS_DIR, VECTORS_FILE, write_atomically
from .deps import SemanticUnavailable

FORMAT = 1
CODES = np.dtype("<f2")
ROW_IDS = np.dtype([("nct", "<u4"), ("seq", "<u4")])
DEAD = np.uint32(0x8000_0000)  # in `nct`: the study's vector was deleted
ROWS_FILE, IDS_FILE, META_FILE = "rows.f16", "rows.ids", "meta.json"
SET_PREFIX = "set-"


def nct_number(nct_id: str) -> int:
    """NCT01234567 -> 1234567: every NCT ID is NCT and 8 digits, so a uint32 holds it."""
    return int(nct_id[3:])


def nct_numbers(nct_ids: list[str | None]) -> np.ndarray:
    """The NCT number of each ID (0 where there is none), as uint32."""
    return np.array([int(n[3:]) if n else 0 for n in nct_ids], dtype=np.uint32)


def nct_id_of(number: int) -> str:
    """1234567 -> NCT01234567."""
    return f"NCT{number:08d}"


def repair_hint(root: Path) -> str:
    """What to run when the set cannot be read."""
    return (f"run `trialsearch vectors --index {root}` to write it again from {VECTORS_FILE} "
            f"(or delete {VECTORS_FILE} and {VECTORS_DIR}/ to compute every vector again)")


def current_set(root: Path) -> Path | None:
    """The live set's folder, or None when there is none."""
    try:
        name = (root / VECTORS_DIR / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return root / VECTORS_DIR / name if name else None


def stored_model(root: Path) -> str | None:
    """The model id the live set's vectors come from, or None when there is no readable set."""
    folder = current_set(root)
    try:
        return json.loads((folder / META_FILE).read_text(encoding="utf-8"))["model"] if folder else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


class MatrixSet:
    """One set folder, mapped for reading: `codes` (rows × dimensions float16, a view of the
    mapped file), `ids` (each row's NCT number, DEAD bit included) and `seqs`; `grow()` maps
    the rows appended since. Raises SemanticUnavailable, saying how to repair it, when the set
    cannot be read."""

    def __init__(self, folder: Path, root: Path) -> None:
        self.folder, self.root = folder, root
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, not {FORMAT}")
            self.model: str = meta["model"]
            self.dimensions = int(meta["dimensions"])
            self._rows_fd = os.open(folder / ROWS_FILE, os.O_RDONLY)
            self._ids_fd = os.open(folder / IDS_FILE, os.O_RDONLY)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise self.damaged(exc) from exc
        self.rows = 0
        self.codes = np.zeros((0, self.dimensions), CODES)
        self.ids = np.zeros(0, np.uint32)
        self.seqs = np.zeros(0, np.uint32)
        self._map: mmap.mmap | None = None

    def damaged(self, why) -> SemanticUnavailable:
        """The error for a set that cannot be read."""
        return SemanticUnavailable(f"{self.folder}: cannot be read as a vectors file ({why}); "
                                   + repair_hint(self.root))

    def grow(self) -> int:
        """Map the rows appended since the last call; how many there were."""
        row_bytes = self.dimensions * CODES.itemsize
        try:
            ids_size = os.fstat(self._ids_fd).st_size
            rows_size = os.fstat(self._rows_fd).st_size
        except OSError as exc:
            raise self.damaged(exc) from exc
        count = ids_size // ROW_IDS.itemsize
        if count <= self.rows:
            return 0
        if rows_size < count * row_bytes:  # ids are written after their codes: never so
            raise self.damaged(f"{count} row ids but {rows_size // row_bytes} rows")
        new = np.frombuffer(os.pread(self._ids_fd, (count - self.rows) * ROW_IDS.itemsize,
                                     self.rows * ROW_IDS.itemsize), ROW_IDS)
        self.ids = np.concatenate([self.ids, new["nct"]])
        self.seqs = np.concatenate([self.seqs, new["seq"]])
        # A new map of the whole file (a map does not grow); the old one goes with its views.
        self._map = mmap.mmap(self._rows_fd, count * row_bytes, prot=mmap.PROT_READ)
        self.codes = np.frombuffer(self._map, CODES).reshape(count, self.dimensions)
        added, self.rows = count - self.rows, count
        return added

    def latest(self) -> tuple[np.ndarray, np.ndarray]:
        """Each study's latest row: (NCT numbers with the DEAD bit, row numbers), by number."""
        numbers = self.ids & ~DEAD
        reversed_first = np.unique(numbers[::-1], return_index=True)[1]
        rows = self.rows - 1 - reversed_first
        return self.ids[rows], rows

    def close(self) -> None:
        """Unmap the rows and close the files (views of `codes` held elsewhere stay valid)."""
        for fd in (self._rows_fd, self._ids_fd):
            os.close(fd)
        self._rows_fd = self._ids_fd = -1
        self._map = None


def create_set(root: Path, model: str, dimensions: int) -> Path:
    """A new, empty set folder (not yet live: see `switch_to`)."""
    folder = root / VECTORS_DIR / (f"{SET_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-"
                                   f"{secrets.token_hex(3)}")
    folder.mkdir(parents=True)
    for name in (ROWS_FILE, IDS_FILE):
        (folder / name).touch()
    write_atomically(folder / META_FILE, json.dumps(
        {"format": FORMAT, "model": model, "dimensions": dimensions,
         "created": datetime.now(UTC).isoformat(timespec="seconds")}))
    return folder


def switch_to(root: Path, folder: Path) -> None:
    """Make `folder` the live set, and delete the sets before it (a process still reading
    one keeps its mapped files until it lets go of them)."""
    write_atomically(root / VECTORS_DIR / CURRENT_FILE, folder.name + "\n")
    for old in (root / VECTORS_DIR).glob(f"{SET_PREFIX}*"):
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
