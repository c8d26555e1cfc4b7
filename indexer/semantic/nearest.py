"""Nearest vectors without reading every one: an inverted-file index over the shared matrix's
rows (faiss's `IndexIVFScalarQuantizer`: k-means lists, each vector stored as 8-bit codes).

A search compares the query with the lists' centroids, reads only the nearest lists' codes,
and hands back a shortlist that the caller scores again exactly (from the float16 rows), so
the 8-bit codes decide which rows are looked at, never the final order. Filters go into faiss
as a bitmap of the rows allowed (`IDSelectorBitmap`), checked as each list is read; the more
selective the filter, the more lists are read (`probes_for`), and a filter that leaves few
rows reads every list, which is an exact scan of the allowed rows. Measured at 500,000
synthetic vectors against the exact float32 scan (docs/benchmarks.md): recall@100 at least
0.98 under every filter case of the benchmark.

The file is written whole by the filler and renamed into place; searching processes map it
(faiss's IO_FLAG_MMAP), so every server worker shares one copy through the page cache.
faiss-cpu is part of the 'semantic' extra; without it searches scan every row (`available`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .deps import SemanticUnavailable, missing_packages

NEAREST_FILE = "nearest.faiss"
ANN_MODULES = {"faiss": "faiss-cpu"}
MIN_ROWS = 4096  # fewer rows than this: an exact scan is as quick as any index
READ_ROWS = 8192  # rows (of about 80 × the depth) a search no filter narrows reads
SHORTLIST = 4  # candidates per result re-scored exactly (8-bit codes are a little off)
TRAIN_PER_LIST = 48  # k-means sample: rows per list (faiss asks for at least 39)


def available() -> str | None:
    """Why no inverted-file index can be used here (faiss-cpu missing), or None."""
    missing = missing_packages(ANN_MODULES)
    if missing:
        return (f"{', '.join(missing)} is not installed, so meaning search scans every vector: "
                "pip install 'trialsearch[semantic]'")
    return None


def lists_for(rows: int) -> int:
    """How many k-means lists an index of `rows` vectors gets: 4 × sqrt(rows), at most 2,048
    (k-means over more takes the filler minutes at 500,000 rows), and at most one per
    TRAIN_PER_LIST rows (k-means needs that many to place each centroid)."""
    return int(max(16, min(2048, rows // TRAIN_PER_LIST, round(4 * math.sqrt(rows)))))


def probes_for(lists: int, rows: int, share: float) -> int:
    """Lists to read when a filter allows `share` of the `rows`: enough to read about
    READ_ROWS rows without a filter (32 of 2,048 lists at 500,000 rows), more as the filter
    narrows (the 100 nearest allowed rows lie further out), every list for a filter that
    leaves few, or for a small index."""
    per_list = max(1.0, rows / lists)
    return int(min(lists, math.ceil(READ_ROWS / per_list / max(share, 1e-9) ** 0.75)))


class NearestIndex:
    """An inverted-file index over rows 0 .. `rows` - 1 of a shared matrix."""

    def __init__(self, index, path: Path | None = None) -> None:
        self.index = index
        self.path = path

    @classmethod
    def train(cls, sample: np.ndarray, lists: int) -> NearestIndex:
        """An empty index whose lists are k-means centroids of `sample` (unit float32 rows)."""
        import faiss

        dims = sample.shape[1]
        quantizer = faiss.IndexFlatIP(dims)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dims, lists, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT, False)
        index.own_fields = True
        quantizer.this.disown()  # the index frees it
        index.cp.seed = 11  # the same lists from the same rows
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(index)

    @classmethod
    def open(cls, path: Path) -> NearestIndex:
        """The index file at `path`, memory-mapped. Raises SemanticUnavailable when it cannot
        be read."""
        import faiss

        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:  # faiss reports a bad file as a RuntimeError
            raise SemanticUnavailable(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from exc
        if not isinstance(index, faiss.IndexIVFScalarQuantizer):
            raise SemanticUnavailable(f"{path}: not an index of study vectors")
        return cls(index, path)

    @classmethod
    def load(cls, path: Path) -> NearestIndex:
        """The index file at `path` read into memory, to add rows to (the filler's copy)."""
        import faiss

        return cls(faiss.read_index(str(path)), path)

    @property
    def rows(self) -> int:
        """How many rows the index holds (rows 0 .. rows - 1)."""
        return int(self.index.ntotal)

    @property
    def lists(self) -> int:
        """How many k-means lists it has."""
        return int(self.index.nlist)

    def add(self, vectors: np.ndarray) -> None:
        """Add the next rows (unit float32 vectors), numbered on from `rows`."""
        ids = np.arange(self.rows, self.rows + len(vectors), dtype=np.int64)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def save(self, path: Path) -> None:
        """Write the index to `path` whole, through a temp file renamed into place."""
        import faiss

        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        faiss.write_index(self.index, str(temp))
        os.replace(temp, path)
        self.path = path

    def search(self, vector: np.ndarray, count: int, allowed: np.ndarray | None,
               share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """The `count` rows nearest `vector` by their 8-bit codes, among `allowed` (a packed
        little-endian bitmap of rows, None: all) which hold `share` of the rows: row numbers
        and approximate similarities, nearest first (fewer when fewer are allowed)."""
        import faiss

        params = faiss.SearchParametersIVF(nprobe=probes_for(self.lists, self.rows, share))
        if allowed is not None:
            params.sel = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(allowed))
        similarity, rows = self.index.search(np.asarray(vector, np.float32)[None], count,
                                             params=params)
        found = rows[0] >= 0
        return rows[0][found], similarity[0][found]

    def within(self, vector: np.ndarray, radius: float,
               allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Every allowed row whose 8-bit similarity to `vector` is at least `radius`, reading
        every list: row numbers and approximate similarities, unordered."""
        import faiss

        params = faiss.SearchParametersIVF(nprobe=self.lists)
        if allowed is not None:
            params.sel = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(allowed))
        limits, similarity, rows = self.index.range_search(np.asarray(vector, np.float32)[None],
                                                           radius, params=params)
        return rows[:limits[1]], similarity[:limits[1]]
