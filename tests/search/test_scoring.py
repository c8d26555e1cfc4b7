"""The numpy scorer gives Whoosh's answers: the same matches, the same scores, the same order,
on the whole shared corpus and on an updated index whose segments hold deleted documents."""

from __future__ import annotations

import time

import numpy as np
import pytest
from whoosh import query as wq

from indexer import build_index, open_index, update_index
from indexer.search.expansion import expand_abbreviations as _expand_abbreviations
from indexer.search.expansion import expand_multiterms
from indexer.search.query import parse_query
from indexer.search.scoring import _LENGTH_OF_BYTE, ArrayScorer, OverBudget, top
from indexer.search.vocabulary import Vocabulary

QUERIES = ["cirrhosis", "liver cirrhosis", "exosomes", '"stem cells"', "covid", "msc",
           "mesenchymal stem cells", "cancer OR tumour", "transplant*", "diabet~", "status:recruiting",
           "status:recruiting vaccine", "title:exosomes", "diabetes -insulin", "exosomes NOT cancer",
           "title:covid OR summary:vaccine", "year:2021 vaccine", "first_posted:[2020 to 2021] covid",
           '"intensive care unit"', "(lung OR liver) AND injury", "condition:pneumonia^3 treatment",
           "", "nonexistentword", "liver OR cirrhosis OR hepatitis",
           # phrases: decoded positions (slop 1), Whoosh's matcher (slop 3), no match, a
           # missing word, a compound (a phrase of its parts)
           '"stem cells"~3', '"cells stem"', '"zzzz cells"', "graft-versus-host",
           '"mesenchymal stem cell" exosomes']


def whoosh_query(searcher, index, text: str, **options):
    parsed = parse_query(text, searcher.schema, **options)
    return expand_multiterms(_expand_abbreviations(parsed.query, index.snapshot().expansions), Vocabulary(searcher.reader()), [])


def assert_same_as_whoosh(index, text: str, limit: int = 30, **options) -> None:
    searcher = index.searcher()
    q = whoosh_query(searcher, index, text, **options)
    scorer = ArrayScorer(searcher)
    assert scorer.supports(q), (text, q)
    ids, scores = scorer.evaluate(q)
    expected_ids = sorted(searcher.docs_for_query(q))
    assert ids.tolist() == expected_ids, text
    assert np.all(np.diff(ids) > 0)
    # optimize=False: Whoosh's block skipping can miss top documents (it does here on
    # `first_posted:[2020 to 2021] covid`); the exhaustive ranking is the reference.
    reference = searcher.search(q, limit=None, optimize=False)[:limit]
    ours = top(ids, scores, limit)
    # Scores agree to float rounding (sums are added in another order); ranks agree except
    # between documents whose scores are equal to that rounding.
    assert [s for s, _ in ours] == pytest.approx([hit.score for hit in reference], rel=1e-9), text
    theirs = {hit.docnum: hit.score for hit in reference}
    for (score, docnum), hit in zip(ours, reference):
        assert docnum == hit.docnum or score == pytest.approx(theirs.get(docnum, -1), rel=1e-9), text


def test_matches_scores_and_order_equal_whoosh_on_the_shared_corpus(shared_index):
    index = open_index(shared_index)
    for text in QUERIES:
        assert_same_as_whoosh(index, text)
    assert_same_as_whoosh(index, "liver cirrhosis ascites", operator="or")


@pytest.mark.slow
def test_deleted_documents_and_several_segments(corpus_dir, tmp_path):
    path = tmp_path / "index"
    build_index([corpus_dir / "sample" / "text"], path)
    # Re-adding the text files deletes every one of their documents and writes new ones in
    # a second segment; the API v2 file adds 18 more.
    update_index([corpus_dir / "sample"], path)
    update_index([corpus_dir / "sample" / "text"], path)
    index = open_index(path)
    reader = index.searcher().reader()
    assert reader.has_deletions() and len(reader.leaf_readers()) > 1
    for text in QUERIES:
        assert_same_as_whoosh(index, text)
    assert index.search("").total == 36


def test_length_bytes_equal_whooshs_per_document_lengths(shared_index):
    searcher = open_index(shared_index).searcher()
    scorer = ArrayScorer(searcher)
    reader = searcher.reader()
    for fieldname in ("title", "summary", "eligibility", "sponsor"):
        # The segments' tables, mapped from the files written with them.
        assert all(scorer.segments.tables(leaf).mapped for leaf, _ in reader.leaf_readers())
        length_bytes = np.concatenate([scorer.segments.tables(leaf).lengths(fieldname)
                                       for leaf, _ in reader.leaf_readers()])
        decoded = np.where(length_bytes > 0, _LENGTH_OF_BYTE[length_bytes], 0).astype(int)
        assert decoded.tolist() == [reader.doc_field_length(d, fieldname, 0) or 0
                                    for d in range(reader.doc_count_all())]


def test_what_it_does_not_score_goes_to_whooshs_collector(shared_index):
    index = open_index(shared_index)
    searcher = index.searcher()
    scorer = ArrayScorer(searcher)
    # OR with a coordination bonus is CoordMatcher's arithmetic, not a sum.
    or_query = wq.Or([wq.Term("title", "liver"), wq.Term("title", "cirrhosi")], scale=0.9)
    assert not scorer.supports(or_query)
    assert not scorer.supports(wq.DisjunctionMax([wq.Term("title", "liver"), wq.Term("title", "x")]))
    assert not scorer.supports(wq.And([wq.Not(wq.Term("title", "liver"))]))
    result = index.search("title:(liver OR cirrhosis)", per_page=10)
    assert result.total == len(list(searcher.docs_for_query(or_query))) > 0
    # A date sort is Whoosh's too, over the same matches.
    assert index.search("liver", sort="last_update").total == index.search("liver").total > 0


def test_cache_stays_within_its_byte_bound(shared_index):
    searcher = open_index(shared_index).searcher()
    scorer = ArrayScorer(searcher, cache_bytes=50_000)
    for word in ["patient", "studi", "treatment", "covid", "cancer", "diseas", "trial", "care"]:
        scorer.evaluate(wq.Or([wq.Term(f, word) for f in ("title", "summary", "description")]))
        assert scorer._leaves.currsize <= 50_000
    assert 0 < len(scorer._leaves) < 24


def test_a_leaf_past_the_deadline_marks_the_search_timed_out(shared_index):
    searcher = open_index(shared_index).searcher()
    with pytest.raises(OverBudget):
        ArrayScorer(searcher).evaluate(wq.Phrase("summary", ["stem", "cell"]), deadline=time.monotonic() - 1)
    index = open_index(shared_index, time_budget=0.0)
    result = index.search('"stem cells"')
    assert result.timed_out and result.total == 0 and "incomplete" in result.notices[-1]


def test_top_keeps_whooshs_order_among_ties():
    ids = np.arange(10, dtype=np.int64) * 3
    scores = np.array([1.0, 2.0, 1.0, 2.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0])
    assert top(ids, scores, 4) == [(3.0, 18), (2.0, 3), (2.0, 9), (1.0, 0)]
    assert top(ids, np.ones(10), 3) == [(1.0, 0), (1.0, 3), (1.0, 6)]
    assert top(ids, scores, 20) == sorted(zip(scores.tolist(), ids.tolist()), key=lambda p: (-p[0], p[1]))
