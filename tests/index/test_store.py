"""Building, switching, updating and deleting on real indexes in temp dirs."""

import json
import os

import pytest
from conftest import INVENTED_DATA, XSS_RECORD

from indexer import (
    SAMPLE_DATA,
    IndexLockedError,
    IndexNotFoundError,
    IndexWriteError,
    NoRecordsError,
    build_index,
    delete_studies,
    open_index,
    update_index,
)
from indexer.index.layout import CURRENT_FILE, TEMP_PREFIX, generation_path, read_meta, write_lock


def record(nct_id, title, summary="A study.", status="RECRUITING"):
    return XSS_RECORD.replace("NCT99999999", nct_id).replace(
        XSS_RECORD.split("Brief Title: ")[1].split("\n")[0], title).replace(
        "Status: RECRUITING", f"Status: {status}").replace(
        XSS_RECORD.split("Brief Summary: ")[1].split("\n")[0], summary)


@pytest.fixture
def records(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.txt").write_text(record("NCT10000001", "Aspirin in stroke"), encoding="utf-8")
    (folder / "b.txt").write_text(record("NCT10000002", "Exosomes in cirrhosis"), encoding="utf-8")
    return folder


def test_build_switches_generations_and_keeps_only_the_previous(records, tmp_path):
    root = tmp_path / "index"
    first = build_index([records], root)
    assert first.indexed == 2 and not first.skipped
    second = build_index([records], root)
    third = build_index([records], root)
    generations = sorted(p.name for p in root.iterdir() if p.name.startswith("gen-"))
    assert generations == sorted([second.generation, third.generation])
    assert generation_path(root).name == third.generation
    assert open_index(root).stats()["documents"] == 2


def test_a_build_with_no_valid_record_leaves_the_live_index(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    live = (root / CURRENT_FILE).read_text()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoRecordsError, match="was not changed"):
        build_index([empty], root)
    assert (root / CURRENT_FILE).read_text() == live
    assert open_index(root).search("aspirin").total == 1


def test_leftovers_of_a_killed_build_are_removed_by_the_next(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    leftover = root / f"{TEMP_PREFIX}gen-killed"
    leftover.mkdir()
    (leftover / "junk").write_text("x")
    build_index([records], root)
    assert not leftover.exists()


def test_update_upserts_by_nct_id_and_a_running_searcher_sees_it(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    index = open_index(root)
    assert index.search("aspirin").total == 1
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "a.txt").write_text(record("NCT10000001", "Clopidogrel in stroke"), encoding="utf-8")
    (changed / "c.txt").write_text(record("NCT10000003", "Metformin in diabetes"), encoding="utf-8")
    report = update_index([changed], root)
    assert report.indexed == 2
    assert index.search("aspirin").total == 0
    assert index.search("clopidogrel").total == 1
    assert index.stats()["documents"] == 3
    assert index.stats()["updated_at"]


def test_delete_removes_and_reports_unknown_ids(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    report = delete_studies(["nct10000001", "NCT19999999", "bogus"], root)
    assert report.deleted == 1
    assert [p.reason for p in report.problems] == ["not in the index", "not a valid NCT ID"]
    assert open_index(root).get("NCT10000001") is None


def test_delete_counts_a_repeated_id_once_and_a_vain_delete_changes_nothing(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    report = delete_studies(["NCT10000001", "nct10000001 "], root)
    assert report.deleted == 1 and report.problems == []
    meta = read_meta(generation_path(root))
    again = delete_studies(["NCT10000001"], root)
    assert again.deleted == 0 and [p.reason for p in again.problems] == ["not in the index"]
    assert read_meta(generation_path(root)) == meta  # not even its update time
    assert open_index(root).stats()["documents"] == 1


def test_a_build_with_no_valid_record_says_what_was_wrong_with_each_file(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.json").write_text("{not json", encoding="utf-8")
    (folder / "b.txt").write_text("", encoding="utf-8")
    with pytest.raises(NoRecordsError) as caught:
        build_index([folder], tmp_path / "index")
    assert str(caught.value) == (
        f"no valid study record in {folder}: {folder / 'a.json'}: line 1: malformed JSON: "
        "Expecting property name enclosed in double quotes (column 2); "
        f"{folder / 'b.txt'}: empty file; the index at {tmp_path / 'index'} was not changed")
    for n in range(5):
        (folder / f"c{n}.txt").write_text("", encoding="utf-8")
    with pytest.raises(NoRecordsError, match=r"c2\.txt: empty file; and 2 more; the index at"):
        build_index([folder], tmp_path / "index")


def test_update_without_an_index_says_to_build_first(records, tmp_path):
    with pytest.raises(IndexNotFoundError, match="trialsearch build"):
        update_index([records], tmp_path / "nothing")
    with pytest.raises(IndexNotFoundError):
        open_index(tmp_path / "nothing")


def test_a_second_writer_gets_a_clear_lock_message(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    with write_lock(root):
        with pytest.raises(IndexLockedError, match=r"locked by a running build or update \(pid"):
            update_index([records], root)
        with pytest.raises(IndexLockedError):
            build_index([records], root, wait=0.2)
    assert update_index([records], root).indexed == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_index_directory_is_a_clear_error_and_the_old_index_serves(records, tmp_path):
    root = tmp_path / "index"
    build_index([records], root)
    root.chmod(0o555)
    try:
        with pytest.raises((IndexWriteError, IndexLockedError)):
            build_index([records], root)
    finally:
        root.chmod(0o755)
    assert open_index(root).search("aspirin").total == 1


def test_synonym_file_adds_and_vetoes_pairs(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.txt").write_text(record(
        "NCT10000001", "Cells", summary="patients with liver cirrhosis LC got mesenchymal stem cells MSC"),
        encoding="utf-8")
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("# ours\nCOPD = chronic obstructive pulmonary disease\n!LC\n", encoding="utf-8")
    root = tmp_path / "index"
    build_index([folder], root, synonyms=synonyms)
    pairs = open_index(root).abbreviations
    assert pairs["COPD"] == ["chronic obstructive pulmonary disease"]
    assert "LC" not in pairs and pairs["MSC"] == ["mesenchymal stem cells"]
    stored = json.loads((generation_path(root) / "abbreviations.json").read_text())
    assert ["LC", None] in stored["vetoed"]


def test_bad_synonym_file_names_the_line(records, tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("MSC = stem cells\nthis is not a pair\n", encoding="utf-8")
    with pytest.raises(Exception, match="synonyms.txt: line 2"):
        build_index([records], tmp_path / "index", synonyms=synonyms)


def test_an_update_shared_out_to_two_processes_writes_what_one_process_writes(tmp_path):
    # The bundled sample's 304 studies make two batches for two analysis processes.
    roots = {procs: tmp_path / f"procs-{procs}" for procs in (1, 2)}
    for procs, root in roots.items():
        build_index([INVENTED_DATA], root)
        assert update_index([SAMPLE_DATA], root, procs=procs).indexed == 304
    one, two = (open_index(root) for root in roots.values())
    assert one.stats()["documents"] == two.stats()["documents"] == 36 + 304
    assert one.synonyms() == two.synonyms()
    for query in ("covid", "title:vaccine", "breast cancer status:recruiting", "NCT99000013"):
        ranked = [[(hit.nct_id, round(hit.score, 6)) for hit in index.search(query).hits]
                  for index in (one, two)]
        assert ranked[0] == ranked[1] and ranked[0], query
