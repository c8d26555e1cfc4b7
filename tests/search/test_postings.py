"""Decoded segment data outlives a generation: after an update a live index re-reads only the
segments the update wrote, and still answers exactly as a freshly opened index does."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import write_with_whoosh
from whoosh import query as wq

from indexer import build_index, open_index, update_index
from indexer.search.postings import SegmentCache
from indexer.whoosh.generation import open_searcher

QUERIES = [("covid", {}), ("liver cirrhosis", {"status": ["RECRUITING"]}), ('"stem cells"', {}),
           ("status:recruiting vaccine", {}), ("", {"phase": ["PHASE2"]}), ("transplant*", {})]


def answers(index) -> list:
    return [(r.total, [(h.nct_id, h.score) for h in r.hits], r.facets)
            for r in (index.search(text, filters=filters) for text, filters in QUERIES)]


def segment_ids(index) -> set[str]:
    return {leaf.segment().segment_id() for leaf, _ in index.searcher().reader().leaf_readers()}


def cached_segments(index) -> set[str]:
    return {key[0] for key in index._segments._entries}


@pytest.fixture
def live(corpus_dir, tmp_path):
    """A live index of the sample's text files that has answered the queries once."""
    build_index([corpus_dir / "sample" / "text"], tmp_path / "index")
    index = open_index(tmp_path / "index")
    answers(index)
    return index


def test_an_update_rereads_only_the_segments_it_wrote(live, corpus_dir):
    path = live.path
    old = segment_ids(live)
    assert cached_segments(live) == old
    old_entries = set(live._segments._entries)
    # Replaces every text-file study (deletions in the old segment) and adds the API v2 ones.
    update_index([corpus_dir / "sample"], path)
    after = answers(live)
    assert after == answers(open_index(path))
    new = segment_ids(live) - old
    assert new and new <= cached_segments(live)  # the update's segment was read ...
    assert old_entries <= set(live._segments._entries)  # ... and the old one's arrays reused
    # Words merged from the segments are the index's lexicon; prefixes expand as Whoosh's.
    reader = live.searcher().reader()
    for fieldname in ("title", "summary", "vocab"):
        field = reader.schema[fieldname]
        assert live.snapshot().vocabulary.words(fieldname) == [field.from_bytes(b) for b in reader.lexicon(fieldname)]
        for prefix in ("ce", "stem", "x", "zzz"):
            assert live.snapshot().vocabulary.starting_with(fieldname, prefix) == \
                [field.from_bytes(b) for b in reader.expand_prefix(fieldname, prefix)]


def test_a_rebuild_forgets_the_old_generations_segments(live, corpus_dir):
    path = live.path
    old = cached_segments(live)
    build_index([corpus_dir / "sample"], path)
    fresh = answers(open_index(path))
    assert answers(live) == fresh
    assert cached_segments(live) and cached_segments(live).isdisjoint(old)


def test_mapped_postings_cost_the_cache_nothing(shared_index):
    searcher = open_index(shared_index).searcher()
    cache = SegmentCache(max_bytes=10_000)
    for leaf, _ in searcher.reader().leaf_readers():
        for word in [b"patient", b"studi", b"treatment", b"covid", b"cancer", b"diseas"]:
            ids, weights = cache.postings(leaf, "summary", word)
            assert len(ids) == len(weights) and np.all(np.diff(ids) > 0)
        assert len(cache.postings(leaf, "summary", b"zzzznotaword")[0]) == 0
    # Views of the mapped posting arrays: every process shares their pages.
    assert cache._entries.currsize == 0 and len(cache._entries) == 7
    # What the cache decoded is what Whoosh's matcher walks.
    leaf, offset = searcher.reader().leaf_readers()[0]
    ids, _ = SegmentCache().postings(leaf, "summary", b"covid")
    assert (ids + offset).tolist() == sorted(
        d for d in searcher.docs_for_query(wq.Term("summary", "covid")) if offset <= d < offset + leaf.doc_count_all())


def test_decoded_postings_stay_within_the_byte_bound(corpus_dir, tmp_path):
    searcher = open_searcher(write_with_whoosh([corpus_dir], tmp_path))  # Whoosh's own format
    cache = SegmentCache(max_bytes=600)
    for leaf, _ in searcher.reader().leaf_readers():
        for word in [b"exosom", b"cell", b"stem", b"liver", b"cirrhosi", b"patient", b"studi"]:
            ids, weights = cache.postings(leaf, "summary", word)
            assert len(ids) == len(weights) > 0 and np.all(np.diff(ids) > 0)
            assert cache._entries.currsize <= 600
    assert 0 < len(cache._entries) < 7


def test_a_warmed_index_warms_again_after_an_update(live, corpus_dir):
    live.warm()
    old = segment_ids(live)
    update_index([corpus_dir / "sample"], live.path)
    live.searcher()  # notices the update, as any request would, and starts warming
    new = segment_ids(live) - old
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
            live.snapshot().docsets._columns is not None
            and all((segment, "words", "vocab") in live._segments._entries for segment in new)):
        time.sleep(0.05)
    assert new and live.snapshot().docsets._columns is not None
    assert all((segment, "words", "vocab") in live._segments._entries for segment in new)


def test_a_closed_index_is_not_warmed(live):
    live.close()
    live.warm()
    assert live._snapshot is None
