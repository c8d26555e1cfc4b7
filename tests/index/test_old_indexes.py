"""An index built by an earlier release keeps working, and one that cannot be read says so.

`tests/fixtures/index-2026-11` was built by the release before the package was arranged by
layer (commit db6ebca): Whoosh pickled its analyzers as `indexer.analysis.*`.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from conftest import INVENTED_DATA, PROJECT_ROOT

from indexer import build_index, open_index, update_index
from indexer.cli import main
from indexer.errors import IndexNotFoundError, IndexUnreadableError, QueryError
from indexer.whoosh.codec import TrialCodec

OLD_INDEX = PROJECT_ROOT / "tests" / "fixtures" / "index-2026-11"


@pytest.fixture
def old_index(tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(OLD_INDEX, path)
    return path


def test_an_index_built_before_the_layers_opens_searches_and_updates(old_index):
    assert [hit.nct_id for hit in open_index(old_index).search("cirrhosis").hits] == ["NCT99000001"]
    # Fuzzy and prefix words expand over the fields the old index has (it has no `concept`).
    assert open_index(old_index).search("cirrhosiss~").total == 1
    assert open_index(old_index).search("cirrho*").total == 1
    update_index([INVENTED_DATA / "text" / "NCT99000013.txt"], old_index)
    assert open_index(old_index).search("albumin").hits[0].nct_id == "NCT99000013"


def test_an_unreadable_index_says_rebuild_it(old_index):
    toc = next(old_index.glob("gen-*/_MAIN_*.toc"))
    toc.write_bytes(b"not a table of contents")
    with pytest.raises(IndexUnreadableError, match="cannot be read.*rebuild it: trialsearch build"):
        open_index(old_index)
    assert issubclass(IndexUnreadableError, IndexNotFoundError)  # the web app answers 503
    result = CliRunner().invoke(main, ["search", "x", "--index", str(old_index)])
    assert result.exit_code == 2 and "Error: the index at" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("filters", "param"), [
    ({"country": "US"}, "country"), ({"age": "30"}, "age"), ({"sex": "female"}, "sex"),
    ({"near": "42.36,-71.06"}, "near"), ({"healthy_volunteers": "true"}, "healthy_volunteers"),
])
def test_filters_newer_than_the_index_say_rebuild_it(old_index, filters, param):
    index = open_index(old_index)
    with pytest.raises(QueryError, match="built before .* rebuild it") as raised:
        index.search("cirrhosis", filters=filters)
    assert raised.value.param == param
    # The facets it has are still counted, and the search itself still runs.
    result = index.search("cirrhosis", filters={"status": "RECRUITING"})
    assert result.total == 1 and result.facets.get("country", []) == []


def test_a_file_given_as_the_index_says_no_index_there(tmp_path):
    not_a_folder = tmp_path / "whoosh.build.json"
    not_a_folder.write_text("{}")
    with pytest.raises(IndexNotFoundError, match="no index at"):
        open_index(not_a_folder)


def test_an_index_written_before_the_whoosh_boundary_opens(tmp_path, monkeypatch):
    # Its table of contents pickled the posting format's codec under its first module's name.
    path = tmp_path / "index_data"
    with monkeypatch.context() as then:
        then.setattr(TrialCodec, "__module__", "indexer.index.codec")
        build_index([INVENTED_DATA], path, procs=1)
    assert b"indexer.index.codec" in next(path.glob("gen-*/_MAIN_*.toc")).read_bytes()
    index = open_index(path)
    assert index.search("cirrhosis").total > 0
    assert isinstance(index.searcher().reader().leaf_readers()[0][0].segment().codec(), TrialCodec)
