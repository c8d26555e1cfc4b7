"""Writing a fresh index in bulk: analysis in parallel processes, postings sorted as arrays.

Whoosh's segment writer adds every posting with a Python call, sorts runs of tuples on disk
and pickles blocks. A full build needs none of that: `BulkWriter` hands batches of documents
to `procs` analysis processes, each of which turns its batch into arrays per field (a term
number, document and frequency per posting, and the postings' positions); the parent writes
the stored fields and columns through Whoosh's per-document writer, and at the end of a
segment sorts each field's postings by term once and writes them whole through
`ArrayFieldWriter.write_field` (`indexer.whoosh.codec`). What the index holds is what Whoosh's
writer would have written: `tests/whoosh/test_codec.py` compares the two, ranking for ranking.

Prose fields analyzed by trialsearch's own analyzer (`analysis.py`) take a fast path: the
text is split into words by one regex pass and each distinct word is analyzed once per
process (`WordAnalyzer`); every other indexed field goes through Whoosh's `field.index`.
A segment is closed once it holds `SEGMENT_POSTINGS` postings, which bounds the memory a
build of any size needs.
"""

from __future__ import annotations

import multiprocessing
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.support.charset import accent_map

from ..whoosh.codec import EXISTENCE, POSITIONS, run_indices, value_kind
from ..whoosh.segments import NewSegment, commit_segments
from .analysis import WORD_PATTERN, BiomedicalTokenizer, FoldStopStemFilter, split_compound, stem
from .tables import write_tables

BATCH_DOCUMENTS = 1000  # documents per analysis task
SEGMENT_POSTINGS = 40_000_000  # postings per segment: bounds a build's memory (see close)
WORD_CACHE = 400_000  # analyzed words kept per process
_WORDS = re.compile(WORD_PATTERN)


class WordAnalyzer:
    """trialsearch's prose analyzer (`BiomedicalTokenizer | FoldStopStemFilter`) applied a
    whole field at a time: the same terms at the same positions, each distinct word's parts
    folded, stopped and stemmed once and remembered."""

    def __init__(self, stops: frozenset, minsize: int, stem: bool):
        self._filter = FoldStopStemFilter(stops, minsize, stem)
        self._words: dict[str, tuple[int, int, list[str]]] = {}

    @classmethod
    def of(cls, analyzer) -> WordAnalyzer | None:
        """The fast equivalent of `analyzer`, or None when it is another analyzer."""
        if isinstance(analyzer, CompositeAnalyzer) and len(analyzer.items) == 2 \
                and type(analyzer.items[0]) is BiomedicalTokenizer \
                and type(analyzer.items[1]) is FoldStopStemFilter:
            stop = analyzer.items[1]
            return cls(stop.stops, stop.min, stop.stem)
        return None

    def terms(self, text: str) -> tuple[list[str], int]:
        """The terms of `text` in order, and the position of the first (the next ones follow
        one by one: the filter renumbers positions over dropped stop words)."""
        words, terms, first, at = self._words, [], -1, 0
        for word in _WORDS.findall(text):
            entry = words.get(word)
            if entry is None:
                if len(words) >= WORD_CACHE:
                    words.clear()
                entry = words[word] = self._word(word)
            parts, skipped, kept = entry
            if kept:
                if first < 0:
                    first = at + skipped
                terms += kept
            at += parts
        return terms, max(first, 0)

    def _word(self, word: str) -> tuple[int, int, list[str]]:
        # (how many positions the word takes, how many of its parts precede its first kept
        # one, its kept parts' terms)
        spans = split_compound(word)
        stop = self._filter
        kept, skipped = [], None
        for i, (start, end) in enumerate(spans):
            text = word[start:end].lower().translate(accent_map)
            if len(text) >= stop.min and text not in stop.stops:
                kept.append(stem(text) if stop.stem else text)
                skipped = i if skipped is None else skipped
        return len(spans), skipped or 0, kept


@dataclass
class FieldPostings:
    """One field's postings from one batch: `terms` (bytes) numbered by first appearance,
    and per posting its term number, batch-local document, weight and frequency; positions
    end to end in posting order (for formats that record them)."""

    terms: list[bytes]
    term_ids: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    freqs: np.ndarray
    positions: np.ndarray | None


@dataclass
class Batch:
    """A batch of documents analyzed: each field's postings and each scorable field's length
    per document."""

    postings: dict[str, FieldPostings]
    lengths: dict[str, np.ndarray]


_schema = None
_analyzers: dict[str, WordAnalyzer | None] = {}


def _start_worker(schema) -> None:
    global _schema  # noqa: PLW0603 - one schema per analysis process, set once
    _schema = schema
    _analyzers.clear()


def analyze_batch(documents: list[dict]) -> Batch:
    """Analyze `documents` (the keyword arguments of `add_document`) with the schema given to
    `_start_worker`: every indexed field's postings, as arrays."""
    schema, postings, lengths = _schema, {}, {}
    for name in sorted(schema.names()):
        field = schema[name]
        if not field.indexed:
            continue
        if name not in _analyzers:
            _analyzers[name] = WordAnalyzer.of(getattr(field, "analyzer", None))
        values = [doc.get(name) for doc in documents]
        if _analyzers[name] is not None:
            field_postings, field_lengths = _analyzed(_analyzers[name], field, values)
        else:
            field_postings, field_lengths = _indexed(field, values)
        if field_postings is not None:
            postings[name] = field_postings
        if field.scorable:
            lengths[name] = field_lengths
    return Batch(postings, lengths)


def _prepare_and_analyze(prepare: Callable[[list], tuple[list[dict], Any]], items: list
                         ) -> tuple[list[dict], Batch, Any]:
    """In an analysis process: a batch prepared and analyzed, with only the fields the parent
    writes per document sent back (stored values and columns, not the prose)."""
    documents, extra = prepare(items)
    batch = analyze_batch(documents)
    kept = [name for name in _schema.names() if _schema[name].stored or _schema[name].column_type]
    return [{name: doc[name] for name in kept if name in doc} for doc in documents], batch, extra


def _analyze_elsewhere(schema, prepare: Callable[[list], tuple[list[dict], Any]], items: list
                       ) -> tuple[list[dict], Batch, Any]:
    """`_prepare_and_analyze` in a process that did not start as an analysis process (a Dask
    worker): the schema comes with each batch, and is set up once per process."""
    if _schema != schema:
        _start_worker(schema)
    return _prepare_and_analyze(prepare, items)


def _analyzed(analyzer: WordAnalyzer, field, values: list) -> tuple[FieldPostings | None, np.ndarray]:
    """The fast path: every document's terms as one token stream, grouped into postings by
    one stable sort (documents and positions stay in order within each term)."""
    numbers: dict[str, int] = {}
    term_ids, docs, positions = [], [], []
    lengths = np.zeros(len(values), dtype=np.int64)
    for doc, value in enumerate(values):
        if not value:
            continue
        terms, first = analyzer.terms(value)
        if not terms:
            continue
        term_ids += [numbers.setdefault(term, len(numbers)) for term in terms]
        docs.append(np.full(len(terms), doc, dtype=np.int32))
        positions.append(np.arange(first, first + len(terms), dtype=np.uint32))
        lengths[doc] = len(terms)
    if not numbers:
        return None, lengths
    token_terms = np.asarray(term_ids, dtype=np.int32)
    order = np.argsort(token_terms, kind="stable")
    token_terms, token_docs = token_terms[order], np.concatenate(docs)[order]
    starts = np.flatnonzero(np.concatenate(
        ([True], (token_terms[1:] != token_terms[:-1]) | (token_docs[1:] != token_docs[:-1]))))
    freqs = np.diff(np.append(starts, len(token_terms))).astype(np.uint32)
    kind = value_kind(field.format)
    return FieldPostings(
        terms=[term.encode("utf-8") for term in numbers],
        term_ids=token_terms[starts], docs=token_docs[starts],
        weights=(freqs * field.format.field_boost).astype(np.float32), freqs=freqs,
        positions=np.concatenate(positions)[order] if kind == POSITIONS else None,
    ), lengths


def _indexed(field, values: list) -> tuple[FieldPostings | None, np.ndarray]:
    """Any other field, through Whoosh's own `field.index` (a few terms per document)."""
    kind = value_kind(field.format)
    numbers: dict[bytes, int] = {}
    term_ids, docs, weights, freqs, positions = [], [], [], [], []
    lengths = np.zeros(len(values), dtype=np.int64)
    decode = field.format.decode_positions if kind == POSITIONS else None
    for doc, value in enumerate(values):
        if value is None:
            continue
        # Whoosh's writer adds a document's postings in term order.
        for btext, freq, weight, vbytes in sorted(field.index(value)):
            term_ids.append(numbers.setdefault(btext, len(numbers)))
            docs.append(doc)
            weights.append(weight)
            freqs.append(freq if kind != EXISTENCE else 1)
            lengths[doc] += freq
            if decode:
                positions += decode(vbytes)
    if not numbers:
        return None, lengths
    term_ids = np.asarray(term_ids, dtype=np.int32)
    order = np.argsort(term_ids, kind="stable")
    freqs = np.asarray(freqs, dtype=np.uint32)
    if decode:
        positions = _gather(np.asarray(positions, dtype=np.uint32), freqs, order)
    return FieldPostings(
        terms=list(numbers), term_ids=term_ids[order],
        docs=np.asarray(docs, dtype=np.int32)[order],
        weights=np.asarray(weights, dtype=np.float32)[order], freqs=freqs[order],
        positions=positions if decode else None,
    ), lengths


def _gather(positions: np.ndarray, freqs: np.ndarray, order: np.ndarray) -> np.ndarray:
    """`positions` (each posting's run end to end) rearranged into the postings' `order`."""
    starts = np.zeros(len(freqs), dtype=np.int64)
    np.cumsum(freqs[:-1], out=starts[1:])
    return positions[run_indices(starts[order], freqs[order])]


class BulkWriter:
    """Writes a fresh (empty) Whoosh index's segments from batches of documents.

    `add_documents` may be called any number of times; `commit` writes the table of contents,
    `cancel` (or an exception) leaves the index empty. `procs` analysis processes work ahead
    of the parent (1: everything in this process); or `executor` (a Dask cluster's,
    `indexer.cluster`), `procs` batches per worker thread at a time."""

    def __init__(self, ix, procs: int = 1, segment_postings: int = SEGMENT_POSTINGS,
                 executor: Executor | None = None, batch_documents: int = BATCH_DOCUMENTS):
        self.ix = ix
        self.schema = ix.schema
        self.procs = procs
        self.batch_documents = batch_documents
        self.executor = executor
        self.segment_postings = segment_postings
        self.segments = []
        for name in self.schema.names():
            if self.schema[name].separate_spelling() or self.schema[name].vector:
                raise ValueError(f"the bulk writer does not write field {name!r}'s "
                                 "spelling words or term vectors")
        self._segment = None

    def write(self, items: Iterable, prepare: Callable[[list], tuple[list[dict], Any]],
              collect: Callable[[Any], None] = lambda _: None) -> int:
        """Index `items`: `prepare(batch)` turns a batch of them into documents (the keyword
        arguments of `add_document`) and something for `collect` (called in order, in this
        process). Both `prepare` and the analysis run in the analysis processes, so it must
        be picklable (a module-level function). Items are read a batch at a time and at most
        two batches per process are in flight, so memory does not grow with the sources.
        Returns how many documents were written."""
        count = 0
        if self.executor is not None:
            return self._write_ahead(lambda batch: self.executor.submit(
                _analyze_elsewhere, self.schema, prepare, batch).result, items, collect)
        if self.procs <= 1:
            _start_worker(self.schema)
            for batch in _batches(items, self.batch_documents):
                documents, extra = prepare(batch)
                count += self._add(documents, analyze_batch(documents))
                collect(extra)
            return count
        with multiprocessing.get_context("fork").Pool(
                self.procs, initializer=_start_worker, initargs=(self.schema,)) as pool:
            return self._write_ahead(lambda batch: pool.apply_async(
                _prepare_and_analyze, (prepare, batch)).get, items, collect)

    def _write_ahead(self, submit: Callable[[list], Callable[[], tuple]], items: Iterable,
                     collect: Callable[[Any], None]) -> int:
        """Each batch of `items` sent off (`submit(batch)` gives a call that waits for its
        result), two per process ahead, and added in order."""
        count, in_flight = 0, deque()
        for batch in _batches(items, self.batch_documents):
            in_flight.append(submit(batch))
            if len(in_flight) > 2 * self.procs:
                count += self._add_prepared(in_flight.popleft()(), collect)
        while in_flight:
            count += self._add_prepared(in_flight.popleft()(), collect)
        return count

    def _add_prepared(self, prepared: tuple[list[dict], Batch, Any], collect) -> int:
        documents, batch, extra = prepared
        collect(extra)
        return self._add(documents, batch)

    def finish(self) -> list:
        """Close the last segment; the segments written (for a table of contents)."""
        if self._segment is not None:
            self._close_segment()
        return self.segments

    def commit(self) -> None:
        """Finish and write the index's table of contents: the written segments, alone."""
        commit_segments(self.ix, self.finish())

    def _add(self, documents: list[dict], batch: Batch) -> int:
        if self._segment is None:
            self._segment = OpenSegment(self.ix.storage, self.ix.indexname)
        self._segment.add(self.schema, documents, batch)
        if self._segment.postings >= self.segment_postings:
            self._close_segment()
        return len(documents)

    def _close_segment(self) -> None:
        self.segments.append(self._segment.close(self.schema))
        self._segment = None


def _batches(documents: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch = []
    for document in documents:
        batch.append(document)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class OpenSegment:
    """A segment being written: its per-document files as documents arrive, its postings
    kept as arrays until `close`."""

    def __init__(self, storage, indexname):
        self.files = NewSegment(storage, indexname)
        self.postings = 0
        self.fields: dict[str, list[tuple[int, FieldPostings]]] = {}
        self.terms: dict[str, dict[bytes, int]] = {}  # each field's terms, numbered
        self.lengths: dict[str, list[np.ndarray]] = {}

    @property
    def documents(self) -> int:
        """How many documents the segment holds so far: the next one's number."""
        return self.files.documents

    def add(self, schema, documents: list[dict], batch: Batch) -> None:
        """Write the documents' stored fields, columns and lengths; keep their postings."""
        base = self.documents
        # The documents may hold only their stored and column fields (the analysis processes
        # keep the prose); the prose fields' lengths come with the batch.
        self.files.add_documents(schema, documents, batch.lengths)
        for name, field_postings in batch.postings.items():
            self.add_postings(name, base, field_postings)
        for name, lengths in batch.lengths.items():
            self.lengths.setdefault(name, []).append(lengths)

    def add_postings(self, name: str, base: int, field_postings: FieldPostings) -> None:
        """Keep one field's postings of documents numbered from `base`."""
        # Each batch numbers its terms anew; renumbered here to the segment's numbering (in
        # order of first appearance), so a term's bytes are held once per segment.
        numbers = self.terms.setdefault(name, {})
        renumber = np.fromiter((numbers.setdefault(t, len(numbers)) for t in field_postings.terms),
                               dtype=np.int32, count=len(field_postings.terms))
        field_postings.term_ids = renumber[field_postings.term_ids]
        field_postings.terms = None
        self.fields.setdefault(name, []).append((base, field_postings))
        self.postings += len(field_postings.docs)

    def copy_documents(self, schema, segment, live: np.ndarray) -> None:
        """Write the `live` documents of another segment (stored fields, columns and lengths
        as they are), numbered from this segment's next."""
        for name, lengths in self.files.copy_documents(schema, segment, live).items():
            self.lengths.setdefault(name, []).append(lengths)

    def close(self, schema):
        """Sort each field's postings by term and write them, then the segment's tables
        (`tables.py`); the finished segment."""
        writer = self.files.postings_writer()
        for name in sorted(self.fields):
            lengths = (np.concatenate(self.lengths[name]) if name in self.lengths
                       else np.zeros(self.documents, dtype=np.int64))
            _write_field(writer, name, schema[name], self.terms.pop(name), self.fields.pop(name),
                         lengths)
        writer.close()
        segment = self.files.finish()
        write_tables(self.files.storage, schema, segment)
        return segment


def _write_field(writer, name: str, field, numbers: dict[bytes, int],
                 parts: list[tuple[int, FieldPostings]], doc_lengths: np.ndarray) -> None:
    """One field of a segment: the postings renumbered to the field's terms in byte order,
    sorted by term (stable, so documents stay ascending within each), written whole."""
    terms = sorted(numbers)
    rank = np.empty(len(terms), dtype=np.int32)
    rank[np.fromiter((numbers[t] for t in terms), dtype=np.int64, count=len(terms))] = \
        np.arange(len(terms), dtype=np.int32)
    term_ids = rank[np.concatenate([part.term_ids for _, part in parts])]
    docs = np.concatenate([part.docs + base for base, part in parts])
    weights = np.concatenate([part.weights for _, part in parts])
    freqs = np.concatenate([part.freqs for _, part in parts])
    order = np.argsort(term_ids, kind="stable")
    positions = None
    if value_kind(field.format) == POSITIONS:
        positions = _gather(np.concatenate([part.positions for _, part in parts]), freqs, order)
    del parts
    docs = docs[order]
    counts = np.bincount(term_ids, minlength=len(terms))
    if not counts.all():  # a merge dropped every posting of some terms (deleted documents)
        terms = [term for term, count in zip(terms, counts.tolist()) if count]
        counts = counts[counts > 0]
    writer.write_field(name, field, terms, counts, docs, weights[order], doc_lengths[docs],
                       freqs[order], positions)
