"""Facet counts, totals and filters (facet values, sites, ages) from the array caches agree with
Whoosh's own search plus a record-by-record scan, on the whole shared corpus and after an update
(deleted documents must not count)."""

from __future__ import annotations

import pytest
import scan

from indexer import build_index, open_index, update_index
from indexer.search.expansion import expand_abbreviations as _expand_abbreviations
from indexer.search.expansion import expand_multiterms
from indexer.search.filters import parse_filters
from indexer.search.query import parse_query
from indexer.search.vocabulary import Vocabulary
from indexer.whoosh.generation import decode_study

QUERIES = ["", "cirrhosis", "liver AND cirrhosis", '"stem cells"', "cancer OR tumour", "transplant*",
           "status:recruiting", "title:exosomes", "diabetes -insulin", "nonexistentword"]
FILTERS = [{}, {"status": ["RECRUITING"]}, {"status": ["COMPLETED", "RECRUITING"], "phase": ["PHASE2"]},
           {"year": ["2023"]}, {"type": ["INTERVENTIONAL"], "sponsor": ["Northbridge University Hospital"]},
           {"country": ["US"], "status": ["RECRUITING"]}, {"age": "70", "sex": "FEMALE"},
           {"near": "42.36,-71.06", "radius": "300"}, {"age_group": ["CHILD"], "has_results": ["false"]},
           {"near": "48.86,2.35", "radius": "1000", "status": ["RECRUITING", "COMPLETED"]},
           {"funder_type": ["INDUSTRY"], "healthy_volunteers": ["true"]}]


def whoosh_reference(index, text: str, filters: dict) -> tuple[int, dict]:
    """Total and facet counts computed the slow, obvious way: Whoosh's own search for the
    text and term filters, then each matching record read, checked and counted (tests/scan.py)."""
    searcher = index.searcher()
    parsed = parse_query(text, searcher.schema)
    q = expand_multiterms(_expand_abbreviations(parsed.query, index.snapshot().expansions), Vocabulary(searcher.reader()), [])
    results = searcher.search(q, limit=None, filter=parse_filters(filters).terms)
    studies = [decode_study(hit) for hit in results]
    studies = [study for study in studies if scan.passes(study, filters)]
    return len(studies), scan.facet_counts(studies, filters.get("status", []))


def assert_same_as_whoosh(index, text, filters):
    result = index.search(text, filters=filters, per_page=5)
    total, counted = whoosh_reference(index, text, filters)
    assert result.total == total, (text, filters)
    for name, pairs in result.facets.items():
        ours = {p["value"]: p["count"] for p in pairs}
        reference = counted
        if name in filters:  # a facet filtered by counts under the other filters only
            reference = whoosh_reference(index, text, {k: v for k, v in filters.items() if k != name})[1]
        assert name in reference, name
        expected = dict(sorted(reference[name].items(), key=lambda vc: (-vc[1], str(vc[0])))[:20])
        assert ours == expected, (text, filters, name)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_counts_match_whoosh_grouping_on_the_shared_corpus(shared_index, filters):
    index = open_index(shared_index)
    for text in QUERIES:
        assert_same_as_whoosh(index, text, filters)


def test_counts_stay_right_after_an_update_replaces_and_adds_studies(corpus_dir, tmp_path):
    path = tmp_path / "index"
    build_index([corpus_dir / "sample" / "text"], path)
    index = open_index(path)
    before = index.search("", filters={"status": ["RECRUITING"]}).total
    # The API v2 file replaces nothing and adds 18 studies; updating the text files again
    # replaces every one of them (deletes + re-adds, leaving deleted documents in segments).
    update_index([corpus_dir / "sample"], path)
    update_index([corpus_dir / "sample" / "text"], path)
    assert index.search("").total == 36
    assert index.search("", filters={"status": ["RECRUITING"]}).total >= before
    for text in QUERIES:
        for filters in FILTERS:
            assert_same_as_whoosh(index, text, filters)


def test_filter_cache_is_keyed_by_values_not_order(built_index):
    index = open_index(built_index)
    a = index.search("", filters={"status": ["RECRUITING", "COMPLETED"]}).total
    b = index.search("", filters={"status": ["COMPLETED", "RECRUITING"]}).total
    c = index.search("", filters={"status": ["COMPLETED"]}).total
    assert a == b > c > 0
