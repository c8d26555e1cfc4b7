"""The reads of Whoosh's private storage (`indexer.whoosh.storage`): when a Whoosh release
changes what they read, these fail and name the module, instead of searches going wrong (the
names themselves are checked by test_canary.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_with_whoosh
from whoosh import index as whoosh_index
from whoosh.codec import whoosh3

from indexer.index.layout import generation_path
from indexer.whoosh import storage
from indexer.whoosh.codec import ArrayMatcher

ADAPTER = "indexer/whoosh/storage.py"


@pytest.fixture(scope="module", params=["trialsearch", "whoosh3"])
def reader(request, built_index, corpus_dir, tmp_path_factory):
    """A reader of the test corpus in trialsearch's posting format, and one in Whoosh's own
    (which indexes built before it, and their updated segments, still hold)."""
    if request.param == "trialsearch":
        folder = generation_path(built_index)
    else:
        folder = write_with_whoosh([corpus_dir], tmp_path_factory.mktemp("whoosh3"))
    searcher = whoosh_index.open_dir(str(folder)).searcher()
    yield searcher.reader()
    searcher.close()


def test_block_walk_equals_whoosh_s_own_matcher(reader):
    leaf, _ = reader.leaf_readers()[0]
    checked = 0
    for btext in list(leaf.lexicon("summary"))[:200]:
        expected = leaf.postings("summary", btext)
        ids, weights = [], []
        while expected.is_active():
            ids.append(expected.id())
            weights.append(expected.weight())
            expected.next()
        parts = list(storage.blocks(storage.term_matcher(leaf, "summary", btext)))
        assert isinstance(leaf.postings("summary", btext),
                          (ArrayMatcher, whoosh3.W3LeafMatcher)), ADAPTER
        got_ids = np.concatenate([p[0] for p in parts])
        got_weights = np.concatenate([p[1] for p in parts])
        assert got_ids.tolist() == ids, f"posting blocks no longer decode: update {ADAPTER}"
        assert np.allclose(got_weights, weights), f"weights no longer decode: update {ADAPTER}"
        checked += 1
    assert checked == 200
    assert storage.term_matcher(leaf, "summary", b"\xff-no-such-term") is None


def test_skipping_to_wanted_documents_keeps_them_all(reader):
    leaf, _ = reader.leaf_readers()[0]
    btext = max(leaf.lexicon("summary"), key=lambda t: leaf.doc_frequency("summary", t))
    every = np.concatenate([p[0] for p in storage.blocks(
        storage.term_matcher(leaf, "summary", btext))])
    wanted = every[::3]
    parts = list(storage.blocks(storage.term_matcher(leaf, "summary", btext),
                                       weights=False, values=True, wanted=wanted))
    got = np.concatenate([p[0] for p in parts])
    assert set(wanted.tolist()) <= set(got.tolist())
    assert sum(len(p[2]) for p in parts) == len(got)


def test_lengths_and_b_match_whoosh(reader):
    leaf, _ = reader.leaf_readers()[0]
    lengths = storage.length_bytes(leaf, "title")
    from whoosh.util.numeric import byte_to_length
    for docnum in range(min(50, leaf.doc_count_all())):
        assert byte_to_length(lengths[docnum]) == leaf.doc_field_length(docnum, "title"), ADAPTER
    from whoosh.scoring import BM25F
    assert storage.field_b(BM25F(title_B=0.3), "title") == 0.3
    assert storage.field_b(BM25F(B=0.6), "summary") == 0.6


def test_term_positions_equal_whoosh_s_own_matcher(reader):
    leaf, _ = reader.leaf_readers()[0]
    btext = max(leaf.lexicon("summary"), key=lambda t: leaf.doc_frequency("summary", t))
    expected = []
    matcher = leaf.postings("summary", btext)
    while matcher.is_active():
        expected += [(matcher.id(), pos) for pos in matcher.value_as("positions")]
        matcher.next()
    wanted = np.unique(np.asarray([doc for doc, _ in expected], dtype=np.int64))[::2]
    docs, positions = storage.term_positions(leaf, "summary", btext, wanted)
    assert list(zip(docs.tolist(), positions.tolist())) == \
        [(doc, pos) for doc, pos in expected if doc in set(wanted.tolist())], ADAPTER


@pytest.mark.parametrize("fieldname", ["vocab", "title", "condition", "sponsor_name", "year"])
def test_field_words_equal_whoosh_s_lexicon(reader, fieldname):
    leaf, _ = reader.leaf_readers()[0]
    field = leaf.schema[fieldname]
    found = storage.field_words(leaf, fieldname)
    if isinstance(found, np.ndarray):  # trialsearch's lexicon, mapped: UTF-8, NUL-separated
        found = found.tobytes().decode("utf-8").split("\0")
    assert found == [field.from_bytes(b) for b in leaf.lexicon(fieldname)], ADAPTER


@pytest.mark.parametrize("fieldname", ["status", "phase", "sponsor_name", "year", "conditions_facet"])
def test_field_runs_equal_whoosh_s_postings(reader, fieldname):
    leaf, _ = reader.leaf_readers()[0]
    field = leaf.schema[fieldname]
    expected = {}
    for btext in field.sortable_terms(leaf, fieldname):
        matcher = leaf.postings(fieldname, btext)
        expected[btext] = list(matcher.all_ids())
    values, counts, ids = storage.field_runs(leaf, fieldname)
    got, start = {}, 0
    for value, count in zip(values, counts.tolist()):
        got[value] = ids[start:start + count].tolist()
        start += count
    assert got == expected and len(values) > 0, ADAPTER
