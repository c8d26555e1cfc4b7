"""Reciprocal rank fusion (Cormack, Clarke & Buettcher, 2009): several rankings of the same
documents merged by the sum of 1 / (k + rank) over the rankings each document is in. It needs
no score calibration between a BM25F ranking and a cosine one, which is why hybrid search uses
it."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

RRF_K = 60  # the paper's k: works across collections, and measured so here (docs/evaluation.md)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[Hashable]], k: int = RRF_K) -> list:
    """Merge rankings of any ids (best first) by the sum of 1 / (k + rank); ties go to the
    better best rank, then to the id seen first."""
    seen = list(dict.fromkeys(item for ranking in rankings for item in ranking))
    number = {item: i for i, item in enumerate(seen)}
    docs, _ = fuse_arrays([np.array([number[item] for item in ranking], dtype=np.int64)
                           for ranking in rankings], k)
    return [seen[i] for i in docs]


def fuse_arrays(rankings: Sequence[np.ndarray], k: int = RRF_K) -> tuple[np.ndarray, np.ndarray]:
    """`reciprocal_rank_fusion` over arrays of document numbers: the fused document numbers,
    best first (ties by the best rank in any list, then document number), and their scores."""
    ids = np.concatenate(rankings) if rankings else np.zeros(0, dtype=np.int64)
    ranks = np.concatenate([np.arange(1, len(r) + 1) for r in rankings]) if rankings else ids
    docs, where = np.unique(ids, return_inverse=True)
    scores = np.zeros(len(docs))
    np.add.at(scores, where, 1.0 / (k + ranks))
    best = np.full(len(docs), np.iinfo(np.int64).max)
    np.minimum.at(best, where, ranks)
    order = np.lexsort((docs, best, -scores))
    return docs[order], scores[order]
