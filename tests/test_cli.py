"""The `trialsearch` command line through click's CliRunner: output and exit codes."""

import json

import pytest
from click.testing import CliRunner

from indexer.cli import main

from conftest import XSS_RECORD


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def index_path(tmp_path):
    return str(tmp_path / "index")


def test_build_with_no_sources_indexes_the_bundled_sample(runner, index_path):
    result = runner.invoke(main, ["build", "--index", index_path, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Indexed" in result.output and "records/s" in result.output
    stats = json.loads(runner.invoke(main, ["stats", "--index", index_path, "--json"]).output)
    assert stats["documents"] >= 36


def test_index_location_comes_from_the_environment(runner, tmp_path):
    result = runner.invoke(main, ["build", "--quiet"], env={"TRIALSEARCH_INDEX": str(tmp_path / "env")})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env" / "CURRENT").is_file()


def test_shared_corpus_build_reports_problems_and_search_ranks_the_seed_first(
        runner, index_path, shared_data):
    result = runner.invoke(main, ["build", str(shared_data), "--index", index_path, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["indexed"] > 3000
    assert any("qrels" in line.lower() or "not a study record" in line for line in report["ignored"])
    found = json.loads(runner.invoke(main, ["search", "exosomes", "--json", "--index", index_path]).output)
    ranked = [r["nct_id"] for r in found["results"]]
    # First among the seed-format (plain-text export) records, and near the top overall.
    assert "NCT05871463" in ranked[:3]
    text = runner.invoke(main, ["search", "title:cirrhosis AND status:recruiting", "--index", index_path])
    assert "NCT05871463" in text.output


def test_strict_turns_a_skip_into_exit_1(runner, index_path, tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "good.txt").write_text(XSS_RECORD, encoding="utf-8")
    (folder / "bad.json").write_text("{not json", encoding="utf-8")
    relaxed = runner.invoke(main, ["build", str(folder), "--index", index_path, "--quiet"])
    assert relaxed.exit_code == 0
    assert "bad.json" in relaxed.stderr
    strict = runner.invoke(main, ["build", str(folder), "--index", index_path, "--quiet", "--strict"])
    assert strict.exit_code == 1


def test_fatal_errors_exit_2_with_a_message_not_a_traceback(runner, index_path, tmp_path):
    result = runner.invoke(main, ["search", "liver", "--index", index_path])
    assert result.exit_code == 2
    assert "Error: no index at" in result.output and "Traceback" not in result.output
    runner.invoke(main, ["build", "--index", index_path, "--quiet"])
    bad_query = runner.invoke(main, ["search", '"unclosed', "--index", index_path])
    assert bad_query.exit_code == 2 and "unbalanced quotes" in bad_query.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(main, ["build", str(empty), "--index", index_path, "--quiet"])
    assert nothing.exit_code == 2 and "was not changed" in nothing.output


def test_usage_errors_exit_2(runner):
    assert runner.invoke(main, ["search", "x", "--limit", "0"]).exit_code == 2
    assert runner.invoke(main, ["search", "x", "--filter", "novalue"]).exit_code == 2


def test_search_output_shows_snippets_filters_and_suggestions(runner, index_path):
    runner.invoke(main, ["build", "--index", index_path, "--quiet"])
    result = runner.invoke(main, ["search", "exosomes", "--index", index_path, "--limit", "3"])
    assert result.exit_code == 0
    assert "studies match" in result.output and "1. NCT" in result.output
    filtered = json.loads(runner.invoke(main, [
        "search", "", "--filter", "status=RECRUITING", "--json", "--index", index_path]).output)
    assert filtered["total"] > 0 and {r["status"] for r in filtered["results"]} == {"RECRUITING"}
    suggestion = runner.invoke(main, ["search", "exosmes", "--index", index_path])
    assert "Did you mean: exosomes" in suggestion.output


def test_update_delete_and_synonyms(runner, index_path, tmp_path):
    runner.invoke(main, ["build", "--index", index_path, "--quiet"])
    record = tmp_path / "new.txt"
    record.write_text(XSS_RECORD, encoding="utf-8")
    updated = runner.invoke(main, ["update", str(record), "--index", index_path, "--quiet"])
    assert updated.exit_code == 0 and "Updated 1 studies" in updated.output
    deleted = runner.invoke(main, ["delete", "NCT99999999", "--index", index_path])
    assert deleted.exit_code == 0 and "Deleted 1" in deleted.output
    listed = runner.invoke(main, ["synonyms", "--index", index_path, "--json"])
    assert listed.exit_code == 0 and "MSC" in json.loads(listed.stdout)
