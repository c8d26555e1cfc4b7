"""Facet counts, totals and filters from the array caches agree with Whoosh's own grouping and
counting, on the whole shared corpus and after an update (deleted documents must not count)."""

from __future__ import annotations

import pytest
from whoosh import sorting

from indexer import build_index, open_index, update_index
from indexer.index.schema import FACETS, FACETS_BY_NAME
from indexer.search.expansion import expand_abbreviations as _expand_abbreviations
from indexer.search.expansion import expand_multiterms
from indexer.search.filters import filter_query
from indexer.search.query import parse_query
from indexer.search.results import _display_value
from indexer.search.vocabulary import Vocabulary

QUERIES = ["", "cirrhosis", "liver cirrhosis", '"stem cells"', "cancer OR tumour", "transplant*",
           "status:recruiting", "title:exosomes", "diabetes -insulin", "nonexistentword"]
FILTERS = [{}, {"status": ["RECRUITING"]}, {"status": ["COMPLETED", "RECRUITING"], "phase": ["PHASE2"]},
           {"year": ["2023"]}, {"type": ["INTERVENTIONAL"], "sponsor": ["Northbridge University Hospital"]}]


def whoosh_reference(index, text: str, filters: dict) -> tuple[int, dict]:
    """Total and facet counts computed the slow, obvious way: Whoosh's groupedby."""
    searcher = index.searcher()
    parsed = parse_query(text, searcher.schema)
    q = expand_multiterms(_expand_abbreviations(parsed.query, index.snapshot().expansions), Vocabulary(searcher.reader()), [])
    facets = sorting.Facets()
    for facet in FACETS:
        facets.add_facet(facet.name, sorting.FieldFacet(facet.field, allow_overlap=facet.multi))
    results = searcher.search(q, limit=None, groupedby=facets, maptype=sorting.Count,
                              filter=filter_query(filters))
    counts = {}
    for name in FACETS_BY_NAME:
        counts[name] = {_display_value(name, v): c for v, c in results.groups(name).items()
                        if v not in (None, "", b"") and not (name == "year" and v > 9999)}
    return len(results), counts


def assert_same_as_whoosh(index, text, filters):
    result = index.search(text, filters=filters, per_page=5)
    total, reference = whoosh_reference(index, text, filters)
    assert result.total == total, (text, filters)
    for name, pairs in result.facets.items():
        ours = {p["value"]: p["count"] for p in pairs}
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
