"""The filler's side of the shared matrix (matrix.py): keeping the set that searches map in
step with vectors.sqlite3, the filler's record.

`Mirror` opens the live set and makes it agree with the store before a fill starts: a set that
is missing, cannot be read, or holds another model's vectors is written again from the store
(no vector is encoded again for it); a set left behind by a filler that was stopped between
its two writes gets the rows it lacks, or loses the ones the store no longer has. While the
fill runs, each batch the store commits is appended (`append`, `delete`), so searches see it
at their next look; `index` keeps the inverted-file index (nearest.py) over the rows: built
once there are MIN_ROWS rows, extended as rows arrive, trained again as the rows grow fourfold.
A set mostly made of replaced rows is written again whole (`compact`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .deps import SemanticUnavailable
from .matrix import (
    CODES,
    DEAD,
    IDS_FILE,
    ROW_IDS,
    ROWS_FILE,
    MatrixSet,
    create_set,
    current_set,
    nct_number,
    switch_to,
)
from .nearest import MIN_ROWS, NEAREST_FILE, TRAIN_PER_LIST, NearestIndex, available, lists_for
from .store import VectorStore

TAIL_MIN = 2048  # rows appended before the index takes them in ...
TAIL_MAX = 16384  # ... and at most this many: searches scan them exactly meanwhile
ADD_CHUNK = 50_000  # rows decoded and added to the index at a time


class Mirror:
    """The live set of the index at `root`, kept in step with `store` (held open by a filler
    under the filler lock). `say(message)` tells what it is doing when that takes a while."""

    def __init__(self, root: Path, store: VectorStore, say: Callable[[str], None] = lambda _: None):
        self.root, self.store, self.say = root, store, say
        self.set: MatrixSet | None = None
        self.nearest: NearestIndex | None = None
        self._rows_fd = self._ids_fd = -1

    # -- opening and agreeing with the store -------------------------------------------------
    def open(self) -> int:
        """Map the live set (writing a new one when it cannot be used) and make it agree with
        the store; returns how many rows that took."""
        folder = current_set(self.root)
        reusable = None
        if folder is not None and folder.is_dir():
            try:
                found = MatrixSet(folder, self.root)
                found.grow()
                if (found.model, found.dimensions) == (self.store.model, self.store.dimensions):
                    reusable = found
                else:
                    found.close()
            except SemanticUnavailable as exc:
                self.say(f"{exc}: writing it again from {self.store.path.name}")
        if reusable is None:
            return self._new_set()
        self._use(reusable)
        self._load_nearest()
        return self._agree()

    def _new_set(self) -> int:
        """Write a fresh set from every vector in the store and make it the live one."""
        self.close()
        folder = create_set(self.root, self.store.model or "", self.store.dimensions)
        self._use(MatrixSet(folder, self.root))
        self.nearest = None
        count = self.store.count()
        if count:
            self.say(f"writing the {count:,} stored vectors into {folder}")
        added = self._agree()
        switch_to(self.root, folder)
        return added

    def _use(self, found: MatrixSet) -> None:
        self.set = found
        row_bytes = found.dimensions * CODES.itemsize
        # A filler stopped between its two writes leaves codes without ids, or half an id:
        # cut both files back to the rows that count, so the next rows line up.
        self._rows_fd = os.open(found.folder / ROWS_FILE, os.O_WRONLY)
        self._ids_fd = os.open(found.folder / IDS_FILE, os.O_WRONLY)
        os.ftruncate(self._rows_fd, found.rows * row_bytes)
        os.ftruncate(self._ids_fd, found.rows * ROW_IDS.itemsize)

    def _load_nearest(self) -> None:
        path = self.set.folder / NEAREST_FILE
        if available() is not None or not path.is_file():
            return
        try:
            nearest = NearestIndex.load(path)
        except RuntimeError as exc:  # faiss reports a bad file as a RuntimeError
            self.say(f"{path}: cannot be read ({str(exc).splitlines()[0]}); building it again")
            return
        if nearest.rows <= self.set.rows and nearest.index.d == self.set.dimensions:
            self.nearest = nearest

    def _agree(self) -> int:
        """Append the store's vectors the set lacks or holds an older row of; delete those the
        store no longer has. Returns how many rows were appended."""
        wanted = {nct_number(nct_id): seq for nct_id, seq in self.store.seqs().items()}
        held = self._held()
        gone = [number for number in held if number not in wanted]
        if gone:
            self._append(np.array(gone, np.uint32) | DEAD, np.zeros(len(gone), np.uint32),
                         np.zeros((len(gone), self.set.dimensions), np.float32))
        missing = {number for number, seq in wanted.items() if held.get(number) != seq}
        added = 0
        if missing:
            for seqs, nct_ids, vectors in self.store.rows_after(0):
                numbers = np.array([nct_number(n) for n in nct_ids], np.uint32)
                keep = np.isin(numbers, np.fromiter(missing, np.uint32, len(missing)))
                if keep.any():
                    self._append(numbers[keep], seqs[keep], vectors[keep])
                    added += int(keep.sum())
        return added + len(gone)

    def _held(self) -> dict[int, int]:
        """NCT number -> seq of each study the set holds a vector for."""
        if not self.set.rows:
            return {}
        ids, rows = self.set.latest()
        alive = (ids & DEAD) == 0
        return dict(zip(ids[alive].tolist(), self.set.seqs[rows[alive]].tolist()))

    # -- writing ---------------------------------------------------------------------------
    def append(self, nct_ids: list[str], seqs: list[int], vectors: np.ndarray) -> None:
        """Append vectors the store has just committed (with the seqs it gave them)."""
        self._append(np.array([nct_number(n) for n in nct_ids], np.uint32),
                     np.array(seqs, np.uint32), vectors)

    def delete(self, nct_ids: list[str]) -> None:
        """Append deletions of these studies' vectors (the store has just deleted them)."""
        if nct_ids:
            self._append(np.array([nct_number(n) for n in nct_ids], np.uint32) | DEAD,
                         np.zeros(len(nct_ids), np.uint32),
                         np.zeros((len(nct_ids), self.set.dimensions), np.float32))

    def _append(self, numbers: np.ndarray, seqs: np.ndarray, vectors: np.ndarray) -> None:
        rows = self.set.rows
        ids = np.empty(len(numbers), ROW_IDS)
        ids["nct"], ids["seq"] = numbers, seqs
        codes = np.ascontiguousarray(vectors, CODES)
        # Codes first, then ids: a row counts for readers once its id is there.
        os.pwrite(self._rows_fd, codes.tobytes(), rows * codes.shape[1] * CODES.itemsize)
        os.pwrite(self._ids_fd, ids.tobytes(), rows * ROW_IDS.itemsize)
        self.set.grow()

    # -- the index and compaction ------------------------------------------------------------
    def index(self, final: bool = False) -> bool:
        """Bring the inverted-file index up to date when it is due: built once the set has
        MIN_ROWS rows, trained again when the rows have grown fourfold, extended when
        TAIL_MIN to TAIL_MAX rows are not in it yet, or (`final`, at the end of a fill) when
        any are not. Returns whether a new index file was written."""
        if available() is not None or self.set.rows < MIN_ROWS:
            return False
        total = self.set.rows
        indexed = self.nearest.rows if self.nearest is not None else 0
        retrain = self.nearest is None or lists_for(total) >= 2 * self.nearest.lists
        tail = total - indexed
        if not (retrain or tail >= min(max(TAIL_MIN, indexed // 8), TAIL_MAX) or (final and tail)):
            return False
        if retrain:
            lists = lists_for(total)
            self.say(f"indexing {total:,} vectors for nearest-neighbour search "
                     f"({lists:,} k-means lists)")
            sample = np.random.default_rng(11).choice(total, min(total, TRAIN_PER_LIST * lists),
                                                      replace=False)
            self.nearest = NearestIndex.train(self.set.codes[np.sort(sample)].astype(np.float32),
                                              lists)
            indexed = 0
        for start in range(indexed, total, ADD_CHUNK):
            self.nearest.add(self.set.codes[start:min(total, start + ADD_CHUNK)].astype(np.float32))
        self.nearest.save(self.set.folder / NEAREST_FILE)
        return True

    def replaced(self) -> int:
        """How many rows are no study's vector (replaced or deleted)."""
        if not self.set.rows:
            return 0
        ids, _ = self.set.latest()
        return self.set.rows - int(((ids & DEAD) == 0).sum())

    def compact(self) -> bool:
        """Write the set again without its replaced rows when they are a quarter of it or
        more (a new set, then switched to); returns whether it did."""
        dead = self.replaced()
        if dead < max(1024, self.set.rows // 4):
            return False
        self.say(f"writing the vectors again without {dead:,} replaced rows")
        self._new_set()
        return True

    def close(self) -> None:
        """Close the set's files."""
        for fd in (self._rows_fd, self._ids_fd):
            if fd >= 0:
                os.close(fd)
        self._rows_fd = self._ids_fd = -1
        if self.set is not None:
            self.set.close()
            self.set = None
