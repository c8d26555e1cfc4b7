"""The shared matrix (indexer/semantic/matrix.py, mirror.py) and nearest rows through its
inverted-file index (nearest.py), read as searches read them (`VectorCache`, `DenseView`):
against the exact float32 scan under filters, with rows replaced, deleted and appended since
the index was written, a writer stopped between its two writes, and a compacted set.

Synthetic vectors (clustered like the benchmark's: a few hundred centres, noise), no encoder.
"""

from __future__ import annotations

import numpy as np
import pytest

from indexer.search.dense import DenseView, VectorCache
from indexer.semantic import nearest
from indexer.semantic.contract import text_hash
from indexer.semantic.deps import SemanticUnavailable
from indexer.semantic.matrix import IDS_FILE, META_FILE, ROWS_FILE, current_set, nct_id_of
from indexer.semantic.mirror import Mirror
from indexer.semantic.store import VectorStore

pytestmark = pytest.mark.slow  # each fills 20,000 rows (seconds)

DIMS = 32
STUDIES = 20_000  # above nearest.MIN_ROWS: the index is built (and trained again)


def clustered(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((300, DIMS)).astype(np.float32)
    vectors = centres[rng.integers(0, 300, count)] + 0.3 * rng.standard_normal((count, DIMS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(root, vectors: np.ndarray, ids: list[str], model: str = "m 1 fp32") -> Mirror:
    store = VectorStore(root)
    store.use_model(model, DIMS)
    mirror = Mirror(root, store)
    mirror.open()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        seqs = store.put(zip(chunk, [text_hash(n) for n in chunk], vectors[start:start + 500]))
        mirror.append(chunk, seqs, vectors[start:start + 500])
        mirror.index()
    mirror.index(final=True)
    return mirror


@pytest.fixture
def filled(tmp_path):
    ids = [nct_id_of(10_000_000 + i) for i in range(STUDIES)]
    vectors = clustered(STUDIES, 1)
    mirror = fill(tmp_path, vectors, ids)
    yield tmp_path, ids, vectors, mirror
    mirror.close()
    mirror.store.close()


def view_of(root, ids: list[str | None]) -> tuple[VectorCache, DenseView]:
    cache = VectorCache(root)
    cache.refresh()
    view = DenseView(cache, ids, np.ones(len(ids), bool))
    view.sync()
    return cache, view


def exact(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, depth: int) -> set[int]:
    scores = vectors @ query
    scores[~allowed] = -np.inf
    return set(np.argsort(-scores, kind="stable")[:depth].tolist()) & set(np.flatnonzero(allowed).tolist())


def test_the_index_finds_the_exact_scans_nearest_under_filters(filled, monkeypatch):
    root, ids, vectors, _ = filled
    monkeypatch.setattr("indexer.search.dense.EXACT_BELOW", 150)  # every filter through the index
    cache, view = view_of(root, ids)
    assert cache.nearest is not None and cache.nearest.rows == STUDIES  # the index was built
    assert view.covered == STUDIES
    rng = np.random.default_rng(2)
    queries = clustered(10, 3)
    for share in (1.0, 0.3, 0.05, 0.01):
        allowed = rng.random(STUDIES) < share
        recalls = []
        for query in queries:
            found, similarity = view.nearest(query, None if share == 1 else allowed, 100, None)
            assert list(similarity) == sorted(similarity, reverse=True)
            assert allowed[found].all() or share == 1
            truth = exact(vectors, query, np.ones(STUDIES, bool) if share == 1 else allowed, 100)
            recalls.append(len(truth & set(found.tolist())) / len(truth))
            np.testing.assert_allclose(similarity, vectors[found] @ query, atol=2e-3)  # float16
        assert np.mean(recalls) >= 0.98, (share, recalls)


def test_every_match_above_the_floor_is_found(filled):
    root, ids, vectors, _ = filled
    _, view = view_of(root, ids)
    query = clustered(1, 4)[0]
    found, similarity = view.nearest(query, None, None, 0.5)
    truth = np.flatnonzero(vectors @ query >= 0.5)
    # Within float16's error of the floor either way; every clear match found.
    clear = set(np.flatnonzero(vectors @ query >= 0.502).tolist())
    assert clear <= set(found.tolist()) <= set(np.flatnonzero(vectors @ query >= 0.498).tolist())
    assert len(found) >= len(truth) * 0.99 and (similarity >= 0.5).all()


def test_replaced_deleted_and_new_rows_are_seen_search_by_search(filled):
    root, ids, vectors, mirror = filled
    cache, view = view_of(root, ids + [nct_id_of(20_000_000)])
    query = vectors[7]
    assert view.nearest(query, None, 1, None)[0].tolist() == [7]
    # Another "process" appends: study 7 replaced by a far vector, study 8 deleted, a new one.
    far = -query
    seqs = mirror.store.put([(ids[7], text_hash("new"), far), (nct_id_of(20_000_000), text_hash("n"), query)])
    mirror.append([ids[7], nct_id_of(20_000_000)], seqs, np.stack([far, query]))
    mirror.store.delete([ids[8]])
    mirror.delete([ids[8]])
    assert cache.refresh()  # the rows appended since, not yet in the index: scanned exactly
    view.sync()
    found, similarity = view.nearest(query, None, 5, None)
    assert found[0] == STUDIES and 7 not in found.tolist() and 8 not in found.tolist()
    assert view.vector_of(8) is None and np.allclose(view.vector_of(7), far, atol=1e-3)
    assert np.isnan(view.similarity(query, np.array([8]))[0])


def test_a_writer_stopped_between_its_two_writes_leaves_nothing_half_read(filled):
    root, ids, vectors, mirror = filled
    folder = current_set(root)
    with open(folder / ROWS_FILE, "ab") as rows:  # the codes of a row whose id never came
        rows.write(np.ones(DIMS, "<f2").tobytes())
    with open(folder / IDS_FILE, "ab") as half:
        half.write(b"\x01\x02\x03")  # and half an id
    cache, view = view_of(root, ids)
    assert cache.size == STUDIES
    mirror.close()
    again = Mirror(root, mirror.store)
    assert again.open() == 0  # cut back to the rows that count; nothing to add
    seqs = mirror.store.put([(ids[0], text_hash("x"), vectors[1])])
    again.append([ids[0]], seqs, vectors[1:2])
    cache.refresh()
    view.sync()
    assert cache.size == STUDIES + 1 and np.allclose(view.vector_of(0), vectors[1], atol=1e-3)
    again.close()


def test_a_set_with_many_replaced_rows_is_written_again_and_readers_switch(filled):
    root, ids, vectors, mirror = filled
    cache, view = view_of(root, ids)
    old = current_set(root)
    moved = clustered(STUDIES // 2, 9)
    half = ids[:STUDIES // 2]
    seqs = mirror.store.put(zip(half, [text_hash("v2")] * len(half), moved))
    mirror.append(half, seqs, moved)
    assert mirror.compact() and current_set(root) != old and not old.exists()
    mirror.index(final=True)
    assert view.nearest(vectors[5], None, 1, None)[0].tolist() == [5]  # the old set, still mapped
    assert cache.refresh()
    view.sync()
    assert cache.size == STUDIES and view.covered == STUDIES
    assert np.allclose(view.vector_of(5), moved[5], atol=1e-3)
    assert view.nearest(moved[5], None, 1, None)[0].tolist() == [5]


@pytest.mark.parametrize("damage", ["nearest", "meta"])
def test_a_damaged_set_says_how_to_write_it_again_and_a_fill_does(filled, damage):
    root, ids, vectors, mirror = filled
    folder = current_set(root)
    mirror.close()
    if damage == "nearest":  # the index file cut short
        path = folder / nearest.NEAREST_FILE
        path.write_bytes(path.read_bytes()[:4096])
    else:
        (folder / META_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(SemanticUnavailable, match=rf"{folder.name}.*cannot be read.*"
                                                  rf"run `trialsearch vectors --index {root}`"):
        VectorCache(root).refresh()
    again = Mirror(root, mirror.store)  # what `trialsearch vectors` does first: nothing encoded
    assert again.open() == (STUDIES if damage == "meta" else 0)
    again.index(final=True)
    cache, view = view_of(root, ids)
    assert cache.nearest is not None and view.covered == STUDIES
    assert view.nearest(vectors[7], None, 1, None)[0].tolist() == [7]
    again.close()


def test_without_faiss_every_row_is_scanned(filled, monkeypatch):
    root, ids, vectors, _ = filled
    monkeypatch.setattr("indexer.search.dense.available", lambda: "faiss-cpu is not installed")
    cache, view = view_of(root, ids)
    assert cache.nearest is None
    query = clustered(1, 5)[0]
    found, _ = view.nearest(query, None, 100, None)
    assert set(found.tolist()) == exact(vectors, query, np.ones(STUDIES, bool), 100)


def test_another_models_vectors_get_a_new_set(filled):
    root, ids, vectors, mirror = filled
    old = current_set(root)
    mirror.close()
    mirror.store.use_model("other 2 fp32", DIMS)
    fresh = Mirror(root, mirror.store)
    assert fresh.open() == 0 and current_set(root) != old
    cache, _ = view_of(root, ids)
    assert cache.model == "other 2 fp32" and cache.size == 0
    fresh.close()


def test_lists_and_probes_grow_with_rows_and_narrow_filters():
    assert nearest.lists_for(10_000) == 208 and nearest.lists_for(500_000) == 2048
    assert nearest.probes_for(2048, 500_000, 1.0) == 34  # about READ_ROWS rows
    assert 34 < nearest.probes_for(2048, 500_000, 0.1) < nearest.probes_for(2048, 500_000, 0.001) == 2048
    assert nearest.probes_for(208, 10_000, 1.0) == 171  # a small index reads most of it
