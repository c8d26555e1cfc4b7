"""A search's results to keep (indexer.search.export): every study once, in the search's order,
read page by page; the rows' columns; CSV and JSON Lines that read back to the same values, and
a CSV that `trialsearch build` reads back as the same studies."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from conftest import WINDOW_STUDIES, studies_in

from indexer import open_index, update_index
from indexer.catalog.registry import CTGOV_STUDY_URL
from indexer.errors import QueryError
from indexer.search import MAX_RESULT_WINDOW, SearchRequest
from indexer.search.export import (
    CHUNK_CHARS,
    COLUMNS,
    EXPORT_LIMIT,
    PAGE_SIZE,
    csv_cell,
    csv_text,
    jsonl_text,
    matching_studies,
    rows,
)


def paged_ids(index, request: SearchRequest, per_page: int = 10) -> list[str]:
    """Every NCT ID `request` finds, read as a person pages through it (10 a page)."""
    ids, page = [], 1
    while True:
        hits = index.search(request.replace(page=page, per_page=per_page)).hits
        ids += [hit.nct_id for hit in hits]
        if len(hits) < per_page:
            return ids
        page += 1


@pytest.mark.parametrize("request_", [
    SearchRequest(), SearchRequest(sort="first_posted"), SearchRequest(sort="last_update"),
    SearchRequest(q="covid"), SearchRequest(q="cancer OR tumor", sort="first_posted"),
    SearchRequest(filters={"status": ["recruiting", "completed"], "phase": ["2"]}),
], ids=["all", "first_posted", "last_update", "covid", "or", "filters"])
def test_every_study_once_in_the_search_order(sample_data_index, request_):
    index = open_index(sample_data_index)
    result, studies = matching_studies(index, request_)
    ids = [study.nct_id for study in studies]
    assert ids == paged_ids(index, request_)
    assert len(ids) == len(set(ids)) == result.total > 0
    if request_ in (SearchRequest(), SearchRequest(sort="first_posted")):
        assert result.total > 3 * PAGE_SIZE  # read in several pages


def test_a_limit_keeps_the_first_studies(sample_data_index):
    index = open_index(sample_data_index)
    request = SearchRequest(sort="first_posted")
    result, studies = matching_studies(index, request, limit=7)
    assert [study.nct_id for study in studies] == paged_ids(index, request)[:7]
    assert result.total > 7
    for limit in (0, EXPORT_LIMIT + 1):
        with pytest.raises(ValueError):
            matching_studies(index, request, limit=limit)


def test_a_bad_request_raises_before_anything_is_read(sample_data_index):
    with pytest.raises(QueryError) as caught:
        matching_studies(open_index(sample_data_index), SearchRequest(q='"liver'))
    assert caught.value.param == "q"


@pytest.mark.slow
def test_at_most_the_result_window_in_the_search_order(window_index):
    index = open_index(window_index)
    result, studies = matching_studies(index, SearchRequest(sort="first_posted"))
    ids = [study.nct_id for study in studies]
    assert result.total == WINDOW_STUDIES > EXPORT_LIMIT == MAX_RESULT_WINDOW
    # Newest first: study n was first posted n days after the first one.
    assert ids == [f"NCT{90_000_000 + n:08d}" for n in range(WINDOW_STUDIES - 1, -1, -1)][:EXPORT_LIMIT]


def add_newest_study(path, folder) -> None:
    """Update the index at `path` with a study first posted after every other: each study
    moves down a place, so a page read after it begins with the last study of the one before."""
    (folder / "new.txt").write_text(
        "Viewing Study NCT98000001\n\nStudy NCT ID: NCT98000001\nFirst Post: 2099-01-01\n\n"
        "Brief Title: Newest study\n", encoding="utf-8")
    assert update_index([folder / "new.txt"], path).indexed == 1


@pytest.mark.slow
def test_an_update_between_pages_writes_no_study_twice(sample_data_index, tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(sample_data_index, path)
    index = open_index(path)
    before = paged_ids(index, SearchRequest(sort="first_posted"))
    _, studies = matching_studies(index, SearchRequest(sort="first_posted"))
    read = [next(studies).nct_id for _ in range(2 * PAGE_SIZE)]  # two pages
    add_newest_study(path, tmp_path)
    assert paged_ids(index, SearchRequest(sort="first_posted"))[0] == "NCT98000001"
    read += [study.nct_id for study in studies]
    assert read == before  # each once, none lost, the new one on the page already read


@pytest.mark.slow
def test_a_shifted_result_stops_at_the_window(window_index, tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(window_index, path)
    index = open_index(path)
    _, studies = matching_studies(index, SearchRequest(sort="first_posted"))
    read = [next(studies).nct_id for _ in range(2 * PAGE_SIZE)]
    add_newest_study(path, tmp_path)
    read += [study.nct_id for study in studies]  # no page past the window is asked for
    assert len(read) == len(set(read)) == EXPORT_LIMIT - 1  # one came twice, written once


def test_rows_hold_the_columns_a_person_needs(built_index):
    index = open_index(built_index)
    _, studies = matching_studies(index, SearchRequest(q="nct:NCT99000019"))
    [row] = rows(studies, lambda nct_id: f"https://trials.example/study/{nct_id}")
    assert list(row) == [column.key for column in COLUMNS]
    assert row == {
        "nct_id": "NCT99000019",
        "title": "Trastuzumab Deruxtecan Before Surgery in HER2-Low Early Breast Cancer",
        "status": "RECRUITING", "phases": ["PHASE2"],
        "conditions": ["Breast Cancer", "HER2-low Breast Neoplasms"],
        "interventions": ["Drug: Trastuzumab deruxtecan 5.4 mg/kg",
                          "Drug: Doxorubicin, cyclophosphamide and paclitaxel"],
        "sponsor": "Aurora Oncology Group", "minimum_age": "18 Years", "maximum_age": "",
        "sex": "FEMALE", "countries": ["Canada", "Germany"],
        "first_posted": "2024-02-26", "last_update_posted": "2025-01-27",
        "start_date": "2024-04-01", "completion_date": "2028-12-01",
        "url": "https://trials.example/study/NCT99000019",
        "ctgov_url": "https://clinicaltrials.gov/study/NCT99000019",
    }
    _, studies = matching_studies(index, SearchRequest(q="nct:NCT99000019"))
    assert next(rows(studies))["url"] is None  # no server to link to


def test_csv_cells_join_values_and_disarm_formulas():
    assert csv_cell(["Asthma", "COPD"]) == "Asthma|COPD"
    assert csv_cell([]) == csv_cell(None) == csv_cell("") == ""
    for formula in ("=HYPERLINK(\"http://evil\")", "+1", "-2+3", "@SUM(A1)", "\tx"):
        assert csv_cell(formula) == "'" + formula
    assert csv_cell(["=1+1", "x"]) == "'=1+1|x"
    assert csv_cell("Study of 5-FU") == "Study of 5-FU"


def test_csv_and_jsonl_read_back_to_the_rows(sample_data_index):
    _, studies = matching_studies(open_index(sample_data_index), SearchRequest())
    records = list(rows(studies, lambda nct_id: f"http://x.example/study/{nct_id}"))
    chunks = list(csv_text(records))
    assert len(chunks) > 1 and all(len(chunk) < 2 * CHUNK_CHARS for chunk in chunks)
    table = list(csv.reader(io.StringIO("".join(chunks), newline="")))
    assert table[0] == [column.header for column in COLUMNS]
    assert table[1:] == [[csv_cell(record[column.key]) for column in COLUMNS] for record in records]
    lines = "".join(jsonl_text(records)).splitlines()
    assert [json.loads(line) for line in lines] == records
    assert table[1][-1] == CTGOV_STUDY_URL.format(records[0]["nct_id"])


def test_empty_results_are_a_header_or_nothing(built_index):
    _, studies = matching_studies(open_index(built_index), SearchRequest(q="zzzzqqqq"))
    records = list(rows(studies))
    assert records == []
    assert "".join(csv_text(records)) == ",".join(column.header for column in COLUMNS) + "\r\n"
    assert list(jsonl_text(records)) == []


def test_trialsearch_build_reads_a_csv_download_back(sample_data_index, tmp_path):
    index = open_index(sample_data_index)
    _, studies = matching_studies(index, SearchRequest())
    written = list(studies)
    download = tmp_path / "download.csv"
    download.write_text("".join(csv_text(rows(written))), encoding="utf-8")
    read = studies_in(download)
    assert list(read) == [study.nct_id for study in written]
    fields = ("title", "status", "phases", "conditions", "interventions", "sponsor", "sex",
              "first_posted", "last_update_posted", "start_date", "completion_date")
    for study in written:
        assert {name: getattr(read[study.nct_id], name) for name in fields} == \
            {name: getattr(study, name) for name in fields}, study.nct_id
