"""Meaning-level retrieval: the studies whose vectors lie nearest a query's, by an exact scan.

`VectorCache` holds the vectors of an index folder in one float32 matrix, read from its
vectors file (`indexer.semantic.store`) and topped up with only the rows written since, so a
filler at work in another process is picked up search by search. `DenseView` lines the cache
up with one snapshot's document numbers (a study's vector is found by its NCT ID), so a scan
is one matrix-vector product masked by deletions and filters: exact, and no approximate index
to rebuild (an HNSW graph measured 0.49 recall under a 13% filter; an exact scan stays 1.0).
"""

from __future__ import annotations

import numpy as np

from ..semantic.store import VectorStore

# A study is a meaning match when its vector is at least this similar to the query's: semantic
# mode shows all of them, hybrid fuses the nearest FUSION_DEPTH. Over the 11,985 shared
# studies `exosomes` has 14 (the 4 exosome studies, then extracellular vesicles), `whooping
# cough` 248, `covid vaccine` 3,737. Without a floor every query would add FUSION_DEPTH
# studies, however unrelated; the floor costs 0.06 nDCG@10 only in the judged pool, where
# every candidate is on topic (docs/evaluation.md).
MIN_SIMILARITY = 0.3


class VectorCache:
    """Every stored vector of the index at `root`, as one matrix; rows are appended (or
    replaced in place) as the vectors file grows."""

    def __init__(self, root) -> None:
        self.root = root
        self.model: str | None = None
        self._stamp: tuple | None = None
        self._store: VectorStore | None = None
        self._empty()

    def _empty(self) -> None:
        self.row_of: dict[str, int] = {}
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.size = 0
        self._seq = 0
        self.changes: list[tuple[str, int]] = []  # (NCT ID, row), in the order they arrived

    def filling(self) -> dict | None:
        """How far a filler at work on the vectors file has got ({"done", "total"}), or None."""
        return self._store.filling() if self._store is not None else None

    def refresh(self) -> bool:
        """Read the vectors written since the last call; whether any were."""
        if self._store is None:
            if not VectorStore.exists(self.root):
                return False
            self._store = VectorStore(self.root, readonly=True)
        stamp = self._store.stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        model = self._store.model
        changed = model != self.model
        if changed:  # refilled with another model: start over (views see a new list)
            self.model = model
            self._empty()
        if self.size == 0:  # the first read takes everything: size the matrix once
            self._reserve(self._store.count(), self._store.dimensions)
        for seq, nct_ids, vectors in self._store.rows_since(self._seq):
            self._seq = seq
            self._add(nct_ids, vectors)
            changed = True
        return changed

    def _reserve(self, rows: int, dimensions: int) -> None:
        if self.matrix.shape[1] != dimensions:
            self.matrix = np.zeros((0, dimensions), dtype=np.float32)
        if rows > len(self.matrix):
            grown = np.zeros((rows, dimensions), np.float32)
            grown[:self.size] = self.matrix[:self.size]
            self.matrix = grown

    def _add(self, nct_ids: list[str], vectors: np.ndarray) -> None:
        need = self.size + len(nct_ids)
        if need > len(self.matrix) or self.matrix.shape[1] != vectors.shape[1]:
            # Grow by half again, so the appends of a filler at work stay amortized.
            self._reserve(max(need, len(self.matrix) * 3 // 2), vectors.shape[1])
        for nct_id, vector in zip(nct_ids, vectors):
            row = self.row_of.get(nct_id)
            if row is None:
                row = self.row_of[nct_id] = self.size
                self.size += 1
            self.matrix[row] = vector
            self.changes.append((nct_id, row))

    def close(self) -> None:
        """Close the vectors file."""
        if self._store is not None:
            self._store.close()
            self._store = None


class DenseView:
    """One snapshot's view of a `VectorCache`: the matrix row of each live document."""

    def __init__(self, cache: VectorCache, nct_ids: list[str | None], live: np.ndarray) -> None:
        self.cache = cache
        self.live = live
        self.docnum_of = {nct_id: docnum for docnum, nct_id in enumerate(nct_ids)
                          if nct_id is not None and live[docnum]}
        self.rows = np.full(len(nct_ids), -1, dtype=np.int64)
        self._changes: list = []
        self._seen = 0  # how many of cache.changes are applied

    def sync(self) -> None:
        """Apply the rows the cache gained since the last call."""
        changes = self.cache.changes
        if changes is not self._changes:  # the cache started over
            self._changes, self._seen = changes, 0
            self.rows[:] = -1
        for nct_id, row in changes[self._seen:]:
            docnum = self.docnum_of.get(nct_id)
            if docnum is not None:
                self.rows[docnum] = row
        self._seen = len(changes)

    @property
    def covered(self) -> int:
        """How many live documents have a vector."""
        return int(np.count_nonzero(self.rows >= 0))

    def vector_of(self, docnum: int) -> np.ndarray | None:
        """A document's vector, or None when it has none yet."""
        row = self.rows[docnum]
        return self.cache.matrix[row] if row >= 0 else None

    def similarity(self, vector: np.ndarray, docnums: np.ndarray) -> np.ndarray:
        """The cosine similarity of each of `docnums` to `vector` (NaN for a study without a
        vector yet)."""
        rows = self.rows[docnums]
        out = np.full(len(docnums), np.nan, dtype=np.float32)
        have = rows >= 0
        out[have] = self.cache.matrix[rows[have]] @ vector
        return out

    def nearest(self, vector: np.ndarray, allowed_mask: np.ndarray | None, depth: int | None,
                min_similarity: float | None = MIN_SIMILARITY) -> tuple[np.ndarray, np.ndarray]:
        """The documents (allowed, with a vector) at least `min_similarity` like `vector` (None:
        any), most similar first (ties by document number), at most `depth` of them (None:
        all): document numbers and cosine similarities."""
        have = self.rows >= 0
        if allowed_mask is not None:
            have &= allowed_mask
        docnums = np.flatnonzero(have)
        if not len(docnums):
            return docnums, np.zeros(0, dtype=np.float32)
        # One product over the whole matrix, then a gather: cheaper than gathering the rows.
        similarity = (self.cache.matrix[:self.cache.size] @ vector)[self.rows[docnums]]
        if min_similarity is not None:
            keep = similarity >= min_similarity
            docnums, similarity = docnums[keep], similarity[keep]
        if depth is not None and depth < len(docnums):
            part = np.argpartition(-similarity, depth - 1)[:depth]
            docnums, similarity = docnums[part], similarity[part]
        order = np.lexsort((docnums, -similarity))
        return docnums[order], similarity[order]
