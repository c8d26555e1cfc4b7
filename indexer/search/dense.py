"""Meaning-level retrieval: the studies whose vectors lie nearest a query's.

`VectorCache` maps the shared matrix of an index folder (`indexer.semantic.matrix`: float16
rows in one file beside the index, which every server process shares through the page cache)
and its inverted-file index (`indexer.semantic.nearest`), and maps again what a filler at work
in another process appended since the last look, search by search. `DenseView` lines the rows
up with one snapshot's document numbers (a study's vector is its latest row, found by its NCT
number). A search reads the index's nearest lists for a shortlist, under the filter as a
bitmap of rows, plus the rows appended since the index was written, and scores the shortlist
again exactly from the float16 rows: the 8-bit codes only choose which rows are looked at.
A filter that leaves few studies is scored exactly, row by row.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from ..index.layout import CURRENT_FILE, VECTORS_DIR
from ..semantic.deps import SemanticUnavailable
from ..semantic.matrix import DEAD, MatrixSet, current_set, nct_numbers, repair_hint
from ..semantic.nearest import NEAREST_FILE, SHORTLIST, NearestIndex, available
from ..semantic.store import VectorStore

# A study is a meaning match when its vector is at least this similar to the query's: semantic
# mode shows all of them, hybrid fuses the nearest FUSION_DEPTH. Over the 11,985 shared
# studies `exosomes` has 14 (the 4 exosome studies, then extracellular vesicles), `whooping
# cough` 248, `covid vaccine` 3,737. Without a floor every query would add FUSION_DEPTH
# studies, however unrelated; the floor costs 0.06 nDCG@10 only in the judged pool, where
# every candidate is on topic (docs/evaluation.md).
MIN_SIMILARITY = 0.3
# Allowed studies scored exactly, row by row, rather than through the index: at 500,000 rows
# the exact scan of 12,000 float16 rows costs about what the index costs to read the lists a
# filter that narrow needs (about 8 ms of CPU); below it the scan is cheaper (3.3 ms against
# 5.6 ms for 5,800 studies, 1.7 against 23 ms for 2,500), above it the index (docs/benchmarks.md).
EXACT_BELOW = 12_000
MARGIN = 0.02  # below the floor, 8-bit similarities still worth scoring exactly
BLOCK = 16_384  # rows converted from float16 at a time (bounds a scan's memory)
log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class VectorCache:
    """The live set of the shared matrix of the index at `root`, mapped; `epoch` changes
    when a filler switched to a new set (views then start over)."""

    def __init__(self, root) -> None:
        self.root = Path(root)
        self.model: str | None = None
        self.set: MatrixSet | None = None
        self.nearest: NearestIndex | None = None
        self.epoch = 0
        self._current: tuple | None = None
        self._nearest: tuple | None = None
        self._store: VectorStore | None = None
        self._no_index_said = False

    @property
    def size(self) -> int:
        """How many rows are mapped (a replaced vector's old row included)."""
        return self.set.rows if self.set is not None else 0

    def filling(self) -> dict | None:
        """How far a filler at work on the vectors file has got ({"done", "total"}), or None."""
        try:
            if self._store is None and VectorStore.exists(self.root):
                self._store = VectorStore(self.root, readonly=True)
            return self._store.filling() if self._store is not None else None
        except (SemanticUnavailable, sqlite3.Error):  # the filler's record, damaged: the
            return None  # filler says so when it runs; searches read the shared matrix

    def refresh(self) -> bool:
        """Map the rows (or the new set, or the new index) written since the last call;
        whether there were any. Raises SemanticUnavailable, saying how to repair it, when the
        set cannot be read."""
        changed = False
        stamp = _stamp(self.root / VECTORS_DIR / CURRENT_FILE)
        if stamp != self._current:
            self._drop()
            folder = current_set(self.root)
            if folder is not None:
                self.set = MatrixSet(folder, self.root)
                self.model = self.set.model
            self._current, changed = stamp, True
        if self.set is None:
            return changed
        try:
            changed |= self.set.grow() > 0
            changed |= self._map_nearest()
        except Exception:
            self._current = None  # opened again, and the damage said again, on the next call
            raise
        return changed

    def _map_nearest(self) -> bool:
        path = self.set.folder / NEAREST_FILE
        stamp = _stamp(path)
        if stamp == self._nearest:
            return False
        self._nearest = stamp
        why_not = available()
        if stamp is None or why_not is not None:
            if why_not is not None and not self._no_index_said:
                log.warning("meaning search: %s", why_not)
                self._no_index_said = True
            self.nearest = None
        else:
            try:
                self.nearest = NearestIndex.open(path)
            except SemanticUnavailable as exc:
                raise SemanticUnavailable(f"{exc}; {repair_hint(self.root)}") from exc
        return True

    def _drop(self) -> None:
        if self.set is not None:
            self.set.close()
        self.set, self.nearest, self.model, self._nearest = None, None, None, None
        self.epoch += 1

    def close(self) -> None:
        """Let go of the mapped files."""
        self._drop()
        if self._store is not None:
            self._store.close()
            self._store = None


class DenseView:
    """One snapshot's view of a `VectorCache`: the matrix row of each live document."""

    def __init__(self, cache: VectorCache, nct_ids: list[str | None], live: np.ndarray) -> None:
        self.cache = cache
        self.live = live
        numbers = nct_numbers(nct_ids)
        numbers[~live[:len(numbers)]] = 0  # a deleted document has no vector
        self._order = np.argsort(numbers, kind="stable").astype(np.int32)
        self._numbers = numbers[self._order]
        self.rows = np.full(len(nct_ids), -1, dtype=np.int32)  # document -> row
        self._row_doc = np.zeros(0, np.int32)  # row -> document (-1: none of this snapshot's)
        self._epoch: int | None = None
        self._seen = 0  # rows of the cache applied
        self._every: np.ndarray | None = None  # the index's bitmap of rows with a document

    def sync(self) -> None:
        """Apply the rows the cache gained since the last call."""
        cache = self.cache
        if cache.epoch != self._epoch:  # a new set: start over
            self._epoch, self._seen = cache.epoch, 0
            self.rows[:] = -1
            self._row_doc = np.zeros(0, np.int32)
        if cache.size == self._seen:
            return
        ids = cache.set.ids[self._seen:cache.size]
        numbers = ids & ~DEAD
        at = np.minimum(np.searchsorted(self._numbers, numbers), len(self._numbers) - 1)
        found = (self._numbers[at] == numbers) & (numbers != 0)
        docnums = np.where(found, self._order[at], -1)
        new_rows = np.arange(self._seen, cache.size, dtype=np.int32)
        self._row_doc = np.concatenate([self._row_doc, np.full(len(ids), -1, np.int32)])
        mine = docnums >= 0
        docnums, new_rows, dead = docnums[mine], new_rows[mine], (ids[mine] & DEAD) != 0
        # A study's latest row wins: the last of its rows in this stretch.
        last = len(docnums) - 1 - np.unique(docnums[::-1], return_index=True)[1]
        docnums, new_rows, dead = docnums[last], new_rows[last], dead[last]
        old = self.rows[docnums]
        self._row_doc[old[old >= 0]] = -1
        self.rows[docnums] = np.where(dead, -1, new_rows)
        self._row_doc[new_rows[~dead]] = docnums[~dead]
        self._seen = cache.size
        self._every = None

    @property
    def covered(self) -> int:
        """How many live documents have a vector."""
        return int(np.count_nonzero(self.rows >= 0))

    def vector_of(self, docnum: int) -> np.ndarray | None:
        """A document's vector, or None when it has none yet."""
        row = self.rows[docnum]
        return self.cache.set.codes[row].astype(np.float32) if row >= 0 else None

    def similarity(self, vector: np.ndarray, docnums: np.ndarray) -> np.ndarray:
        """The cosine similarity of each of `docnums` to `vector` (NaN for a study without a
        vector yet)."""
        rows = self.rows[docnums]
        out = np.full(len(docnums), np.nan, dtype=np.float32)
        have = rows >= 0
        out[have] = self._exact(rows[have], vector)
        return out

    def nearest(self, vector: np.ndarray, allowed_mask: np.ndarray | None, depth: int | None,
                min_similarity: float | None = MIN_SIMILARITY) -> tuple[np.ndarray, np.ndarray]:
        """The documents (allowed, with a vector) at least `min_similarity` like `vector` (None:
        any), most similar first (ties by document number), at most `depth` of them (None:
        all): document numbers and cosine similarities."""
        have = self.rows >= 0
        if allowed_mask is not None:
            have &= allowed_mask
        count = int(np.count_nonzero(have))
        index = self.cache.nearest
        if index is None or count <= max(EXACT_BELOW, depth or 0) or (
                depth is None and min_similarity is None):
            rows = self.rows[np.flatnonzero(have)]
        else:
            rows = self._shortlist(index, vector, have, count, depth, min_similarity,
                                   allowed_mask is None)
        similarity = self._exact(rows, vector)
        docnums = self._row_doc[rows]
        if min_similarity is not None:
            keep = similarity >= min_similarity
            docnums, similarity = docnums[keep], similarity[keep]
        if depth is not None and depth < len(docnums):
            part = np.argpartition(-similarity, depth - 1)[:depth]
            docnums, similarity = docnums[part], similarity[part]
        order = np.lexsort((docnums, -similarity))
        return docnums[order].astype(np.int64), similarity[order]

    def _shortlist(self, index: NearestIndex, vector: np.ndarray, have: np.ndarray, count: int,
                   depth: int | None, min_similarity: float | None, unfiltered: bool) -> np.ndarray:
        """The rows worth scoring exactly: the index's shortlist (SHORTLIST × depth by 8-bit
        similarity; or, for every match, all within MARGIN of the floor) among the allowed
        rows, and the allowed rows appended since the index was written."""
        indexed = index.rows
        if unfiltered:
            if self._every is None:
                self._every = np.packbits(self._row_doc[:indexed] >= 0, bitorder="little")
            bits = self._every
        else:
            allowed_rows = np.append(have, False)[self._row_doc[:indexed]]  # -1: the False
            bits = np.packbits(allowed_rows, bitorder="little")
        if depth is None:
            rows, _ = index.within(vector, min_similarity - MARGIN, bits)
        else:
            rows, _ = index.search(vector, SHORTLIST * depth, bits, count / max(1, self.covered))
        tail = self._row_doc[indexed:]
        tail_rows = np.flatnonzero((tail >= 0) & np.append(have, False)[tail]) + indexed
        return np.concatenate([rows.astype(np.int64), tail_rows])

    def _exact(self, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Each row's cosine similarity to `vector`, from its float16 codes (a block at a time)."""
        codes = self.cache.set.codes
        vector = np.asarray(vector, np.float32)
        if len(rows) <= BLOCK:
            return codes[rows].astype(np.float32) @ vector
        return np.concatenate([codes[rows[i:i + BLOCK]].astype(np.float32) @ vector
                               for i in range(0, len(rows), BLOCK)])
