"""Reading Whoosh's storage below its public API, for the array search core.

The array search core needs what Whoosh's public API gives only one posting at a time: a
term's posting blocks, a field's length bytes, a field's term table in order, a column's
values. These reads of Whoosh's private internals (its `whoosh3` codec's block matcher, a
segment's term table and per-document columns, BM25F's per-field B) are here, with one block
walker, so a change in Whoosh's internals breaks this package (`indexer.whoosh`) and nothing
above it, and `tests/whoosh/test_canary.py` names the name that changed.
`pyproject.toml` pins the Whoosh release these reads were written against (`whoosh3~=3.54`).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.fields import FieldType
from whoosh.reading import TermNotFound

from .codec import ArrayMatcher, ArrayTermsReader

# (segment-local document numbers ascending, weights or None, encoded values or None)
Block = tuple[np.ndarray, "np.ndarray | None", "list[bytes] | None"]


def term_matcher(leaf, fieldname: str, btext: bytes):
    """The posting matcher of one term in segment `leaf`; None when the segment lacks it
    (one lookup, not a test and then a lookup)."""
    try:
        return leaf._terms.matcher(fieldname, btext, leaf.schema[fieldname].format)
    except TermNotFound:
        return None


def term_arrays(leaf, fieldname: str, btext: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """A term's document numbers (int32, segment-local, ascending) and weights in segment
    `leaf`; None when the segment lacks it. trialsearch's codec gives views of its mapped
    arrays (weights float32, as stored: nothing is copied); Whoosh's blocks are decoded."""
    matcher = term_matcher(leaf, fieldname, btext)
    if matcher is None:
        return None
    if isinstance(matcher, ArrayMatcher):
        return matcher.postings.ids, matcher.postings.weights
    parts = list(blocks(matcher))
    if not parts:
        return None
    return (np.concatenate([ids for ids, _, _ in parts]).astype(np.int32),
            np.concatenate([weights for _, weights, _ in parts]))


def field_runs(leaf, fieldname: str) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """A field's values in segment `leaf` (its sortable terms: numbers at full precision) in
    term order, how many documents hold each, and those documents end to end (segment-local,
    ascending within each value): a facet's values. trialsearch's codec gives the whole field
    in one piece; Whoosh's is walked term by term."""
    field = leaf.schema[fieldname]
    terms = leaf._terms  # the segment's term table
    # Numbers are indexed at several precisions; only the full-precision terms are values.
    numeric = type(field).sortable_terms is not FieldType.sortable_terms
    if isinstance(terms, ArrayTermsReader):
        found = terms.field_postings(fieldname, field.format)
        if found is None:
            return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        values, counts, postings = found
        ids = postings.ids
        if numeric:
            wanted = set(field.sortable_terms(leaf, fieldname))
            keep = np.fromiter((value in wanted for value in values), dtype=bool, count=len(values))
            ids = ids[np.repeat(keep, counts)]
            values, counts = [v for v, kept in zip(values, keep) if kept], counts[keep]
        return values, counts, ids
    wanted = set(field.sortable_terms(leaf, fieldname))
    values, runs = [], []
    for (name, btext), terminfo in terms.items_from(fieldname, b""):
        if name != fieldname:
            break
        if btext in wanted:
            matcher = leaf._codec.postings_reader(terms._postfile, terminfo, field.format)
            values.append(btext)
            runs.append(np.concatenate([ids for ids, _, _ in blocks(matcher, weights=False)]))
    counts = np.asarray([len(run) for run in runs], dtype=np.int64)
    return values, counts, (np.concatenate(runs).astype(np.int32) if runs
                            else np.zeros(0, dtype=np.int32))


def blocks(matcher, *, weights: bool = True, values: bool = False,
           wanted: np.ndarray | None = None) -> Iterator[Block]:
    """A posting list a block at a time (128 postings decoded per step instead of one).
    With `wanted` (ascending segment-local document numbers) blocks that end before the next
    wanted document are skipped on their header alone, and the walk stops past the last one.
    A term of trialsearch's own codec is one block of array views (nothing decoded); a
    matcher of another codec is walked posting by posting, as one block."""
    if isinstance(matcher, ArrayMatcher):
        postings = matcher.postings
        if len(postings):
            yield (postings.ids, postings.weights.astype(np.float64) if weights else None,
                   [matcher.value_at(i) for i in range(len(postings))] if values else None)
        return
    if not isinstance(matcher, W3LeafMatcher):
        yield _slow_block(matcher, weights, values)
        return
    next_wanted = 0
    while matcher.is_active():
        if wanted is not None:
            if next_wanted >= len(wanted):
                return
            if matcher._maxid < wanted[next_wanted]:  # the block header's last id
                matcher._next_block()
                continue
        matcher._read_data()  # one block: (id deltas, weights, values)
        ids = np.cumsum(np.asarray(matcher._data[0], dtype=np.int64))
        block_weights = block_values = None
        if weights:
            matcher._read_weights()  # expands a block's shared weight
            block_weights = np.asarray(matcher._weights, dtype=np.float64)
        if values:
            matcher._read_values()
            block_values = list(matcher._values)
        yield ids, block_weights, block_values
        if wanted is not None:
            next_wanted = int(np.searchsorted(wanted, ids[-1], side="right"))
        matcher._next_block()


def term_positions(leaf, fieldname: str, btext: bytes, wanted: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Every position of a term in the `wanted` documents of segment `leaf` (ascending
    segment-local document numbers), as two arrays: each position's document, and the
    position. trialsearch's codec gathers them from its positions array in one step; Whoosh's
    decodes the blocks that may hold a wanted document, posting by posting."""
    matcher = term_matcher(leaf, fieldname, btext)
    if matcher is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if isinstance(matcher, ArrayMatcher):
        return matcher.postings.positions_in(wanted)
    decode = leaf.schema[fieldname].format.decode_positions
    docs, positions = [], []
    for ids, _, values in blocks(matcher, weights=False, values=True, wanted=wanted):
        keep = np.isin(ids, wanted)
        for docnum, value in zip(ids[keep].tolist(), compress(values, keep)):
            found = decode(value)
            docs += [docnum] * len(found)
            positions += found
    return np.asarray(docs, dtype=np.int64), np.asarray(positions, dtype=np.int64)


def _slow_block(matcher, weights: bool, values: bool) -> Block:
    ids, block_weights, block_values = [], [], []
    while matcher.is_active():
        ids.append(matcher.id())
        if weights:
            block_weights.append(matcher.weight())
        if values:
            block_values.append(matcher.value())
        matcher.next()
    return (np.asarray(ids, dtype=np.int64),
            np.asarray(block_weights, dtype=np.float64) if weights else None,
            block_values if values else None)


def length_bytes(leaf, fieldname: str) -> np.ndarray:
    """Each document's one-byte length of `fieldname` in segment `leaf` (0 when absent), read
    from the segment's lengths column in one piece."""
    lengths = np.zeros(leaf.doc_count_all(), dtype=np.uint8)
    column = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is not None:
        raw = column._dbfile.get(column._basepos, column._count)
        lengths[:column._count] = np.frombuffer(raw, dtype=np.uint8)
    return lengths


def float_column(leaf, fieldname: str) -> np.ndarray:
    """Each document's value of a 4-byte float column (`NumericColumn("f")`) in segment
    `leaf`, read in one piece; the column's default where a document has none."""
    size = leaf.doc_count_all()
    if not leaf.has_column(fieldname):
        return np.full(size, np.nan, dtype=np.float32)
    column = leaf.column_reader(fieldname, translate=False)
    values = np.full(size, column._default, dtype=np.float32)
    count = min(column._count, size)
    raw = column._dbfile.get(column._basepos, count * 4)
    values[:count] = np.frombuffer(raw, dtype=">f4")
    return values


def bytes_column(leaf, fieldname: str) -> tuple[bytes, np.ndarray]:
    """A variable-length bytes column (`VarBytesColumn`) of segment `leaf` in one piece: the
    documents' values end to end, and each document's length in bytes."""
    size = leaf.doc_count_all()
    if not leaf.has_column(fieldname):
        return b"", np.zeros(size, dtype=np.int64)
    column = leaf.column_reader(fieldname, translate=False)
    lengths = np.zeros(size, dtype=np.int64)
    stored = np.asarray(column._lengths, dtype=np.int64)
    lengths[:len(stored)] = stored[:size]
    return column._dbfile.get(column._basepos, int(lengths.sum())), lengths


def field_words(leaf, fieldname: str) -> np.ndarray | list:
    """The words of `fieldname` in segment `leaf`, in term order: trialsearch's codec's
    lexicon as it is stored (UTF-8, NUL-separated: a view of the mapped file) where it has one,
    else a list, from a walk of Whoosh's term table."""
    terms = leaf._terms  # the segment's term table
    field = leaf.schema[fieldname]
    # Only where a term's bytes are its text (not numbers and dates, which Whoosh encodes).
    if isinstance(terms, ArrayTermsReader) and type(field).from_bytes is FieldType.from_bytes:
        lexicon = terms.lexicon(fieldname)
        if lexicon is not None:
            return lexicon
    return [field.from_bytes(b) for b in leaf.lexicon(fieldname)]


def field_b(weighting, fieldname: str) -> float:
    """BM25F's length normalisation B for `fieldname` (Whoosh keeps per-field values apart)."""
    return weighting._field_B.get(fieldname, weighting.B)


def expansion_terms(q, reader) -> Iterator[bytes]:
    """The index terms a wildcard, range or other multi-term query expands to (Whoosh's own
    expansion hook, as bytes)."""
    return q._btexts(reader)
