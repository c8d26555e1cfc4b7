"""The search core on a real index: matching, field scopes, facets, highlights, abbreviations,
spelling, similar studies, and bounds."""

import pytest
from conftest import XSS_NCT_ID

from indexer import QueryError, open_index
from indexer.catalog.facets import FACETS
from indexer.catalog.fields import SEARCH_FIELD_BOOSTS
from indexer.search import MAX_RESULT_WINDOW
from indexer.search import expansion as expansion_module

SEED = "NCT05871463"


@pytest.fixture(scope="module")
def index(built_index):
    return open_index(built_index)


def ids(result):
    return [hit.nct_id for hit in result.hits]


@pytest.fixture(scope="module")
def seed_present(shared_data):
    return SEED


@pytest.mark.parametrize("text", ["exosomes", "exosome", "EXOSOMES", '"mesenchymal stem cells"',
                                  "title:cirrhosis AND status:recruiting", "MSC-exosome", "UC-MSC",
                                  "40mg", "graft-versus-host", "exo*", "exosme~"])
def test_seed_record_is_found(index, seed_present, text):
    assert SEED in ids(index.search(text, per_page=100))


def test_exosomes_ranks_the_seed_record_first_among_seed_format_records(index, seed_present):
    assert ids(index.search("exosomes"))[0] == SEED


def test_title_scope_ignores_matches_elsewhere(index, seed_present):
    in_title = ids(index.search("title:exosomes", per_page=100))
    anywhere = ids(index.search("exosomes", per_page=100))
    assert SEED in in_title
    assert set(in_title) < set(anywhere)
    for nct_id in set(anywhere) - set(in_title):
        assert "exosom" not in index.get(nct_id).title.lower()


def test_highlights_mark_matches_and_escape_markup(index):
    hit = next(h for h in index.search("exosomes", per_page=100).hits if h.nct_id == XSS_NCT_ID)
    assert "<mark" in hit.highlights["title"]
    assert "<script>" not in hit.highlights["title"]
    assert "&lt;script&gt;" in hit.highlights["title"]
    assert "<script>" not in hit.highlights["summary"]


def test_facets_count_the_matches(index):
    result = index.search("")
    status_counts = {f["value"]: f["count"] for f in result.facets["status"]}
    assert sum(status_counts.values()) == result.total
    assert "RECRUITING" in status_counts
    assert set(result.facets) == {facet.name for facet in FACETS if facet.counted}


def test_filters_narrow_and_combine(index):
    everything = index.search("").total
    recruiting = index.search("", filters={"status": "RECRUITING"})
    assert 0 < recruiting.total < everything
    assert all(hit.status == "RECRUITING" for hit in recruiting.hits)
    year = recruiting.facets["year"][0]["value"]
    both = index.search("", filters={"status": "recruiting", "year": str(year)})
    assert 0 < both.total <= recruiting.total
    assert all(hit.first_posted.startswith(str(year)) for hit in both.hits)


def test_sort_by_last_update_is_newest_first(index):
    dates = [h.last_update_posted for h in index.search("", sort="last_update", per_page=50).hits
             if h.last_update_posted]
    assert dates == sorted(dates, reverse=True)


def test_pages_do_not_overlap(index):
    first, second = index.search("", per_page=5), index.search("", page=2, per_page=5)
    assert not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"page": 0}, "page"), ({"per_page": 101}, "per_page"), ({"sort": "random"}, "sort"),
    ({"page": MAX_RESULT_WINDOW, "per_page": 10}, "page"), ({"filters": {"colour": "red"}}, "colour"),
    ({"filters": {"year": "soon"}}, "year"), ({"filters": {"year": "-1"}}, "year"),
    ({"filters": {"year": ["2020", "99999999999"]}}, "year"),
])
def test_bad_parameters_name_themselves(index, kwargs, param):
    with pytest.raises(QueryError) as excinfo:
        index.search("liver", **kwargs)
    assert excinfo.value.param == param


def test_spelling_suggestion(index):
    assert index.search("exosmes").suggestion == "exosomes"
    assert index.search("exosomes").suggestion is None


def test_abbreviation_expands_both_ways_on_the_seed_record(index, seed_present):
    assert "mesenchymal stem cell" in index.abbreviations["MSC"]
    assert "liver cirrhosis" in index.abbreviations["LC"]
    # MSC finds studies that only spell the long form, below the exact matches.
    with_expansion = index.search("MSC", per_page=100)
    without = index.search("MSC", per_page=100, expand_abbreviations=False)
    assert set(ids(without)) < set(ids(with_expansion))
    exact = [h.score for h in with_expansion.hits if h.nct_id in ids(without)]
    expanded_only = [h.score for h in with_expansion.hits if h.nct_id not in ids(without)]
    assert min(exact) > max(expanded_only)
    long_form = ids(index.search('"mesenchymal stem cells"', per_page=100))
    assert SEED in long_form


def test_similar_studies(index, seed_present):
    result = index.similar(SEED, limit=5)
    assert result.hits and SEED not in ids(result)
    assert index.similar("NCT00000000") is None


def test_get_returns_the_full_record(index, seed_present):
    study = index.get(SEED.lower())
    assert study.status == "RECRUITING"
    assert "MSC-exosome" in study.brief_summary
    assert index.get("NCT00000000") is None and index.get("garbage") is None


def test_wildcard_expansion_keeps_the_most_frequent_terms(built_index, monkeypatch):
    unbounded = open_index(built_index).search("co*", expand_abbreviations=False)
    monkeypatch.setattr(expansion_module, "MAX_EXPANSIONS", 2)
    bounded = open_index(built_index).search("co*", expand_abbreviations=False)  # fresh memo
    assert any("the 2 most frequent were searched" in notice for notice in bounded.notices)
    assert 0 < bounded.total < unbounded.total


def test_stats(index):
    info = index.stats()
    assert info["documents"] > 30 and info["size_bytes"] > 0 and info["built_at"]


def test_only_restricts_to_the_listed_studies_without_changing_scores(index):
    everything = {hit.nct_id: hit.score for hit in index.search("cirrhosis", per_page=100).hits}
    listed = sorted(everything)[::2]
    restricted = index.search("cirrhosis", per_page=100, only=listed + ["NCT00000000"])
    assert restricted.total == len(listed)
    assert {hit.nct_id: hit.score for hit in restricted.hits} == {i: everything[i] for i in listed}
    assert index.search("cirrhosis", only=[]).total == 0


def test_warm_reads_what_the_first_search_would(built_index):
    index = open_index(built_index)
    index.warm()
    decoded = index._segments.decoded
    assert index.snapshot().docsets._columns is not None
    index.search("exosmes")  # "did you mean" reads the words warm() read
    # One posting list per bare-word field, per segment.
    assert index._segments.decoded - decoded == \
        len(SEARCH_FIELD_BOOSTS) * len(index.searcher().reader().leaf_readers())
    decoded = index._segments.decoded
    browse = index.search("")  # every study, with facet counts: nothing left to read
    assert browse.total > 0 and browse.facets["status"]
    assert index._segments.decoded == decoded


def test_spellings_of_covid_19_find_the_same_studies(shared_index):
    """`covid19` used to find 889 studies of the shared corpus where `COVID-19` found 3,399."""
    shared = open_index(shared_index)
    totals = {spelling: shared.search(spelling, per_page=1).total
              for spelling in ("covid19", "COVID19", "COVID-19", "covid-19", '"covid 19"')}
    assert len(set(totals.values())) == 1 and totals["covid19"] > 3000, totals
