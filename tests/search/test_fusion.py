"""Reciprocal rank fusion: 1 / (k + rank) summed over the rankings a document is in."""

from __future__ import annotations

import numpy as np

from indexer.search.fusion import fuse_arrays, reciprocal_rank_fusion


def test_k_decides_between_one_first_place_and_two_fourth_places():
    rankings = [["a", "x", "y", "b"], ["c", "v", "w", "b"]]
    # k 1: a's 1/2 beats b's 1/5 + 1/5; k 60 flattens the ranks: b's 2/64 beats a's 1/61.
    assert reciprocal_rank_fusion(rankings, k=1)[0] == "a"
    assert reciprocal_rank_fusion(rankings, k=60)[0] == "b"
    assert reciprocal_rank_fusion(rankings)[0] == "b"  # the default is the paper's 60


def test_arrays_are_scored_with_the_k_given():
    docs, scores = fuse_arrays([np.array([7, 3]), np.array([3])], k=10)
    assert docs.tolist() == [3, 7]
    assert np.allclose(scores, [1 / 12 + 1 / 11, 1 / 11])
