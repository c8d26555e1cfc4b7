"""trialsearch's posting format: a Whoosh codec that stores postings as flat arrays.

Whoosh's own `whoosh3` codec packs every block of 128 postings into one zlib-compressed pickle
of document numbers, weights and positions, so the first read of a block unpickles all three
and every process holds its own decoded copy. `TrialCodec` keeps Whoosh's term table (`.trm`),
stored fields and columns, and stores each segment's postings as four little-endian arrays,
each term's postings one contiguous run in each:

    .ids   int32    document numbers (segment-local, ascending within a term)
    .wts   float32  weights (term frequency times the field's boost, as Whoosh scores them)
    .frq   uint32   term frequency (1 where the field's format records none)
    .pos   uint32   positions, for fields that record them (phrase search reads them only)
    .lex   bytes    each field's terms, NUL-separated, in order (the words fuzzy and prefix
                    searches and "did you mean" look through, without walking the term table)
    .tdf   uint32   each term's number of postings, in the same order (with .lex, a whole
                    field's values and their documents in one piece: facets, merges)

The files are memory-mapped: opening a segment reads nothing, a query reads the pages it
touches, and every server process shares one copy through the page cache. A term's entry in
the term table holds Whoosh's statistics (document frequency, total and maximum weight,
shortest and longest field length, first and last document) and where its runs start.

The index stays a Whoosh index: `whoosh.index.open_dir` opens it, Whoosh's searcher answers
from it through `ArrayMatcher`, and each segment names its codec in the table of contents, so
an index written by the `whoosh3` codec is still read by that codec (an update adds segments
in this format; a merge rewrites old segments into it).
"""

from __future__ import annotations

import mmap
import os
import struct
from bisect import bisect_left
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from whoosh.codec import base
from whoosh.codec.whoosh3 import W3Codec, W3TermInfo, W3TermsReader
from whoosh.filedb import filetables
from whoosh.formats import Existence, Frequency, Positions
from whoosh.matching import ListMatcher, ReadTooFar
from whoosh.reading import TermNotFound
from whoosh.system import pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from ..errors import unreadable_index

IDS_EXT, WEIGHTS_EXT, FREQS_EXT, POSITIONS_EXT = ".ids", ".wts", ".frq", ".pos"
LEXICON_EXT, COUNTS_EXT = ".lex", ".tdf"
ARRAY_DTYPES = {IDS_EXT: np.dtype("<i4"), WEIGHTS_EXT: np.dtype("<f4"),
                FREQS_EXT: np.dtype("<u4"), POSITIONS_EXT: np.dtype("<u4"),
                LEXICON_EXT: np.dtype("u1"), COUNTS_EXT: np.dtype("<u4")}
OPTIONAL = {COUNTS_EXT}  # absent from segments written before it was added
MAGIC = b"TSA1\0\0\0\0"  # each array file's first 8 bytes: format and version, then padding
HEADER = len(MAGIC)

# What a field's format records per posting beyond its weight.
EXISTENCE, FREQUENCY, POSITIONS = "existence", "frequency", "positions"


def value_kind(fmt) -> str:
    """Which of the three formats trialsearch's schema uses `fmt` is; anything else (character
    offsets, position boosts) is refused rather than silently stored without its values."""
    if type(fmt) is Positions:
        return POSITIONS
    if type(fmt) is Frequency:
        return FREQUENCY
    if type(fmt) is Existence:
        return EXISTENCE
    raise ValueError(f"the trialsearch codec does not store postings of format {type(fmt).__name__}")


class TrialCodec(W3Codec):
    """Whoosh's `whoosh3` codec with postings as memory-mapped flat arrays."""

    def field_writer(self, storage, segment):
        """The writer of a segment's term table and posting arrays."""
        return ArrayFieldWriter(storage, segment)

    def terms_reader(self, storage, segment):
        """The reader of a segment's term table, its postings memory-mapped."""
        name = segment.make_filename(self.TERMS_EXT)
        return ArrayTermsReader(self, storage.open_file(name), storage.file_length(name),
                                PostingArrays(storage, segment))

    def postings_reader(self, dbfile, terminfo, format_, term=None, scorer=None):
        """A term's postings (`dbfile` is the segment's `PostingArrays`) as a Whoosh matcher."""
        return ArrayMatcher(dbfile.postings(terminfo, format_), format_, scorer=scorer,
                            term=term, terminfo=terminfo)


class ArrayTermInfo(W3TermInfo):
    """Whoosh's term statistics (in `whoosh3`'s layout, so its readers of document frequency
    and weight work unchanged) plus where the term's runs start in the posting arrays."""

    _where = struct.Struct("<QQ")  # first posting, first position

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.posting_start = 0
        self.position_start = 0

    def to_bytes(self) -> bytes:
        """The term table's value for this term."""
        return self._struct.pack(
            0, self._weight, self._df, length_to_byte(self._minlength),
            length_to_byte(self._maxlength), self._maxweight,
            0xFFFFFFFF if self._minid is None else self._minid,
            0xFFFFFFFF if self._maxid is None else self._maxid,
        ) + self._where.pack(self.posting_start, self.position_start)

    @classmethod
    def from_bytes(cls, s: bytes) -> ArrayTermInfo:
        """Read a term table value written by `to_bytes`."""
        _, weight, df, min_length, max_length, max_weight, first, last = \
            cls._struct.unpack_from(s)
        info = cls(weight, df, byte_to_length(min_length), byte_to_length(max_length),
                   max_weight, None if first == 0xFFFFFFFF else first,
                   None if last == 0xFFFFFFFF else last)
        info.posting_start, info.position_start = cls._where.unpack_from(s, cls._struct.size)
        return info


class PostingArrays:
    """A segment's posting arrays and lexicon, memory-mapped (read whole where the storage is
    not a folder of files)."""

    def __init__(self, storage, segment):
        names = {ext: segment.make_filename(ext) for ext in ARRAY_DTYPES}
        self.arrays: dict[str, np.ndarray | None] = _CheckedOnUse(
            storage, {ext: (name, _map(storage, name, ext in OPTIONAL)) for ext, name in names.items()})

    def postings(self, info: ArrayTermInfo, fmt) -> Postings:
        """The runs of one term, as array views (nothing is copied)."""
        return self.run(info.posting_start, info.doc_frequency(), info.position_start, fmt)

    def run(self, start: int, count: int, position_start: int, fmt) -> Postings:
        """`count` postings from `start` (of one term or of a whole field), as array views."""
        stop = start + count
        kind = value_kind(fmt)
        freqs = self.arrays[FREQS_EXT][start:stop]
        return Postings(self.arrays[IDS_EXT][start:stop], self.arrays[WEIGHTS_EXT][start:stop],
                        freqs, self.arrays[POSITIONS_EXT] if kind == POSITIONS else None,
                        position_start)

    def close(self) -> None:
        """Drop the maps (the pages go when the last view of them does)."""
        self.arrays = {}


class _CheckedOnUse(dict):
    """A segment's mapped files as arrays by extension, each file's header checked when its
    array is first asked for. Mapping reads nothing, but checking every header at open cost
    one disk read per file: half a second to open a 500k index whose pages were not cached.
    The files are still mapped at open, so a reader keeps them after a merge deletes them."""

    def __init__(self, storage, files: dict[str, tuple[str, mmap.mmap | bytes | None]]):
        super().__init__()
        self._folder = getattr(storage, "folder", None)
        self._files = files  # extension -> (file name, its map)

    def __missing__(self, ext: str) -> np.ndarray | None:
        name, buffer = self._files[ext]
        if buffer is not None:
            if bytes(buffer[:HEADER]) != MAGIC:
                root = os.path.dirname(self._folder) if self._folder else "this index"
                raise unreadable_index(root, f"{name} is not a trialsearch posting array")
            buffer = np.frombuffer(buffer, dtype=ARRAY_DTYPES[ext], offset=HEADER)
        self[ext] = buffer
        return buffer


def _map(storage, name: str, optional: bool = False) -> mmap.mmap | bytes | None:
    if optional and not storage.file_exists(name):
        return None
    folder = getattr(storage, "folder", None)
    if folder is not None:
        with open(os.path.join(folder, name), "rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    with storage.open_file(name) as handle:  # an in-memory storage
        return handle.read()


class Postings:
    """One term's postings in one segment: document numbers, weights, frequencies (1 where
    the field records none) and the positions of each posting (None when it records none)."""

    def __init__(self, ids: np.ndarray, weights: np.ndarray, freqs: np.ndarray,
                 positions: np.ndarray | None, position_start: int):
        self.ids, self.weights, self.freqs = ids, weights, freqs
        self._positions, self._position_start = positions, position_start

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def _bounds(self) -> np.ndarray:
        bounds = np.zeros(len(self.ids) + 1, dtype=np.int64)
        np.cumsum(self.freqs, out=bounds[1:])
        return bounds + self._position_start

    def positions(self, i: int) -> np.ndarray:
        """The positions of posting `i`, ascending (only for a field that records them)."""
        bounds = self._bounds
        return self._positions[bounds[i]:bounds[i + 1]]

    def all_positions(self) -> np.ndarray:
        """The positions of every posting, end to end (only for a field that records them)."""
        start = self._position_start
        return self._positions[start:start + int(self.freqs.sum())]

    def positions_in(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every position of this term in the documents `docs` (ascending), as two arrays:
        the document of each position, and the position. Documents without the term give
        none. One gather, no loop per document (what a phrase reads)."""
        at = np.searchsorted(self.ids, docs)
        found = at < len(self.ids)
        found[found] = self.ids[at[found]] == docs[found]
        at, docs = at[found], docs[found]
        bounds = self._bounds
        starts, counts = bounds[at], bounds[at + 1] - bounds[at]
        return np.repeat(docs, counts), self._positions[run_indices(starts, counts)]


def run_indices(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices of runs laid end to end: `counts[i]` indices from `starts[i]`, for each i
    (how a gather reads several postings' positions at once)."""
    counts = counts.astype(np.int64)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts.astype(np.int64), counts) + within


class ArrayMatcher(ListMatcher):
    """Whoosh's matcher protocol over one term's `Postings`: Whoosh's searcher, phrase and
    span queries read this codec through it. The whole list is one block, so the block
    statistics Whoosh prunes by are the term's own, read from its term table entry."""

    def __init__(self, postings: Postings, format, scorer=None, term=None, terminfo=None,
                 position: int = 0):
        super().__init__(None, format=format, scorer=scorer, position=position, term=term,
                         terminfo=terminfo)
        del self._ids, self._weights  # computed from the arrays on first use (cached_property)
        self.postings = postings
        self._kind = value_kind(format)

    @cached_property
    def _ids(self) -> list[int]:
        return self.postings.ids.tolist()

    @cached_property
    def _weights(self) -> list[float]:
        return self.postings.weights.tolist()

    def is_active(self) -> bool:
        return self._i < len(self.postings)

    def copy(self) -> ArrayMatcher:
        return ArrayMatcher(self.postings, self._format, self._scorer, self._term,
                            self._terminfo, self._i)

    def weight(self) -> float:
        return self._weights[self._i]

    def block_max_weight(self) -> float:
        return self._terminfo.max_weight()

    def skip_to(self, id):
        if not self.is_active():
            raise ReadTooFar
        self._i = bisect_left(self._ids, id, self._i)  # ListMatcher steps one by one

    def skip_to_quality(self, minquality) -> int:
        # One block: when it cannot score above `minquality`, none of its postings can.
        if self.block_quality() <= minquality:
            self._i = len(self.postings)
            return 1
        return 0

    def value(self) -> bytes:
        """The posting's value encoded as Whoosh's format encodes it."""
        return self.value_at(self._i)

    def value_as(self, astype: str):
        if astype == "positions" and self._kind == POSITIONS:
            return self.postings.positions(self._i).tolist()
        return super().value_as(astype)

    def spans(self) -> list:
        """The posting's positions as Whoosh spans (phrase and proximity queries read these)."""
        from whoosh.query.spans import Span  # noqa: PLC0415 - whoosh.query imports matching

        if self._kind != POSITIONS:
            raise ValueError(f"the field of {self._term!r} records no positions")
        return [Span(pos) for pos in self.postings.positions(self._i).tolist()]

    def all_items(self):
        return ((self._ids[i], self.value_at(i)) for i in range(self._i, len(self.postings)))

    def value_at(self, i: int) -> bytes:
        """Posting `i`'s value, encoded as Whoosh's format encodes it."""
        if self._kind == POSITIONS:
            return self._format.encode(self.postings.positions(i).tolist())
        if self._kind == FREQUENCY:
            return pack_uint(int(self.postings.freqs[i]))
        return b""


class ArrayTermsReader(W3TermsReader):
    """Whoosh's term table reader, its entries read as `ArrayTermInfo`."""

    def items(self):
        decode = self._keydecoder
        return ((decode(key), ArrayTermInfo.from_bytes(value))
                for key, value in self._tindex.items())

    def items_from(self, fieldname, prefix):
        decode = self._keydecoder
        return ((decode(key), ArrayTermInfo.from_bytes(value))
                for key, value in self._tindex.items_from(self._keycoder(fieldname, prefix)))

    def term_info(self, fieldname, tbytes):
        try:
            return ArrayTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)])
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None

    def field_postings(self, fieldname: str, fmt) -> tuple[list[bytes], np.ndarray, Postings] | None:
        """A whole field: its terms in order, each one's number of postings, and all of its
        postings (a field's terms are written one after another, so they are one run of each
        array); None when the segment has no term of the field."""
        where = self._tindex.extras.get("lexicons", {}).get(fieldname)
        if where is not None and len(where) == 5 and self._postfile.arrays[COUNTS_EXT] is not None:
            start, length, counts_start, posting_start, position_start = where
            terms = self._postfile.arrays[LEXICON_EXT][start:start + length].tobytes().split(b"\0")
            counts = self._postfile.arrays[COUNTS_EXT][counts_start:counts_start + len(terms)]
            counts = counts.astype(np.int64)
            return terms, counts, self._postfile.run(posting_start, int(counts.sum()),
                                                     position_start, fmt)
        # A field with a NUL in a term has no lexicon: its term table, walked.
        terms, counts, first = [], [], None
        for (name, btext), info in self.items_from(fieldname, b""):
            if name != fieldname:
                break
            terms.append(btext)
            counts.append(info.doc_frequency())
            first = first or (info.posting_start, info.position_start)
        if not terms:
            return None
        counts = np.asarray(counts, dtype=np.int64)
        return terms, counts, self._postfile.run(first[0], int(counts.sum()), first[1], fmt)

    def lexicon(self, fieldname: str) -> np.ndarray | None:
        """The field's terms in order, NUL-separated, as a view of the mapped lexicon (nothing
        is read or copied); None when the segment holds no lexicon of the field."""
        where = self._tindex.extras.get("lexicons", {}).get(fieldname)
        if where is None:
            return None
        start, length = where[:2]
        return self._postfile.arrays[LEXICON_EXT][start:start + length]

    def close(self):
        self._tindex.close()
        self._postfile.close()


class ArrayFieldWriter(base.FieldWriter):
    """Writes a segment's term table and posting arrays.

    Whoosh's segment writer (updates, merges) feeds it a posting at a time and each field is
    written whole at `finish_field`; the bulk writer (`indexer.index.bulk`) hands it whole
    fields as arrays through `write_field`.
    """

    def __init__(self, storage, segment):
        self._terms = filetables.OrderedHashWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
        self._fieldmap = self._terms.extras["fieldmap"] = {}
        self._files = {ext: segment.create_file(storage, ext) for ext in ARRAY_DTYPES}
        for handle in self._files.values():
            handle.write(MAGIC)
        self._written = dict.fromkeys(ARRAY_DTYPES, 0)
        # field -> (start, length) in .lex, start in .tdf, first posting, first position
        self._lexicons = self._terms.extras["lexicons"] = {}
        self._field: tuple[str, object] | None = None
        self.is_closed = False

    # Whoosh's posting-at-a-time protocol.

    def start_field(self, fieldname, fieldobj):
        self._field = (fieldname, fieldobj)
        self._kind = value_kind(fieldobj.format)
        self._buffer: dict[str, list] = {"terms": [], "counts": [], "ids": [], "weights": [],
                                         "lengths": [], "freqs": [], "positions": []}

    def start_term(self, btext):
        self._buffer["terms"].append(btext)
        self._buffer["counts"].append(0)

    def add(self, docnum, weight, vbytes, length):
        buffer, fmt = self._buffer, self._field[1].format
        buffer["counts"][-1] += 1
        buffer["ids"].append(docnum)
        buffer["weights"].append(weight)
        buffer["lengths"].append(length or 0)
        if self._kind == POSITIONS:
            positions = fmt.decode_positions(vbytes)
            buffer["freqs"].append(len(positions))
            buffer["positions"].extend(positions)
        elif self._kind == FREQUENCY:
            buffer["freqs"].append(fmt.decode_frequency(vbytes))

    def finish_term(self):
        pass

    def finish_field(self):
        buffer, (fieldname, fieldobj) = self._buffer, self._field
        has_freqs = self._kind != EXISTENCE
        self.write_field(
            fieldname, fieldobj, buffer["terms"], np.asarray(buffer["counts"], dtype=np.int64),
            np.asarray(buffer["ids"], dtype=np.int32), np.asarray(buffer["weights"], dtype=np.float64),
            np.asarray(buffer["lengths"], dtype=np.int64),
            np.asarray(buffer["freqs"], dtype=np.uint32) if has_freqs else None,
            np.asarray(buffer["positions"], dtype=np.uint32) if self._kind == POSITIONS else None)
        self._field = self._buffer = None

    # Whole fields.

    def write_field(self, fieldname: str, fieldobj, terms: Sequence[bytes], counts: np.ndarray,
                    ids: np.ndarray, weights: np.ndarray, lengths: np.ndarray,
                    freqs: np.ndarray | None, positions: np.ndarray | None) -> None:
        """Write one field: `terms` in ascending byte order, `counts[t]` postings each, their
        document numbers ascending within each term, weights, each posting's field length,
        frequencies (for formats that record them) and positions (ascending within each
        posting, for formats that record them). Fields must come in one call each."""
        if fieldname in self._fieldmap:
            raise ValueError(f"field {fieldname!r} was already written to this segment")
        kind = value_kind(fieldobj.format)
        if not len(terms):
            return
        field_id = self._fieldmap[fieldname] = len(self._fieldmap)
        starts = np.zeros(len(terms), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        posting_base = self._written[IDS_EXT]
        position_base = self._written[POSITIONS_EXT]
        self._append(IDS_EXT, ids)
        self._append(WEIGHTS_EXT, weights)
        # Every field has a run in .frq (ones where the format records no frequency), so a
        # term's first posting is the same index into .ids, .wts and .frq.
        self._append(FREQS_EXT, freqs if kind != EXISTENCE else np.ones(len(ids), np.uint32))
        if kind == POSITIONS:
            self._append(POSITIONS_EXT, positions)
            position_starts = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(freqs, out=position_starts[1:])
            position_starts = position_starts[starts]
        else:
            position_starts = np.zeros(len(terms), dtype=np.int64)
        # Whoosh's statistics per term, in one pass over each array.
        total_weight = np.add.reduceat(weights.astype(np.float64), starts)
        max_weight = np.maximum.reduceat(weights.astype(np.float32), starts)
        min_length = np.minimum.reduceat(lengths, starts)
        max_length = np.maximum.reduceat(lengths, starts)
        first_id, last_id = ids[starts], ids[starts + counts - 1]
        self._write_lexicon(fieldname, terms, counts, posting_base,
                            position_base + int(position_starts[0]))
        prefix = pack_ushort(field_id)
        add = self._terms.add
        for t, btext in enumerate(terms):
            info = ArrayTermInfo(float(total_weight[t]), int(counts[t]), int(min_length[t]),
                                 int(max_length[t]), float(max_weight[t]), int(first_id[t]),
                                 int(last_id[t]))
            info.posting_start = posting_base + int(starts[t])
            info.position_start = position_base + int(position_starts[t])
            add(prefix + btext, info.to_bytes())

    def _write_lexicon(self, fieldname: str, terms: Sequence[bytes], counts: np.ndarray,
                       posting_start: int, position_start: int) -> None:
        # The field's terms end to end, NUL-separated, and each one's count of postings
        # (a field with a NUL in a term has none: its term table is walked instead).
        if any(b"\0" in term for term in terms):
            return
        blob = b"\0".join(terms)
        self._lexicons[fieldname] = (self._written[LEXICON_EXT], len(blob),
                                     self._written[COUNTS_EXT], posting_start, position_start)
        self._files[LEXICON_EXT].write(blob)
        self._written[LEXICON_EXT] += len(blob)
        self._append(COUNTS_EXT, counts)

    def _append(self, ext: str, values: np.ndarray) -> None:
        self._files[ext].write(np.ascontiguousarray(values, dtype=ARRAY_DTYPES[ext]).tobytes())
        self._written[ext] += len(values)

    def close(self):
        self._terms.close()
        for handle in self._files.values():
            handle.close()
        self.is_closed = True
