"""`fetch` and `sync` against a fake ClinicalTrials.gov API on 127.0.0.1 (real HTTP, real
sockets) that serves the real API v2 records from ../shared/data/ctgov in pages, with
injected 429s, 500s, slow answers and connections dropped mid-response."""

from __future__ import annotations

import copy
import gzip
import json
import shutil
import socket
import time
from datetime import UTC, date, datetime, timedelta

import ctgov_server
import pytest
from click.testing import CliRunner
from conftest import SEED_RECORD

from indexer import IndexLockedError, TrialsearchError, build_index, open_index
from indexer.cli import main
from indexer.index.layout import SYNC_FILE, generation_path, write_lock
from indexer.readers import read_sources
from indexer.registry.client import ApiError, OfflineError, RefusedError, RetryPolicy
from indexer.registry.fetch import STATE_FILE, fetch_studies
from indexer.registry.sync import SYNC_FOLDER, read_sync_point, sync_index

FAST = RetryPolicy(attempts=5, backoff=0.01, max_delay=0.05, timeout=0.3)
NO_LIMIT = 600_000  # requests per minute: tests need no politeness
SINCE_2020 = date(2020, 1, 1)  # 5 of the 12 shared studies were last updated since


@pytest.fixture(scope="module")
def api_studies(shared_data) -> list[dict]:
    """The real API v2 study objects, one per NCT ID as the registry holds them: the file's
    13 lines hold NCT02552212 twice, in two versions, and the later one stands."""
    with gzip.open(shared_data / "ctgov" / "api_v2_studies.jsonl.gz", "rt", encoding="utf-8") as f:
        studies = {nct_id(study): study for study in map(json.loads, f)}
    assert len(studies) == 12
    return list(studies.values())


@pytest.fixture
def api(api_studies):
    fake, server = ctgov_server.start(api_studies)
    fake.slow_seconds = FAST.timeout * 2
    yield fake
    server.shutdown()
    server.server_close()


def fetch(out, api, **options):
    options = {"page_size": 3, "rate_per_minute": NO_LIMIT, "retry": FAST, **options}
    return fetch_studies(out, api_url=api.url, **options)


def saved_lines(out) -> list[str]:
    return [line for path in sorted(out.glob("studies-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def as_lines(studies) -> list[str]:
    return [json.dumps(s, ensure_ascii=False) for s in studies]


def nct_id(study: dict) -> str:
    return study["protocolSection"]["identificationModule"]["nctId"]


def today() -> date:
    return datetime.now(UTC).date()


# --- fetch ----------------------------------------------------------------------------------

def test_fetch_survives_faults_and_saves_every_study_once(api, api_studies, tmp_path):
    api.faults = ["429", "ok", "500", "slow", "ok", "drop"]
    out = tmp_path / "out"
    report = fetch(out, api)
    assert saved_lines(out) == as_lines(api_studies)  # all 12, each once, as served
    assert [r.outcome for r in api.log] == ["429", "ok", "500", "slow", "ok", "drop", "ok", "ok"]
    assert api.served_pages() == [1, 2, 3, 4]
    assert (report.studies, report.pages, report.retries) == (12, 4, 4)
    assert report.files == [f"studies-000{n}.jsonl" for n in (1, 2, 3, 4)]
    assert report.expected == 12 and not report.resumed
    assert sorted(p.name for p in out.iterdir()) == [STATE_FILE, *report.files]
    # What fetch writes is what build and update read.
    read = list(read_sources([out]))
    assert [s.nct_id for s in read] == [nct_id(s) for s in api_studies]


def test_retry_after_is_honoured_instead_of_backoff(api, tmp_path):
    api.faults = ["429"]
    slow_backoff = RetryPolicy(attempts=3, backoff=30, timeout=5)
    started = time.monotonic()
    report = fetch(tmp_path / "out", api, retry=slow_backoff, page_size=1000)
    assert time.monotonic() - started < 5  # Retry-After: 0, not 15-30 s of backoff
    assert (report.studies, report.retries) == (12, 1)


def test_resume_after_failure_fetches_nothing_twice(api, api_studies, tmp_path):
    out = tmp_path / "out"
    api.failing_page = 3
    with pytest.raises(ApiError) as failure:
        fetch(out, api, retry=RetryPolicy(attempts=3, backoff=0.01, timeout=1))
    message = str(failure.value)
    assert "HTTP 500" in message and "gave up after 3 attempts" in message
    assert "2 pages (6 studies) are saved" in message
    assert "run the same command again to resume from page 3" in message
    assert saved_lines(out) == as_lines(api_studies[:6])

    api.failing_page = None
    first_run = len(api.log)
    report = fetch(out, api)
    assert "pageToken" in api.log[first_run].params  # went straight to page 3
    assert api.served_pages() == [1, 2, 3, 4]
    assert (report.studies, report.pages, report.total_studies) == (6, 2, 12)
    assert report.resumed
    assert saved_lines(out) == as_lines(api_studies)

    again = fetch(out, api)  # complete: nothing left to ask for
    assert len(api.log) == first_run + 2
    assert (again.studies, again.pages, again.total_studies) == (0, 0, 12)


def test_crash_between_page_and_state_refetches_only_that_page(api, api_studies, tmp_path):
    out = tmp_path / "out"
    states = []
    api.failing_page = 3
    with pytest.raises(ApiError):
        fetch(out, api, retry=RetryPolicy(attempts=1), progress=lambda n, total: states.append(
            (out / STATE_FILE).read_text(encoding="utf-8")))
    # As if the process died after page 2's file was renamed into place but before its state
    # was saved, and halfway through writing page 3's temp file.
    (out / STATE_FILE).write_text(states[0], encoding="utf-8")
    (out / ".studies-0003.jsonl.tmp").write_text('{"protocolSection": {"identif', "utf-8")
    assert [s.nct_id for s in read_sources([out])] == [nct_id(s) for s in api_studies[:6]]

    api.failing_page = None
    report = fetch(out, api)
    assert api.served_pages() == [1, 2, 2, 3, 4]
    assert report.total_studies == 12
    assert saved_lines(out) == as_lines(api_studies)


def test_a_page_token_the_api_no_longer_accepts(api, tmp_path):
    out = tmp_path / "out"
    api.failing_page = 2
    with pytest.raises(ApiError):
        fetch(out, api, retry=RetryPolicy(attempts=1))
    api.failing_page = None
    api.tokens.clear()  # the server forgot its cursors
    with pytest.raises(RefusedError, match=r"HTTP 400 Bad Request: .*invalid pageToken .*"
                                           r"may have expired; delete .* to start afresh$"):
        fetch(out, api)


def test_filters_become_query_parameters(api, api_studies, tmp_path):
    report = fetch(tmp_path / "out", api, query="insulin", condition="diabetes",
                   statuses=["completed", "WITHDRAWN"], since=date(2015, 1, 1), page_size=1)
    first, *rest = [r.params for r in api.log]
    assert first == {
        "format": "json", "pageSize": "1", "countTotal": "true", "query.term": "insulin",
        "query.cond": "diabetes", "filter.overallStatus": "COMPLETED,WITHDRAWN",
        "filter.advanced": "AREA[LastUpdatePostDate]RANGE[2015-01-01,MAX]",
    }
    for params in rest:
        assert params.pop("pageToken")
        assert params == {k: v for k, v in first.items() if k != "countTotal"}
    expected = api.select(first)
    assert expected and report.studies == len(expected) == report.expected
    assert saved_lines(tmp_path / "out") == as_lines(expected)


def test_rate_limit_spaces_requests(api, tmp_path):
    started = time.monotonic()
    fetch(tmp_path / "out", api, rate_per_minute=600)  # 4 pages, 0.1 s apart
    assert time.monotonic() - started >= 0.3


def test_persistent_failure_on_the_first_page_says_so(api, tmp_path):
    api.failing_page = 1
    with pytest.raises(ApiError, match=r"kept failing \(HTTP 500 Internal Server Error\); "
                                       r"gave up after 5 attempts$"):
        fetch(tmp_path / "out", api)


def test_refuses_a_folder_holding_another_fetch(api, tmp_path):
    out = tmp_path / "out"
    fetch(out, api, condition="diabetes")
    with pytest.raises(TrialsearchError, match="holds a different fetch"):
        fetch(out, api, condition="asthma")
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "studies-0001.jsonl").write_text("{}\n")
    with pytest.raises(TrialsearchError, match="already holds studies"):
        fetch(stray, api)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2"


def test_offline_is_one_clear_error_at_once(api, tmp_path):
    started = time.monotonic()
    with pytest.raises(OfflineError, match=r"cannot reach http://127\.0\.0\.1:\d+/api/v2 "
                                           r"\(Connection refused\); check the network"):
        fetch_studies(tmp_path / "out", api_url=closed_port_url())
    assert time.monotonic() - started < 2  # no backoff: retrying cannot reach a dead host
    # Nothing was saved, so the folder is free for another fetch (the right URL, say).
    assert fetch(tmp_path / "out", api).studies == 12


# --- sync -----------------------------------------------------------------------------------

@pytest.fixture
def index(tmp_path, shared_data):
    """A real index of the seed record (from ../shared/data), in a folder of its own."""
    records = tmp_path / "records"
    records.mkdir()
    shutil.copy(SEED_RECORD, records)
    path = tmp_path / "index_data"
    build_index([records], path)
    return path


def sync(index, api, **options):
    options = {"page_size": 2, "rate_per_minute": NO_LIMIT, "retry": FAST, **options}
    return sync_index(index, api_url=api.url, **options)


def since_param(request) -> str:
    return request.params["filter.advanced"]


def test_sync_upserts_updated_studies_and_records_the_sync_point(api, api_studies, index):
    api.faults = ["500", "drop", "ok", "429"]
    report = sync(index, api, since=SINCE_2020)
    updated = api.select({"filter.advanced": "AREA[LastUpdatePostDate]RANGE[2020-01-01,MAX]"})
    assert len(updated) == 5
    assert {since_param(r) for r in api.log} == {"AREA[LastUpdatePostDate]RANGE[2020-01-01,MAX]"}
    assert api.served_pages() == [1, 2, 3]
    assert (report.fetch.total_studies, report.index.indexed) == (5, 5)
    assert (report.since, report.since_from, report.next_since) == (
        SINCE_2020, "--since", today() - timedelta(days=1))

    searcher = open_index(index)
    dysphagia = searcher.search("dysphagia")
    assert [hit.nct_id for hit in dysphagia.hits] == ["NCT05594173"]
    for study in updated:
        assert searcher.get(nct_id(study)).brief_title == \
            study["protocolSection"]["identificationModule"]["briefTitle"]
    assert searcher.get("NCT05871463") is not None  # the built record is still there
    assert searcher.get("NCT00973089") is None  # last updated in 2015: not asked for

    point = read_sync_point(index)
    assert point["next_since"] == (today() - timedelta(days=1)).isoformat()
    assert point["generation"] == generation_path(index).name
    assert point["studies"] == 5
    assert not any((index / SYNC_FOLDER).glob("since-*"))  # the download is in the index now

    # The registry changes; the next sync asks only from the recorded point onwards.
    changed = copy.deepcopy(next(s for s in api_studies if nct_id(s) == "NCT00973089"))
    module = changed["protocolSection"]
    module["identificationModule"]["briefTitle"] = "Fluoride varnish zebrafish revision"
    module["statusModule"]["lastUpdatePostDateStruct"]["date"] = today().isoformat()
    api.studies.append(changed)
    before = len(api.log)
    again = sync(index, api)
    assert [since_param(r) for r in api.log[before:]] == [
        f"AREA[LastUpdatePostDate]RANGE[{point['next_since']},MAX]"]
    assert (again.since_from, again.fetch.total_studies, again.index.indexed) == (
        "last sync", 1, 1)
    assert [h.nct_id for h in open_index(index).search("zebrafish").hits] == ["NCT00973089"]


def test_first_sync_starts_the_day_before_the_build(api, index):
    built = datetime.fromisoformat(
        json.loads((generation_path(index) / "meta.json").read_text())["built_at"]).date()
    report = sync(index, api)
    assert report.since_from == "index build"
    assert [since_param(r) for r in api.log] == [
        f"AREA[LastUpdatePostDate]RANGE[{built - timedelta(days=1)},MAX]"]
    assert report.fetch.total_studies == 0 and report.index is None  # the records are older
    assert read_sync_point(index)["next_since"] == (today() - timedelta(days=1)).isoformat()


def test_rebuild_makes_sync_start_from_the_new_build(api, index, tmp_path):
    sync(index, api, since=SINCE_2020)
    build_index([SEED_RECORD], index)  # a different generation: the old point does not apply
    api.log.clear()
    assert sync(index, api).since_from == "index build"


def test_interrupted_sync_keeps_the_old_point_and_resumes(api, index):
    api.failing_page = 2
    with pytest.raises(ApiError, match="run the same command again to resume from page 2"):
        sync(index, api, since=SINCE_2020, retry=RetryPolicy(attempts=2, backoff=0.01))
    assert not (index / SYNC_FILE).exists()

    api.failing_page = None
    # A build is running: the update cannot happen yet.
    with write_lock(index), pytest.raises(IndexLockedError):
        sync(index, api, since=SINCE_2020)
    assert not (index / SYNC_FILE).exists()
    assert api.served_pages() == [1, 2, 3]

    report = sync(index, api, since=SINCE_2020)
    assert api.served_pages() == [1, 2, 3]  # the finished download was not repeated
    assert report.index.indexed == 5
    assert read_sync_point(index)["studies"] == 5


def test_sync_without_an_index(api, tmp_path):
    with pytest.raises(TrialsearchError, match="no index at"):
        sync(tmp_path / "nothing", api)


# --- command line ---------------------------------------------------------------------------

def invoke(*args, **env):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_cli_fetch_and_rerun(api, api_studies, tmp_path):
    out = tmp_path / "out"
    result = invoke("fetch", "--out", out, "--page-size", 5, "--rate", NO_LIMIT,
                    "--status", "completed", "--status", "Withdrawn",
                    TRIALSEARCH_API_URL=api.url)
    assert result.exit_code == 0, result.output
    completed = api.select({"filter.overallStatus": "COMPLETED,WITHDRAWN"})
    assert api.log[0].params["filter.overallStatus"] == "COMPLETED,WITHDRAWN"
    assert result.output.startswith(f"Fetched {len(completed)} studies in 2 pages into {out} (")
    assert result.output.endswith(" s, 0 retries).\n")
    assert saved_lines(out) == as_lines(completed)

    rerun = invoke("fetch", "--out", out, "--page-size", 5, "--rate", NO_LIMIT, "--json",
                   "--status", "COMPLETED", "--status", "WITHDRAWN", "--api-url", api.url)
    assert rerun.exit_code == 0, rerun.output
    summary = json.loads(rerun.output)
    assert (summary["studies"], summary["total_studies"], summary["resumed"]) == (
        0, len(completed), True)


def test_cli_errors_are_one_line_and_exit_2(api, tmp_path):
    offline = invoke("fetch", "--out", tmp_path / "a", "--api-url", closed_port_url())
    assert offline.exit_code == 2
    assert offline.output.startswith("Error: cannot reach http://127.0.0.1:")
    assert offline.output.count("\n") == 1 and "Traceback" not in offline.output

    wrong_url = invoke("fetch", "--out", tmp_path / "b", "--api-url", api.url + "/v9")
    assert wrong_url.exit_code == 2
    assert "Error: the API refused the request: HTTP 404 Not Found" in wrong_url.output

    bad_status = invoke("fetch", "--out", tmp_path / "c", "--status", "recruitin")
    assert bad_status.exit_code == 2 and "Invalid value for '--status'" in bad_status.output

    no_index = invoke("sync", "--index", tmp_path / "none", "--api-url", api.url)
    assert no_index.exit_code == 2
    assert no_index.output.startswith("Error: no index at")


def test_cli_sync(api, index):
    args = ["sync", "--index", index, "--api-url", api.url, "--rate", NO_LIMIT]
    result = invoke(*args, "--since", "2020-01-01")
    assert result.exit_code == 0, result.output
    next_since = today() - timedelta(days=1)
    lines = result.output.splitlines()
    assert lines[0].startswith("Fetched 5 studies updated since 2020-01-01 (--since) in ")
    assert lines[1].startswith("Updated 5 studies in ")
    assert lines[2] == f"Next sync asks for studies updated since {next_since}."

    again = invoke(*args, "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert (report["since"], report["since_from"], report["index"]) == (
        next_since.isoformat(), "last sync", None)
