"""Writing segments of trialsearch's posting format below Whoosh's index writer, and committing
them: the plumbing the bulk writer and the array merge (`indexer.index.bulk`, `.merge`) need
from Whoosh's codec and table of contents.

Whoosh's own writer adds a posting at a time. A build or merge instead writes a segment's
per-document files (stored fields, columns, field lengths) through the codec's per-document
writer, as Whoosh's writer would, and its postings a whole field at a time
(`ArrayFieldWriter.write_field`); a build then commits its segments with a table of contents
of its own, an update through Whoosh's writer (`open_writer`), whose merge step calls the
array merge.
"""

from __future__ import annotations

import numpy as np
from whoosh.columns import TranslatingColumnReader
from whoosh.index import TOC, clean_files

from .codec import ArrayFieldWriter, ArrayTermsReader, TrialCodec


class NewSegment:
    """A segment of trialsearch's format being written in `storage`: its per-document files
    as documents arrive (`add_documents`, `copy_documents`), then its postings
    (`postings_writer`), then `finish`."""

    def __init__(self, storage, indexname: str):
        self._codec, self.storage = TrialCodec(), storage
        self.segment = self._codec.new_segment(storage, indexname)
        self._per_document = self._codec.per_document_writer(storage, self.segment)
        self.documents = 0  # written so far: the next document's number

    def add_documents(self, schema, documents: list[dict], lengths: dict[str, np.ndarray]) -> None:
        """Write each document's stored fields and column values, and the field lengths in
        `lengths` (field -> one length per document: the fields the caller analyzed). The
        documents may hold only their stored and column fields."""
        writer, base = self._per_document, self.documents
        names = sorted({name for document in documents for name in document} | lengths.keys())
        for i, document in enumerate(documents):
            writer.start_doc(base + i)
            for name in names:
                value = document.get(name)
                length = int(lengths[name][i]) if name in lengths else 0
                if (value is None and not length) or name.startswith("_"):
                    continue
                field = schema[name]
                writer.add_field(name, field, value if field.stored else None, length)
                if field.column_type and value is not None:
                    writer.add_column_value(name, field.column_type, field.to_column_value(value))
            writer.finish_doc()
        self.documents += len(documents)

    def copy_documents(self, schema, segment, live: np.ndarray) -> dict[str, np.ndarray]:
        """Write the `live` documents of `segment` (another segment in this storage) as they
        are, numbered from this segment's next: stored fields, columns and lengths. Returns
        each scored field's lengths of the copied documents."""
        reader = self._codec.per_document_reader(self.storage, segment)
        try:
            return self._copy(schema, reader, live)
        finally:
            reader.close()

    def _copy(self, schema, reader, live: np.ndarray) -> dict[str, np.ndarray]:
        writer = self._per_document
        columns = {}
        for name in schema.names():
            column = schema[name].column_type
            if column and reader.has_column(name):
                values = reader.column_reader(name, column)
                # The stored values, not the translated ones a search reads (which the
                # column writer would not take back).
                columns[name] = values.raw_column() if isinstance(values, TranslatingColumnReader) \
                    else values
        lengths: dict[str, list[int]] = {name: [] for name in schema.scorable_names()}
        for docnum in np.flatnonzero(live).tolist():
            writer.start_doc(self.documents)
            stored = reader.stored_fields(docnum)
            for name in sorted(schema.names()):
                field = schema[name]
                length = (reader.doc_field_length(docnum, name) or 0) if name in lengths else 0
                if stored.get(name) is not None or length:
                    writer.add_field(name, field, stored.get(name), length)
                if name in lengths:
                    lengths[name].append(length)
                if name in columns:
                    writer.add_column_value(name, field.column_type, columns[name][docnum])
            writer.finish_doc()
            self.documents += 1
        return {name: np.asarray(values, dtype=np.int64) for name, values in lengths.items()}

    def postings_writer(self) -> ArrayFieldWriter:
        """Close the per-document files; the writer of the segment's postings, a whole field
        per `write_field` call (close it before `finish`)."""
        self._per_document.close()
        return self._codec.field_writer(self.storage, self.segment)

    def finish(self):
        """The finished segment (its document count set), for a table of contents."""
        self.segment.set_doc_count(self.documents)
        return self.segment


def is_array_segment(segment) -> bool:
    """Whether `segment` is in trialsearch's posting format (not an earlier release's
    `whoosh3` one)."""
    return isinstance(segment.codec(), TrialCodec)


def segment_terms(storage, segment) -> ArrayTermsReader:
    """The term table and postings of `segment` (trialsearch's format); close it after use."""
    return TrialCodec().terms_reader(storage, segment)


def commit_segments(ix, segments: list) -> None:
    """Write `ix`'s next table of contents, listing `segments` alone, and delete the files of
    every segment and table of contents it does not list (as Whoosh's writer commits)."""
    storage, generation = ix.storage, ix.latest_generation() + 1
    TOC(ix.schema, segments, generation).write(storage, ix.indexname)
    clean_files(storage, ix.indexname, generation, segments)
    # Whoosh's per-document writer buffers columns in this folder (Whoosh's segment writer,
    # which an update goes through, removes it when it finishes).
    storage.temp_storage(f"{ix.indexname}.tmp").destroy()


def open_writer(ix):
    """Whoosh's segment writer on `ix`, writing trialsearch's posting format (updates and
    deletes; its `commit(mergetype=...)` merges segments).

    compound=False: Whoosh reads a compound segment by copying each of its files into memory,
    so every process that opens the index would hold a private copy of it.
    """
    return ix.writer(codec=TrialCodec(), compound=False)
