"""A segment's tables: what searches read of every one of its documents, beside its postings.

Facet counts, place and age filters and BM25F need each document's facet values, sites, age
limits and field lengths. Read from the postings and columns, they are arrays each server
worker builds and holds privately (at 500,000 studies the sites alone took 84 MB per worker).
A segment never changes once written, so `write_tables` computes them when a build, update or
merge writes the segment (`bulk.OpenSegment.close`) and stores them in one array file beside
it (`layout.SEGMENT_TABLES_EXT`, through `indexer.whoosh.tables`); `load_tables` maps that
file, so every worker shares one copy through the page cache. A segment written before the
file existed has its tables computed in memory by the same `tabulate`, as before.

What a segment's tables hold (documents numbered within the segment):

    length:<field>      uint8    each document's length byte of a scored field (Whoosh's)
    min_age, max_age    float32  age limits in years (NaN: none)
    table               uint*    per document, one column per single-valued facet (its
                                 value's ordinal; the facet's width: none) and per
                                 multi-valued facet of few values (the set of them, as bits),
                                 each column's numbers offset to a slot of its own
    values:<facet>      bytes    the facet's values in this segment, sorted (`...:ends`: where
                                 each ends), which the ordinals number
    starts:<facet>      uint32   a multi-valued facet of many values (conditions) per document:
    ordinals:<facet>    uint*    its values are ordinals[starts[d]:starts[d + 1]]
    site:*                       every site, in document order: lat, lon, status, country
                                 (ordinal of values:country, 0 unknown), index (its place in
                                 the record), doc; starts (a document's first site); by_lat and
                                 sorted_lat (the sites in latitude order, for a radius)
    country:*                    each document's distinct (country, site status) pairs, by
                                 document (doc, ordinal, status, starts): the country facet
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..catalog.facets import FACETS
from ..catalog.fields import SITE_DTYPE
from ..whoosh.codec import run_indices
from ..whoosh.storage import bytes_column, field_runs, float_column, length_bytes
from ..whoosh.tables import open_segment, read_arrays, write_arrays
from .layout import SEGMENT_TABLES_EXT

TABLES_VERSION = 1  # bump when what a file holds changes: older files are then computed again
BIT_SET_VALUES = 8  # a multi-valued facet with at most this many values is a column of bit sets
COUNTED = [facet for facet in FACETS if facet.counted and facet.kind.role == "terms"]
# Runs of a few documents are gathered; for more than a FEW-th of a segment's documents, a
# mask over all of its runs reads less.
FEW = 8


@dataclass
class Tables:
    """One segment's tables (see the module docstring): views of its mapped file, or arrays
    computed in memory (`mapped` False) for a segment written before the file."""

    documents: int
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    mapped: bool

    @property
    def private_bytes(self) -> int:
        """Memory this process holds for them (mapped pages are shared, not counted)."""
        return 0 if self.mapped else sum(array.nbytes for array in self.arrays.values())

    def values(self, name: str) -> list[bytes]:
        """The facet (or `country`) values the ordinals of `name` number, as index terms."""
        blob, ends = self.arrays[f"values:{name}"].tobytes(), self.arrays[f"values:{name}:ends"]
        starts = [0, *ends[:-1].tolist()]
        return [blob[a:b] for a, b in zip(starts, ends.tolist())]

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length byte of `fieldname` (0 where it has none)."""
        found = self.arrays.get(f"length:{fieldname}")
        return found if found is not None else np.zeros(self.documents, dtype=np.uint8)

    def ages(self, name: str) -> np.ndarray:
        """Each document's `min_age` or `max_age` (NaN: none, or an index without ages)."""
        found = self.arrays.get(name)
        return found if found is not None else np.full(self.documents, np.nan, dtype=np.float32)

    @property
    def columns(self) -> list[tuple[str, int, int, bool]]:
        """The facets `table` holds: (name, first slot, values, whether as bit sets)."""
        return [tuple(column) for column in self.meta["columns"]]

    @property
    def pairs(self) -> list[str]:
        """The facets held as `starts:` and `ordinals:` (multi-valued, many values)."""
        return self.meta["pairs"]

    @property
    def has_sites(self) -> bool:
        """Whether the segment's schema has sites (an index built before them has none)."""
        return self.meta["sites"]


def load_tables(leaf) -> Tables:
    """Segment reader `leaf`'s tables: its file mapped, else computed (an older segment)."""
    found = read_arrays(leaf, SEGMENT_TABLES_EXT)
    if found is not None and found[1].get("version") == TABLES_VERSION:
        return Tables(leaf.doc_count_all(), found[0], found[1], mapped=True)
    arrays, meta = tabulate(leaf)
    return Tables(leaf.doc_count_all(), arrays, meta, mapped=False)


def write_tables(storage, schema, segment) -> None:
    """Compute and write the tables of `segment`, just written to `storage` with `schema`."""
    leaf = open_segment(storage, schema, segment)
    try:
        arrays, meta = tabulate(leaf)
    finally:
        leaf.close()
    write_arrays(storage, segment, SEGMENT_TABLES_EXT, arrays, meta)


def tabulate(leaf) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The tables of segment reader `leaf` (see the module docstring), and their meta."""
    size, schema = leaf.doc_count_all(), leaf.schema
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"version": TABLES_VERSION, "columns": [], "pairs": [],
                            "sites": "sites" in schema}
    for name in schema.scorable_names():
        arrays[f"length:{name}"] = length_bytes(leaf, name)
    for name in ("min_age", "max_age"):
        if name in schema:
            arrays[name] = float_column(leaf, name).astype("<f4")
    columns, slots = [], 0
    for facet in COUNTED:
        if facet.field not in schema:
            continue
        values, counts, ids = field_runs(leaf, facet.field)
        _put_values(arrays, facet.name, values)
        ordinals = np.repeat(np.arange(len(values), dtype=np.int64), counts)
        if facet.multi and len(values) > BIT_SET_VALUES:
            _put_runs(arrays, f"starts:{facet.name}", f"ordinals:{facet.name}", size,
                      ids.astype(np.int64), ordinals, len(values))
            meta["pairs"].append(facet.name)
            continue
        if facet.multi:  # the set of values, as bits
            column = np.zeros(size, dtype=np.int64)
            np.bitwise_or.at(column, ids, np.left_shift(1, ordinals, dtype=np.int64))
            width = 1 << len(values)
        else:  # the value; documents without one take the slot past the values
            column = np.full(size, len(values), dtype=np.int64)
            column[ids] = ordinals
            width = len(values) + 1
        meta["columns"].append([facet.name, slots, len(values), facet.multi])
        columns.append(column + slots)
        slots += width
    meta["slots"] = slots
    dtype = np.min_scalar_type(max(slots - 1, 0))
    arrays["table"] = (np.stack(columns, axis=1).astype(dtype) if columns
                       else np.zeros((size, 0), dtype=np.uint8))
    if meta["sites"]:
        _put_sites(arrays, leaf, size)
    return arrays, meta


def in_runs(starts: np.ndarray, local: np.ndarray, documents: int) -> np.ndarray:
    """Where the runs of documents `local` lie (`starts`: each document's first entry, one
    more than documents): their own runs when they are few, else a mask over every entry."""
    if len(local) * FEW < documents:
        return run_indices(starts[local], starts[local + 1] - starts[local])
    chosen = np.zeros(documents, dtype=bool)
    chosen[local] = True
    return np.repeat(chosen, np.diff(starts))


def _put_values(arrays: dict[str, np.ndarray], name: str, values: list[bytes]) -> None:
    arrays[f"values:{name}"] = np.frombuffer(b"".join(values), dtype=np.uint8)
    arrays[f"values:{name}:ends"] = np.cumsum([len(v) for v in values], dtype=np.int64).astype("<u4")


def _put_runs(arrays: dict[str, np.ndarray], starts_name: str, values_name: str, size: int,
              docs: np.ndarray, values: np.ndarray, count: int) -> None:
    """(document, value) pairs as runs by document: each document's first pair in
    `starts_name` (one more entry than documents), the values in `values_name`, ordered by
    document then value."""
    order = np.lexsort((values, docs))
    arrays[starts_name] = np.searchsorted(docs[order], np.arange(size + 1)).astype("<u4")
    arrays[values_name] = values[order].astype(np.min_scalar_type(max(count - 1, 0)))


def _put_sites(arrays: dict[str, np.ndarray], leaf, size: int) -> None:
    data, lengths = bytes_column(leaf, "sites")
    records = np.frombuffer(data, dtype=SITE_DTYPE)
    counts = lengths // SITE_DTYPE.itemsize
    doc = np.repeat(np.arange(size, dtype=np.int32), counts)
    codes, country = np.unique(np.concatenate([[b""], records["country"]]), return_inverse=True)
    country = country.ravel()[1:].astype("<u2")  # '' first: ordinal 0 is no country
    _put_values(arrays, "country", [bytes(code) for code in codes])
    lat = records["lat"].astype("<f4")
    by_lat = np.argsort(lat, kind="stable").astype("<i4")  # NaN (no coordinates) last
    starts = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    arrays.update({
        "site:lat": lat, "site:lon": records["lon"].astype("<f4"),
        "site:status": records["status"].astype(np.uint8), "site:country": country,
        "site:index": records["index"].astype("<u2"), "site:doc": doc,
        "site:starts": starts.astype("<u4"), "site:by_lat": by_lat, "site:sorted_lat": lat[by_lat],
    })
    # Each document's distinct (country, status) pairs among its sites with a country.
    placed = country > 0
    keys = np.unique((doc[placed].astype(np.int64) << 24) | (country[placed].astype(np.int64) << 8)
                     | records["status"][placed])
    pair_doc = (keys >> 24).astype("<i4")
    arrays["country:doc"] = pair_doc
    arrays["country:ordinal"] = ((keys >> 8) & 0xFFFF).astype("<u2")
    arrays["country:status"] = (keys & 0xFF).astype(np.uint8)
    arrays["country:starts"] = np.searchsorted(pair_doc, np.arange(size + 1)).astype("<u4")
