"""Each segment's tables (`indexer.index.tables`) are written with it by builds, updates and
merges, mapped by searches, and equal to what the segment's postings and columns give; an
index whose segments have none (written before them) answers alike, and a damaged file says
rebuild it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import INVENTED_DATA

from indexer import build_index, open_index, update_index
from indexer.errors import IndexUnreadableError
from indexer.index.layout import SEGMENT_TABLES_EXT, generation_path
from indexer.index.tables import load_tables, tabulate

# Facets (countries with and without a status), place, country, age and eligibility filters,
# and distances: everything the tables answer.
SEARCHES = [("", {}), ("covid", {}), ("cancer", {"status": ["RECRUITING"]}),
            ("", {"country": ["US"], "status": ["RECRUITING", "COMPLETED"]}),
            ("", {"near": "42.36,-71.06", "radius": "500"}), ("vaccine", {"age": "70", "sex": "FEMALE"}),
            ("", {"near": "48.86,2.35", "radius": "2000", "sort": "distance"}),
            ("patients", {"age_group": ["CHILD"], "phase": ["PHASE2"]}), ("study", {"year": ["2021"]})]


def answers(path) -> list:
    index = open_index(path)
    out = []
    for text, filters in SEARCHES:
        filters = dict(filters)
        sort = filters.pop("sort", "relevance")
        result = index.search(text, filters=filters, sort=sort, per_page=20)
        out.append((result.total, [(hit.nct_id, hit.nearest_site) for hit in result.hits], result.facets))
    return out


def table_files(path) -> list:
    return sorted(generation_path(path).glob(f"*{SEGMENT_TABLES_EXT}"))


def assert_tables_fit_the_segments(path) -> None:
    reader = open_index(path).searcher().reader()
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    assert len(table_files(path)) == len(leaves)  # a merged-away segment's file went with it
    for leaf in leaves:
        tables = load_tables(leaf)
        assert tables.mapped
        arrays, meta = tabulate(leaf)
        assert meta == tables.meta and set(arrays) == set(tables.arrays)
        for name, array in arrays.items():
            assert np.array_equal(array, tables.arrays[name], equal_nan=True), name


@pytest.fixture(scope="module")
def updated(shared_data, tmp_path_factory):
    """The shared corpus built from one of its files, then more added by updates (each one a
    segment), with studies replaced (deleted in old segments), then invented studies one at
    a time (five small segments, which a commit merges)."""
    path = tmp_path_factory.mktemp("tables") / "index_data"
    build_index([shared_data / "ctgov" / "api_v2_studies.jsonl.gz"], path)
    update_index([shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz"], path)
    update_index([shared_data / "ctgov" / "legacy_xml"], path)
    update_index([shared_data / "ctgov" / "api_v2_studies.jsonl.gz"], path)
    for record in sorted((INVENTED_DATA / "text").glob("*.txt"))[:6]:
        update_index([record], path)
    return path


def test_builds_updates_and_merges_write_tables_that_fit_their_segments(updated):
    assert 1 < len(open_index(updated).searcher().reader().leaf_readers()) < 10  # some merged
    assert_tables_fit_the_segments(updated)


def test_an_index_without_tables_answers_alike(updated, tmp_path):
    older = tmp_path / "index_data"
    shutil.copytree(updated, older)
    for path in table_files(older):
        path.unlink()
    reader = open_index(older).searcher().reader()
    assert not any(load_tables(leaf).mapped for leaf, _ in reader.leaf_readers())
    assert answers(older) == answers(updated)


def test_tables_of_another_version_are_computed_again(updated, tmp_path, monkeypatch):
    from indexer.index import tables

    monkeypatch.setattr(tables, "TABLES_VERSION", tables.TABLES_VERSION + 1)
    reader = open_index(updated).searcher().reader()
    assert not any(load_tables(leaf).mapped for leaf, _ in reader.leaf_readers())


def test_a_damaged_tables_file_says_rebuild_it(corpus_dir, tmp_path):
    path = tmp_path / "index_data"
    build_index([corpus_dir], path)
    table_files(path)[0].write_bytes(b"not a table")
    with pytest.raises(IndexUnreadableError, match="cannot be read.*rebuild it"):
        open_index(path).search("", filters={"country": ["US"]})
