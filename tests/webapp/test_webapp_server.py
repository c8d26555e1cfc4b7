"""The web app as a server runs it, through Flask's test client: settings from the
environment, a trusted proxy, a missing index, CORS, the admin endpoints, new builds served
without restart and each worker's warming.

Pages are in test_webapp_pages.py, the JSON API in test_webapp_api.py, real gunicorn and
Chromium runs in test_webapp_live.py.
"""

from __future__ import annotations

import shutil
import time

import pytest
from conftest import INVENTED_DATA
from webapp_helpers import api_search, validate

from indexer import build_index
from indexer.index.layout import write_lock
from webapp import create_app, live_index
from webapp.live_index import warm_in_background

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="module")
def app_config() -> dict:
    """The conftest `app`, with an admin token: the admin endpoints are tested here."""
    return {"ADMIN_TOKEN": ADMIN_TOKEN}


@pytest.fixture
def writable_index(corpus_dir, tmp_path):
    """An index of the test corpus that a test may rebuild."""
    path = tmp_path / "index_data"
    build_index([corpus_dir], path)
    return path


def test_page_size_limit_comes_from_the_environment(built_index, monkeypatch):
    monkeypatch.setenv("TRIALSEARCH_MAX_PER_PAGE", "5")
    client = create_app(index_path=built_index).test_client()
    assert client.get("/api/search?q=study&per_page=5").status_code == 200
    response = client.get("/api/search?q=study&per_page=6")
    assert response.status_code == 400 and "between 1 and 5" in response.get_json()["error"]


def test_index_path_comes_from_the_environment(built_index, monkeypatch):
    monkeypatch.setenv("TRIALSEARCH_INDEX", str(built_index))
    assert create_app().test_client().get("/api/health").get_json()["documents"] >= 37


def test_links_follow_a_trusted_proxy(built_index):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "trials.example.org"}
    direct = create_app(index_path=built_index).test_client()
    assert api_search(direct, q="exosomes")["results"][0]["url"].startswith("http://localhost/")
    proxied = create_app(index_path=built_index, PROXIES=1).test_client()
    hit = proxied.get("/api/search?q=exosomes", headers=headers).get_json()["results"][0]
    assert hit["url"] == f"https://trials.example.org/study/{hit['nct_id']}"


def test_missing_index_is_a_503_with_a_clear_message(tmp_path):
    client = create_app(index_path=tmp_path / "nothing").test_client()
    response = client.get("/api/search?q=x")
    assert response.status_code == 503 and "trialsearch build" in response.get_json()["error"]
    assert client.get("/").status_code == 200  # the empty page needs no index
    assert "trialsearch build" in client.get("/?q=x").get_data(as_text=True)


def test_cors_default_allows_any_origin_but_not_admin(client):
    response = client.get("/api/search?q=x", headers={"Origin": "https://hospital.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    admin = client.post("/api/admin/reindex", headers={"Origin": "https://hospital.example"})
    assert "Access-Control-Allow-Origin" not in admin.headers


def test_cors_restricted_origins(built_index):
    client = create_app(index_path=built_index, WIDGET_ORIGINS=("https://ok.example",)).test_client()
    allowed = client.get("/api/search?q=x", headers={"Origin": "https://ok.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert "Origin" in allowed.headers["Vary"]
    refused = client.get("/api/search?q=x", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    assert client.get("/api/search?q=x").status_code == 200  # same-origin and non-browser clients
    # Place suggestions are public on the same terms.
    places = client.get("/api/places?q=Bos", headers={"Origin": "https://ok.example"})
    assert places.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert client.get("/api/places?q=Bos", headers={"Origin": "https://evil.example"}).status_code == 403


# -- admin and freshness ---------------------------------------------------------------------

def test_admin_reindex_needs_the_token_and_then_rebuilds(writable_index, corpus_dir):
    app = create_app(index_path=writable_index, ADMIN_TOKEN=ADMIN_TOKEN, SOURCES=[str(corpus_dir)])
    client = app.test_client()
    before = client.get("/api/health").get_json()["generation"]
    assert client.post("/api/admin/reindex?wait=true").status_code == 401
    wrong = client.post("/api/admin/reindex?wait=true", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert client.get("/api/health").get_json()["generation"] == before
    built = client.post("/api/admin/reindex?wait=true",
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert built.status_code == 200 and built.get_json()["report"]["indexed"] >= 37
    after = client.get("/api/health").get_json()["generation"]
    assert after != before
    started = client.post("/api/admin/reindex", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert started.status_code == 202
    deadline = time.monotonic() + 60
    while client.get("/api/health").get_json()["generation"] == after:
        assert time.monotonic() < deadline, "the background rebuild never switched generations"
        time.sleep(0.1)


def test_admin_wait_is_true_or_false(client):
    response = client.post("/api/admin/reindex?wait=yes",
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 400 and response.get_json()["param"] == "wait"


def test_admin_reindex_is_409_while_another_build_runs(writable_index, corpus_dir):
    app = create_app(index_path=writable_index, ADMIN_TOKEN=ADMIN_TOKEN, SOURCES=[str(corpus_dir)])
    client = app.test_client()
    with write_lock(writable_index):
        for url in ("/api/admin/reindex", "/api/admin/reindex?wait=true"):
            response = client.post(url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert response.status_code == 409, url
            validate(response.get_json(), "Error")


def test_admin_is_off_without_a_token(built_index):
    client = create_app(index_path=built_index, ADMIN_TOKEN=None).test_client()
    response = client.post("/api/admin/reindex", headers={"Authorization": "Bearer None"})
    assert response.status_code == 403 and "TRIALSEARCH_ADMIN_TOKEN" in response.get_json()["error"]


def test_a_running_app_serves_a_new_build_without_restart(writable_index, tmp_path):
    client = create_app(index_path=writable_index).test_client()
    assert api_search(client, q="exosomes")["total"] > 0
    only_text = tmp_path / "new-corpus"
    shutil.copytree(INVENTED_DATA / "text", only_text)
    build_index([only_text], writable_index)
    health = client.get("/api/health").get_json()
    assert health["documents"] == len(list(only_text.glob("*.txt")))
    assert api_search(client, q="NCT99999999")["total"] == 0


def test_oversized_body_is_413(client):
    response = client.post("/api/admin/reindex", data=b"x" * (2 * 1024 * 1024),
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 413 and response.get_json()["error"]


def test_a_worker_warms_its_index_in_the_background(built_index):
    app = create_app(index_path=built_index)
    warm_in_background(app).join(timeout=30)
    index = app.extensions[live_index.EXTENSION]
    assert index is not None and index.snapshot().docsets._columns is not None


def test_warming_before_any_build_logs_and_leaves_opening_to_requests(tmp_path, caplog):
    app = create_app(index_path=tmp_path / "not_built")
    with caplog.at_level("INFO"):
        warm_in_background(app).join(timeout=30)
    assert "nothing to warm" in caplog.text and "Traceback" not in caplog.text
    assert app.extensions[live_index.EXTENSION] is None


def test_a_server_worker_uses_one_blas_thread():
    from threadpoolctl import threadpool_info

    from webapp.server import single_blas_thread

    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy links a BLAS"
    limiter = single_blas_thread()
    try:
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
    finally:
        limiter.restore_original_limits()
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == \
        [pool["num_threads"] for pool in blas]
