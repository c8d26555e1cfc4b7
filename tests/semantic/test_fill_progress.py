"""While study vectors are being computed beside a server, the server says so with progress
(/api/health, `trialsearch stats`, the search page's note that it matched by words only), and
stops saying so when the filler stops, even if it was killed without a word."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from indexer.semantic import missing_packages
from indexer.semantic.store import VectorStore
from webapp import create_app

pytestmark = pytest.mark.skipif(bool(missing_packages()), reason="meaning search needs the 'semantic' extra")


@pytest.fixture
def index_path(built_index, tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(built_index, path)
    return path


def health(client) -> dict:
    return client.get("/api/health").get_json()["vectors"]


def test_health_and_the_page_say_vectors_are_being_computed(index_path):
    client = create_app(index_path=index_path).test_client()
    assert health(client)["filling"] is None
    assert "run trialsearch vectors" in health(client)["meaning_unavailable"]
    store = VectorStore(index_path)
    store.set_filling(64, 304)  # as a filler in this (live) process says after a batch
    vectors = health(client)
    assert vectors["filling"] == {"done": 64, "total": 304}
    assert "being computed (64 of 304 studies so far)" in vectors["meaning_unavailable"]
    page = client.get("/?q=cirrhosis").get_data(as_text=True)
    assert "Matched by words only: study vectors are being computed (64 of 304 studies so far)." in page
    api = client.get("/api/search?q=cirrhosis").get_json()
    assert api["mode"] == "keyword" and "being computed" in api["mode_note"]
    store.clear_filling()
    assert health(client)["filling"] is None
    assert client.get("/api/search?q=cirrhosis").get_json()["mode_note"] == ""


def test_a_filler_that_died_without_a_word_is_not_at_work(index_path):
    # A process that is gone left its progress behind (SIGKILL): readers see no filler.
    code = ("import sys; from indexer.semantic.store import VectorStore; "
            "VectorStore(sys.argv[1]).set_filling(5, 40)")
    subprocess.run([sys.executable, "-c", code, str(index_path)], check=True, timeout=60)
    store = VectorStore(index_path)
    row = store._db.execute("SELECT value FROM meta WHERE key = 'filling'").fetchone()
    assert json.loads(row[0])["done"] == 5  # it was written...
    assert store.filling() is None  # ...by a process no longer there


@pytest.mark.slow
def test_the_filler_says_how_far_it_has_got_and_then_that_it_is_done(index_path):
    from indexer.semantic.encoder import SentenceEncoder
    from indexer.semantic.fill import fill_vectors

    reader = VectorStore(index_path, readonly=False)
    seen = []
    report = fill_vectors(index_path, SentenceEncoder(), batch=8,
                          progress=lambda _: seen.append(reader.filling()))
    totals = {entry["total"] for entry in seen if entry}
    assert totals == {report.studies}
    done = [entry["done"] for entry in seen if entry]
    assert done == sorted(done) and 0 < done[0] < report.studies
    assert reader.filling() is None  # cleared when the fill ends
