"""Highlights from stored positions (`indexer.search.highlights`) are Whoosh's highlights: the
same fragments, the same marks, the same escaping, on the shared corpus and on an index of
Whoosh's own format; a text the index did not analyze is highlighted by Whoosh's highlighter."""

from __future__ import annotations

import functools
import time

import pytest
from conftest import XSS_NCT_ID

from indexer import open_index
from indexer.search.highlights import SNIPPET, TITLE, PageHighlighter
from indexer.search.plan import plan_search
from indexer.search.ranking import rank_words
from indexer.search.request import SearchRequest
from indexer.whoosh.generation import stored_record

QUERIES = ["covid", "exosomes", "cirrhosis", "liver cirrhosis", '"stem cells"', "msc",
           "mesenchymal stem cells", "cancer OR tumour", "transplant*", "diabet~", "title:vaccine",
           "summary:vaccine", '"intensive care unit"', "covid19", "COVID-19 vaccine", "sars-cov-2",
           "mg/kg", "type 2 diabetes", "graft-versus-host", "immun* cell*", "treatment", "patients",
           "xssprobe", "script", "evil sponsor", "exosme~"]


def page(index, text: str, per_page: int = 100):
    """Whoosh results of `text` (ranked as a search ranks them) and their first hits."""
    snap = index.snapshot()
    plan = plan_search(snap, SearchRequest(q=text, per_page=per_page), index.meaning,
                       time.monotonic() + 30)
    results = rank_words(snap, plan, 30).results
    results.query_terms = functools.lru_cache(maxsize=None)(results.query_terms)
    return results, [results[i] for i in range(min(per_page, results.scored_length()))]


def assert_as_whoosh(index, text: str) -> int:
    """Every hit's title and summary highlights of `text`, against Whoosh's; how many hits."""
    results, hits = page(index, text)
    highlighter = PageHighlighter(results, [hit.docnum for hit in hits])
    for hit in hits:
        study = stored_record(hit)
        for fieldname, value, fragments in (("title", study["title"], TITLE),
                                            ("summary", study["brief_summary"], SNIPPET)):
            expected = fragments.whoosh().highlight_hit(hit, fieldname, text=value, top=fragments.top)
            assert highlighter.html(hit, fieldname, value, fragments) == expected, (text, hit.docnum)
    return len(hits)


def test_highlights_are_whooshs_on_the_shared_corpus(shared_index):
    index = open_index(shared_index)
    assert sum(assert_as_whoosh(index, text) for text in QUERIES) > 1000


def test_highlights_are_whooshs_on_both_formats(built_index, whoosh_format_index):
    for path in (built_index, whoosh_format_index):
        index = open_index(path)
        assert sum(assert_as_whoosh(index, text) for text in QUERIES) > 50


def test_markup_is_escaped_and_marked(built_index):
    results, hits = page(open_index(built_index), "exosomes script")
    hit = next(hit for hit in hits if stored_record(hit)["nct_id"] == XSS_NCT_ID)
    title = PageHighlighter(results, [hit.docnum]).html(hit, "title", stored_record(hit)["title"], TITLE)
    assert title == ('<mark class="match term0">Exosomes</mark> &lt;<mark class="match term1">'
                     'script</mark>&gt;alert(1)&lt;/<mark class="match term1">script</mark>&gt; and '
                     '&lt;img src=x onerror=alert(2)&gt; study')


def test_a_text_the_index_did_not_analyze_is_highlighted_by_whoosh(built_index):
    results, hits = page(open_index(built_index), "exosomes")
    hit = next(hit for hit in hits if stored_record(hit)["title"].startswith("Exosomes"))
    highlighter = PageHighlighter(results, [hit.docnum])
    other = "Nothing here; then exosomes, twice: exosomes."
    expected = TITLE.whoosh().highlight_hit(hit, "title", text=other, top=1)
    assert highlighter.html(hit, "title", other, TITLE, indexed=False) == expected
    assert expected.count("<mark") == 2
    # Said to be the indexed text, but the word at the stored position is another.
    other = "Vesicles and exosomes"
    expected = TITLE.whoosh().highlight_hit(hit, "title", text=other, top=1)
    assert highlighter.html(hit, "title", other, TITLE) == expected
    assert expected.count("<mark") == 1


@pytest.fixture(scope="module")
def whoosh_format_index(corpus_dir, tmp_path_factory):
    """The test corpus in an index of Whoosh's own `whoosh3` format (as releases before the
    posting format wrote)."""
    from conftest import write_with_whoosh

    from indexer.index.layout import CURRENT_FILE, META_FILE

    root = tmp_path_factory.mktemp("whoosh-format") / "index_data"
    generation = root / "gen-20260101T000000-000000"
    generation.mkdir(parents=True)
    write_with_whoosh([corpus_dir], generation)
    (generation / META_FILE).write_text("{}", encoding="utf-8")
    (root / CURRENT_FILE).write_text(generation.name + "\n", encoding="utf-8")
    return root
