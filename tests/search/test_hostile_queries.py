"""Hostile queries, property-based (hypothesis): the query parser and `SearchIndex.search` are
fed arbitrary text and parameters; the only outcomes are a `SearchResult` or a `QueryError`
naming a known parameter, within the budget. Each property test checks that its generators
reached both outcomes."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from hostile import QUERY_TEXT, SCALE, hostile, summary
from hypothesis import example, given
from hypothesis import strategies as st

from indexer import open_index
from indexer.catalog.facets import FACETS_BY_NAME
from indexer.catalog.fields import FIELD_ALIASES
from indexer.errors import QueryError
from indexer.index.schema import build_schema
from indexer.search import SearchResult
from indexer.search.query import parse_query

SCHEMA = build_schema()


QUERY_PARAMS = {"q", "field", "operator", "page", "per_page", "sort", *FACETS_BY_NAME, "bogus"}


def _check_query_error(exc: QueryError, counts: Counter) -> None:
    counts["errors"] += 1
    message = str(exc)
    assert message and "Traceback" not in message and len(message) < 400, message
    assert exc.param in QUERY_PARAMS, exc.param


@pytest.mark.slow
def test_query_parser_returns_a_query_or_a_query_error(record_property):
    counts = Counter()

    @hostile(1000)
    @given(text=QUERY_TEXT, operator=st.sampled_from(["and", "or"]),
           fields=st.one_of(st.none(), st.lists(st.sampled_from(
               ["title", "summary", "condition", "nct", "status", "year", "bogus"]), max_size=2)))
    @example(text="(" * 200 + "x" + ")" * 200, operator="or", fields=None)
    @example(text="first_posted:[2024 to 2020]", operator="and", fields=None)
    def check(text, operator, fields):
        counts["queries"] += 1
        try:
            parsed = parse_query(text, SCHEMA, fields=fields, operator=operator)
        except QueryError as exc:
            _check_query_error(exc, counts)
            return
        counts["parsed"] += 1
        assert parsed.query is not None
        assert all(isinstance(n, str) for n in parsed.notices)

    check()
    summary(record_property, "parser_inputs", counts)
    assert counts["parsed"] >= 200 * SCALE and counts["errors"] >= 100 * SCALE, counts


@pytest.fixture(scope="module")
def index(built_index):
    return open_index(built_index)


# Every field a query may scope, in every form a query can take: a phrase on a field without
# positions (`status:"not yet recruiting"`) once crashed Whoosh, and random tokens rarely
# build such combinations.
SCOPE_FORMS = ['{f}:{a}', '{f}:"{a} {b}"', '{f}:"{a}"', '{f}:{a}*', '{f}:{a}?{b}*', '{f}:{a}~',
               '{f}:{a}~2', '{f}:[{a} TO {b}]', '{f}:>={a}', '{f}:({a} OR {b})', 'covid {f}:"{a} {b}"',
               '-{f}:{a}', 'NOT {f}:"{a} {b}"', '{f}:', '({f}:)', '{f}: {a}', '{f}:"{a} {b}"~2',
               '{f}:{a}^2']
SCOPE_VALUES = [("not", "recruiting"), ("phase", "2"), ("2021", "2022"), ("NCT05871463", "x"),
                ("stem", "cells"), ("expanded", "access")]


@pytest.mark.parametrize("field_name", sorted(FIELD_ALIASES))
def test_every_field_scope_in_every_query_form_answers_or_says_what_is_wrong(index, field_name):
    for form in SCOPE_FORMS:
        for a, b in SCOPE_VALUES:
            text = form.format(f=field_name, a=a, b=b)
            try:
                result = index.search(text, per_page=3)
            except QueryError as exc:
                assert str(exc) and exc.param == "q", (text, exc)
                continue
            assert result.total >= len(result.hits), text


@pytest.mark.slow
def test_search_returns_results_or_a_query_error(index, record_property):
    counts = Counter()

    @hostile(600)
    # Valid values are drawn more often than invalid ones, so that queries get far enough to
    # be run, highlighted and faceted, not only refused for a bad page number.
    @given(text=QUERY_TEXT,
           page=st.one_of(st.just(1), st.integers(1, 3), st.integers(-2, 3), st.integers(),
                          st.sampled_from([10**6, 2**63])),
           per_page=st.one_of(st.just(10), st.integers(1, 100), st.integers(-1, 101),
                              st.sampled_from([0, 10**9])),
           sort=st.sampled_from(["relevance", "relevance", "last_update", "first_posted",
                                 "bogus", ""]),
           operator=st.sampled_from(["and", "and", "or", "xor"]),
           filters=st.one_of(st.just({}), st.dictionaries(
               st.sampled_from([*FACETS_BY_NAME, "bogus"]),
               st.one_of(st.sampled_from(["RECRUITING", "completed", "Phase 2", "2020",
                                          "INTERVENTIONAL"]),
                         st.text(max_size=30), st.lists(st.text(max_size=10), max_size=2),
                         st.integers().map(str)), max_size=2)))
    @example(text="exosomes", page=1, per_page=10, sort="relevance", operator="and", filters={})
    def check(text, page, per_page, sort, operator, filters):
        counts["searches"] += 1
        started = time.monotonic()
        try:
            result = index.search(text, page=page, per_page=per_page, sort=sort,
                                  operator=operator, filters=filters)
        except QueryError as exc:
            _check_query_error(exc, counts)
            return
        finally:
            assert time.monotonic() - started < index.time_budget + 2.0
        counts["results"] += 1
        counts["hits"] += len(result.hits)
        assert isinstance(result, SearchResult)
        assert 0 <= len(result.hits) <= per_page
        assert result.total >= len(result.hits)
        json.dumps(result.to_dict())

    check()
    summary(record_property, "search_inputs", counts)
    assert counts["results"] >= 50 * SCALE and counts["errors"] >= 50 * SCALE, counts
    assert counts["hits"] > 0, counts


@pytest.mark.parametrize(("text", "phrase"), [
    # Whoosh's own IndexError/Exception/ValueError escaped parse_query for these.
    ("first_posted:[x to y]", "not a date"),
    ("last_update:<cells", "not a date"),
    ("year:abc", "'abc' is not a valid number"),
    ("liver year:[a to b]", "not a valid number"),
    ("first_posted:2024-13-45", "'2024-13-45' is not a valid date"),
    (">=>=", "no searchable words"),
])
def test_query_regressions_are_clear_errors(index, text, phrase):
    with pytest.raises(QueryError) as caught:
        index.search(text)
    assert phrase in str(caught.value)
    _check_query_error(caught.value, Counter())
    assert caught.value.param == "q"


@pytest.mark.parametrize(("text", "nct_id"), [
    # A bare comparison sign made Whoosh's GtLt plugin raise IndexError; now it is punctuation.
    ("<0", None),
    ("<script>alert(1)</script>", "NCT99999999"),
    ("exosomes > liver", None),
    # 'exosome~10' parsed as exosom~1 AND '0' (no results, no notice); now capped with a notice.
    ("exosome~10", "NCT05871463"),
])
def test_query_regressions_now_search(index, text, nct_id):
    result = index.search(text, per_page=100)
    if nct_id and (nct_id != "NCT05871463" or index.get(nct_id)):
        assert nct_id in [hit.nct_id for hit in result.hits], text
    if "~" in text:
        assert any("capped at 2" in notice for notice in result.notices), result.notices


@pytest.mark.parametrize("filters", [{"status": "WITHHELD"}, {"status": "withheld", "phase": "4"},
                                     {"year": "1900"}, {"sponsor": "Nobody At All"}])
def test_a_filter_matching_nothing_returns_nothing(index, filters):
    # Found by the property test above: a filter matching no study came back with total 0 and
    # the first page of *unfiltered* hits (an empty set given to Whoosh as its filter means
    # "no filter"), so a widget limited to one sponsor could show everyone's studies.
    for text in ("", "exosomes", "cirrhosis OR asthma"):
        result = index.search(text, filters=filters)
        assert result.total == 0 and result.hits == [], (text, filters, result.total,
                                                         [hit.nct_id for hit in result.hits])


@pytest.mark.parametrize("filters", [{"status": "NO_SUCH_STATUS"}, {"phase": "RECRUITING"}])
def test_a_filter_value_the_registry_does_not_have_is_refused(index, filters):
    # It once returned nothing, silently; now the error names the filter and its values.
    with pytest.raises(QueryError) as error:
        index.search("exosomes", filters=filters)
    assert error.value.param == next(iter(filters)) and "one of:" in str(error.value)


