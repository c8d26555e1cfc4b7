"""The `trialsearch` command line through click's CliRunner: output and exit codes."""

import csv
import io
import json
import re
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import INVENTED_DATA, WINDOW_STUDIES, XSS_RECORD

from indexer.cli import main
from indexer.search.export import COLUMNS, EXPORT_LIMIT

INVENTED_TEXT = str(INVENTED_DATA / "text")  # 18 invented studies: a quick index to write to


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def index_path(tmp_path):
    return str(tmp_path / "index")


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory):
    """The bundled sample built with no SOURCE, once for the read-only tests; its JSON report."""
    path = str(tmp_path_factory.mktemp("sample") / "index")
    result = CliRunner().invoke(main, ["build", "--index", path, "--json"])
    assert result.exit_code == 0, result.output
    return path, json.loads(result.stdout)


def test_build_with_no_sources_indexes_the_real_bundled_sample(runner, sample_index):
    index_path, report = sample_index
    assert report["skipped"] == [] and report["indexed"] >= 250
    assert [Path(line.split(": ")[0]).name for line in report["ignored"]] == ["README.md"]
    seed = runner.invoke(main, ["search", "NCT05871463", "--json", "--index", index_path])
    assert [hit["nct_id"] for hit in json.loads(seed.stdout)["results"]] == ["NCT05871463"]
    everything = runner.invoke(main, ["search", "", "--json", "--index", index_path])
    facets = {name: {f["value"] for f in values}
              for name, values in json.loads(everything.stdout)["facets"].items()}
    assert {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED",
            "WITHDRAWN", "UNKNOWN"} <= facets["status"]
    assert {"EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA"} <= facets["phase"]
    assert {"INTERVENTIONAL", "OBSERVATIONAL"} <= facets["type"]


def test_index_location_comes_from_the_environment(runner, tmp_path):
    result = runner.invoke(main, ["build", INVENTED_TEXT, "--quiet"],
                           env={"TRIALSEARCH_INDEX": str(tmp_path / "env")})
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"Indexed 18 studies in \d+\.\d\d s \([\d,]+ records/s\) into gen-\S+\.\n",
                        result.stdout)
    assert (tmp_path / "env" / "CURRENT").is_file()


@pytest.mark.slow
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
    runner.invoke(main, ["build", INVENTED_TEXT, "--index", index_path, "--quiet"])
    bad_query = runner.invoke(main, ["search", '"unclosed', "--index", index_path])
    assert bad_query.exit_code == 2 and "unbalanced quotes" in bad_query.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(main, ["build", str(empty), "--index", index_path, "--quiet"])
    assert nothing.exit_code == 2 and "was not changed" in nothing.output


def test_usage_errors_exit_2(runner):
    assert runner.invoke(main, ["search", "x", "--limit", "0"]).exit_code == 2
    assert runner.invoke(main, ["search", "x", "--filter", "novalue"]).exit_code == 2


def test_search_output_shows_snippets_filters_and_suggestions(runner, sample_index):
    index_path, _ = sample_index
    result = runner.invoke(main, ["search", "exosomes", "--index", index_path, "--limit", "3"])
    assert result.exit_code == 0
    assert "studies match" in result.output and "1. NCT" in result.output
    filtered = json.loads(runner.invoke(main, [
        "search", "", "--filter", "status=RECRUITING", "--json", "--index", index_path]).output)
    assert filtered["total"] > 0 and {r["status"] for r in filtered["results"]} == {"RECRUITING"}
    suggestion = runner.invoke(main, ["search", "exosmes", "--index", index_path])
    assert "Did you mean: exosomes" in suggestion.output


def test_search_near_a_place_by_name_says_which_place(runner, sample_index):
    """`--filter near=Boston` searches from Boston (as its coordinates do) and says which
    Boston; an unknown place is one line naming `near` with places spelled like it."""
    index_path, _ = sample_index
    near = ["search", "--index", index_path, "--sort", "distance", "--filter", "radius=100"]
    by_name = runner.invoke(main, [*near, "--filter", "near=Boston"])
    assert by_name.exit_code == 0, by_name.output
    assert by_name.stdout.splitlines()[1] == "Near: Boston, Massachusetts, US"
    assert "Nearest site:" in by_name.stdout
    by_point = runner.invoke(main, [*near, "--filter", "near=42.35843,-71.05977"])
    assert "Near:" not in by_point.stdout  # typed as a point: nothing to say
    assert by_point.stdout.splitlines()[1:] == by_name.stdout.splitlines()[2:]
    as_json = json.loads(runner.invoke(main, [*near, "--filter", "near=Toronto, ON", "--json"]).stdout)
    assert as_json["place"]["label"] == "Toronto, Ontario, CA"
    unknown = runner.invoke(main, [*near, "--filter", "near=Bostn"])
    assert unknown.exit_code == 2
    assert unknown.output.startswith("Error: near: no place called 'Bostn'; did you mean Boston "
                                     "(US, Massachusetts)")


def test_search_mode_without_vectors_runs_by_words_and_says_why(runner, sample_index):
    index_path, _ = sample_index  # built without vectors (TRIALSEARCH_VECTORS=0 in tests)
    plain = runner.invoke(main, ["search", "exosomes", "--index", index_path, "--limit", "2"])
    assert plain.exit_code == 0
    assert re.match(r"\d+ studies match \(keyword, \d+\.\d ms\)\.\n", plain.stdout), plain.stdout
    assert "meaning" not in plain.output
    asked = runner.invoke(main, ["search", "exosomes", "--mode", "hybrid", "--index", index_path])
    assert asked.exit_code == 0 and "(keyword, " in asked.stdout.splitlines()[0]
    assert "Note: meaning search is unavailable (" in asked.stderr
    assert "(meaning)" not in asked.stdout and "(words + meaning)" not in asked.stdout
    assert runner.invoke(main, ["search", "x", "--mode", "fuzzy", "--index", index_path]).exit_code == 2
    refused = runner.invoke(main, ["search", "title:x", "--mode", "semantic", "--index", index_path])
    assert refused.exit_code == 2 and "mode=semantic reads plain words" in refused.output
    assert "--mode [keyword|hybrid|semantic]" in runner.invoke(main, ["search", "--help"]).output


@pytest.mark.slow
def test_search_mode_tags_the_hits_matched_by_meaning(runner, vector_index):
    index = ["--index", str(vector_index)]
    # No study holds these words; the four breast cancer studies mean them.
    hybrid = runner.invoke(main, ["search", "mammary carcinoma", "--mode", "hybrid", *index])
    assert hybrid.exit_code == 0 and hybrid.stdout.startswith("4 studies match (hybrid, ")
    hit_lines = [line for line in hybrid.stdout.splitlines() if re.match(r"\d+\. NCT", line)]
    assert len(hit_lines) == 4 and all(line.endswith("  (meaning)") for line in hit_lines)
    words = runner.invoke(main, ["search", "mammary carcinoma", "--mode", "keyword", *index])
    assert words.stdout.startswith("0 studies match (keyword, ")
    mixed = runner.invoke(main, ["search", "cardiomyopathy", *index])  # hybrid: the default here
    assert mixed.stdout.startswith(f"{mixed.stdout.split()[0]} studies match (hybrid, ")
    # Only a study found by meaning alone is tagged: it does not hold the words.
    tags = [line.endswith("  (meaning)") for line in mixed.stdout.splitlines() if re.match(r"\d+\. NCT", line)]
    assert True in tags and False in tags
    assert "(words + meaning)" not in mixed.stdout
    as_json = json.loads(runner.invoke(main, ["search", "mammary carcinoma", "--mode", "semantic",
                                              "--json", *index]).stdout)
    assert as_json["mode"] == "semantic" and as_json["total"] == 4
    assert {hit["matched_by"] for hit in as_json["results"]} == {"meaning"}


def test_search_formats_write_every_result_in_the_download_columns(runner, sample_index):
    index_path, _ = sample_index
    found = json.loads(runner.invoke(main, ["search", "covid", "--json", "--limit", "100",
                                            "--index", index_path]).stdout)
    assert 10 < found["total"] <= 100  # every one on one page of the text output
    ids = [hit["nct_id"] for hit in found["results"]]
    as_csv = runner.invoke(main, ["search", "covid", "--format", "csv", "--index", index_path])
    assert as_csv.exit_code == 0 and as_csv.stderr == ""
    table = list(csv.DictReader(io.StringIO(as_csv.stdout_bytes.decode(), newline="")))
    assert [row["NCT Number"] for row in table] == ids
    assert list(table[0]) == [column.header for column in COLUMNS]
    assert {row["URL"] for row in table} == {""}  # no server named
    assert table[0]["ClinicalTrials.gov URL"] == f"https://clinicaltrials.gov/study/{ids[0]}"
    as_jsonl = runner.invoke(main, ["search", "covid", "--format", "jsonl", "--index", index_path,
                                    "--base-url", "https://trials.example/"])
    lines = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert [line["nct_id"] for line in lines] == ids
    assert lines[0]["url"] == f"https://trials.example/study/{ids[0]}"
    assert [(line["title"], line["status"]) for line in lines] == \
        [(hit["title"], hit["status"]) for hit in found["results"]]


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "csv", "--json"], "--json and --format csv are two outputs; give one"),
    (["--format", "jsonl", "--limit", "5"], "--format jsonl writes every result (up to 10,000); "
                                            "--limit pages the text and --json output"),
    (["--format", "csv", "--page", "1"], "--page pages"),
    (["--base-url", "https://trials.example"], "--base-url goes with --format csv or jsonl"),
    (["--format", "xml"], "'xml' is not one of 'text', 'csv', 'jsonl'"),
])
def test_search_formats_refuse_options_that_do_not_go_with_them(runner, sample_index, args, message):
    result = runner.invoke(main, ["search", "covid", *args, "--index", sample_index[0]])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""


def test_a_bad_query_writes_no_row(runner, sample_index):
    result = runner.invoke(main, ["search", '"liver', "--format", "csv", "--index", sample_index[0]])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == 'Error: unbalanced quotes: a phrase needs a closing "\n'


@pytest.mark.slow
def test_search_formats_stop_at_the_cap_and_say_so(runner, window_index):
    result = runner.invoke(main, ["search", "--format", "jsonl", "--sort", "first_posted",
                                  "--index", str(window_index)])
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == EXPORT_LIMIT
    assert result.stderr == f"Note: {WINDOW_STUDIES:,} studies match; the first 10,000 are written.\n"


def test_update_delete_and_synonyms(runner, index_path, tmp_path):
    runner.invoke(main, ["build", INVENTED_TEXT, "--index", index_path, "--quiet"])
    record = tmp_path / "new.txt"
    record.write_text(XSS_RECORD, encoding="utf-8")
    updated = runner.invoke(main, ["update", str(record), "--index", index_path, "--quiet"])
    assert updated.exit_code == 0 and "Updated 1 study in" in updated.output
    deleted = runner.invoke(main, ["delete", "NCT99999999", "--index", index_path])
    assert deleted.exit_code == 0 and "Deleted 1" in deleted.output
    listed = runner.invoke(main, ["synonyms", "--index", index_path, "--json"])
    assert listed.exit_code == 0 and "MSC" in json.loads(listed.stdout)
    assert json.loads(listed.stdout)["MSC"][0]["source"].startswith("abbreviation (mined, ")
    text = runner.invoke(main, ["synonyms", "MSC", "--index", index_path])
    assert text.exit_code == 0 and text.stdout.startswith("MSC\t")
    assert "(abbreviation (mined, " in text.stdout


# -- messages and exit codes -----------------------------------------------------------------

def test_a_missing_source_is_refused_before_any_work(runner, index_path):
    for sources in (["missing.json"], [INVENTED_TEXT, "missing.json"]):
        result = runner.invoke(main, ["build", *sources, "--index", index_path, "--quiet"])
        assert result.exit_code == 2
        assert result.output == "Error: no such file or folder: missing.json\n"
        assert not Path(index_path).exists(), "nothing was written"
    runner.invoke(main, ["build", INVENTED_TEXT, "--index", index_path, "--quiet"])
    result = runner.invoke(main, ["update", "missing.json", "--index", index_path, "--quiet"])
    assert result.exit_code == 2
    assert result.output == "Error: no such file or folder: missing.json\n"
    stats = json.loads(runner.invoke(main, ["stats", "--index", index_path, "--json"]).stdout)
    assert stats["updated_at"] is None


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"\xff\xfe\x00binary", "not UTF-8 text (byte 0xff at offset 0)"),
    (b"{not json", "line 1: malformed JSON: Expecting property name enclosed in double quotes"),
])
def test_a_lone_bad_source_says_what_is_wrong_with_it(runner, index_path, tmp_path, content,
                                                      reason):
    source = tmp_path / "x.json"
    source.write_bytes(content)
    result = runner.invoke(main, ["build", str(source), "--index", index_path, "--quiet"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: no valid study record in {source}: {source}: {reason}")
    assert result.output.endswith(f"; the index at {index_path} was not changed\n")


def test_serve_on_a_port_in_use_is_one_line_at_once(runner, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        started = time.monotonic()
        # --no-build and no index: without the port check this exits 1 ("no index"), never serves.
        result = runner.invoke(main, ["serve", "--port", str(port), "--no-build",
                                      "--index", str(tmp_path / "none")])
    assert (result.exit_code, result.output) == (2, f"Error: port {port} on 127.0.0.1 is in use\n")
    assert time.monotonic() - started < 3  # gunicorn alone would retry for 5 s


def test_delete_reports_what_it_deleted_and_what_was_not_there(runner, index_path):
    runner.invoke(main, ["build", INVENTED_TEXT, "--index", index_path, "--quiet"])
    one = runner.invoke(main, ["delete", "NCT99000001", "nct99000001", "NCT00000000", "bogus",
                               "--index", index_path])
    assert one.exit_code == 0
    assert re.fullmatch(r"Deleted 1 study from gen-\S+\.\n", one.stdout)
    assert one.stderr == ("Not deleted 2:\n  NCT00000000: not in the index\n"
                          "  bogus: not a valid NCT ID\n")
    two = runner.invoke(main, ["delete", "NCT99000002", "NCT99000003", "--index", index_path])
    assert re.fullmatch(r"Deleted 2 studies from gen-\S+\.\n", two.output)
    gone = runner.invoke(main, ["delete", "NCT99000002", "--index", index_path, "--strict"])
    assert gone.exit_code == 1 and gone.stdout.startswith("Deleted 0 studies from gen-")


def test_counts_use_the_right_number_and_a_missing_status_is_not_given(runner, index_path,
                                                                       tmp_path):
    record = tmp_path / "no-status.txt"
    record.write_text(XSS_RECORD.replace("Status: RECRUITING\n", ""), encoding="utf-8")
    built = runner.invoke(main, ["build", str(record), "--index", index_path, "--quiet"])
    assert built.stdout.startswith("Indexed 1 study in ")
    one = runner.invoke(main, ["search", "exosomes", "--index", index_path])
    assert one.output.startswith("1 study matches (")
    assert "1. NCT99999999  [status not given]  " in one.output
    assert runner.invoke(main, ["search", "aspirin", "--index", index_path]).output.startswith(
        "0 studies match (")
