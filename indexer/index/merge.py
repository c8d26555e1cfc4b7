"""Merging small segments by concatenating their arrays, deleted documents dropped.

Every update adds a segment; left alone, a registry synced daily would gather hundreds.
Whoosh's own merge re-adds every posting of the merged segments through its writer, one
Python call each. `merge_small` picks the segments Whoosh's `MERGE_SMALL` policy would (the
smallest, once there are several and they are small beside the rest) and `merge_segments`
writes them as one segment of trialsearch's format: each field's postings read as whole
arrays, documents renumbered past the deleted ones, sorted by term once
(`bulk.OpenSegment`). Segments of Whoosh's own format (an index built by an earlier release)
are left as they are.
"""

from __future__ import annotations

import numpy as np
from whoosh.util import fib

from ..whoosh.codec import POSITIONS, value_kind
from ..whoosh.segments import is_array_segment, segment_terms
from .bulk import FieldPostings, OpenSegment


def merge_small(storage, schema, indexname: str, segments: list) -> list:
    """`segments` with the small ones of trialsearch's format merged into one, as Whoosh's
    `MERGE_SMALL` chooses them (at least five segments, the smallest while their total stays
    below a Fibonacci bound); unchanged when there is nothing to merge."""
    ours = sorted((s for s in segments if is_array_segment(s)),
                  key=lambda s: s.doc_count_all())
    chosen, total = [], 0
    for i, segment in enumerate(ours):
        total += segment.doc_count_all()
        chosen.append(segment)
        if i > 3 and total < fib(i + 5):
            break
    else:
        return segments
    if len(chosen) < 2:
        return segments
    merged = merge_segments(storage, schema, indexname, chosen)
    return [s for s in segments if s not in chosen] + [merged]


def merge_segments(storage, schema, indexname: str, segments: list):
    """One new segment holding the live documents of `segments` (all of trialsearch's
    format), in order."""
    merged = OpenSegment(storage, indexname)
    for segment in segments:
        live = np.ones(segment.doc_count_all(), dtype=bool)
        live[list(segment.deleted_docs())] = False
        # Each live document's number in the merged segment, counted from `base`.
        renumbered = np.cumsum(live) - 1
        base = merged.documents
        merged.copy_documents(schema, segment, live)
        terms = segment_terms(storage, segment)
        try:
            for name in sorted(schema.names()):
                if schema[name].indexed:
                    field = _field_postings(terms, name, schema[name], live, renumbered)
                    if field is not None:
                        merged.add_postings(name, base, field)
        finally:
            terms.close()
    return merged.close(schema)


def _field_postings(terms, name: str, field, live: np.ndarray,
                    renumbered: np.ndarray) -> FieldPostings | None:
    found = terms.field_postings(name, field.format)
    if found is None:
        return None
    words, counts, postings = found
    keep = live[postings.ids]
    freqs = postings.freqs.astype(np.uint32)
    positions = None
    if value_kind(field.format) == POSITIONS:
        positions = postings.all_positions()[np.repeat(keep, freqs)]
    return FieldPostings(
        terms=words, term_ids=np.repeat(np.arange(len(words), dtype=np.int32), counts)[keep],
        docs=renumbered[postings.ids[keep]].astype(np.int32),
        weights=postings.weights[keep].astype(np.float32), freqs=freqs[keep], positions=positions)
