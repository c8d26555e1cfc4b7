"""Fusing the ranking by words with the ranking by meaning.

A hybrid search has two sides: the studies holding the query's words, each with its BM25F
score and how many of the query's concepts it holds (a word, or a phrase with its expansions:
`Candidates.coverage`), and the studies nearest the query in meaning, each with its cosine
similarity (known for every candidate, both sides'). Three ways of fusing them are here, as
compared on the TREC topics in docs/evaluation.md:

* reciprocal rank fusion (Cormack, Clarke & Buettcher, 2009): the sum of 1 / (k + rank) over
  the rankings a study is in; no score calibration between the sides;
* a convex combination of the two scores, each normalised over the candidates (min-max,
  z-score, or arctan of the raw score);
* tiers, then the convex combination within a tier: studies with a condition the query names
  (`conditions`) first, then those holding every concept, then the rest (partial matches and
  meaning alone); a study whose meaning is far from the query's (`veto` below the best
  similarity) drops to the last tier, so a match on a common word cannot outrank a study
  about the concept.

`fuse` runs the scheme chosen by cross-validation (`HYBRID`); the evaluation runs them all.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

RRF_K = 60  # the paper's k: works across collections
LEXICAL_SCALE = 10.0  # a BM25F score of a good match here: arctan's knee


@dataclass(frozen=True)
class Candidates:
    """Both sides of a hybrid search over the same document numbers. `words`: the studies
    holding the words, best first, with their BM25F `scores` and `coverage` (the share of
    the query's concepts each holds, 1.0 for all: None when the query has no concepts to
    count, an OR of key terms); `meaning`: the studies nearest in meaning, nearest first;
    `similarity`: the cosine of every candidate of either side (NaN without a vector);
    `conditions`: the share of the conditions the query names each candidate holds (those
    holding none left out); `listed`: the search
    ranks studies the caller listed (`SearchRequest.only`), so no floor leaves any out."""

    words: np.ndarray
    scores: np.ndarray
    coverage: np.ndarray | None
    meaning: np.ndarray
    similarity: dict[int, float]
    conditions: dict[int, float] = field(default_factory=dict)
    whole_condition: bool = False  # the query is the name of one condition, and nothing more
    listed: bool = False


@dataclass(frozen=True)
class Scheme:
    """A way of fusing: `kind` is "rrf", "convex" or "tiered"; `k` for rrf; `norm` ("minmax",
    "zscore", "arctan") and `alpha` (the words' share) for convex and tiered; `veto` for
    tiered (how far below the best similarity a tier no longer holds; None: never)."""

    kind: str
    k: int = RRF_K
    norm: str = "minmax"
    alpha: float = 0.5
    veto: float | None = None
    floor: float | None = None  # meaning candidates less alike than this are left out
    # ... and those more than this below the query's most alike candidate (a floor that follows
    # the query: a vague one finds nothing very alike, a precise one finds some).
    drop: float | None = None
    # ... and all of them when even the most alike is less alike than this: meaning has
    # nothing to say about nonsense ("asdfgh" is at best 0.32 like any study, "exosomes" 0.59).
    gate: float | None = None
    # The weight of the share of the query's named conditions a study holds, added to its fused
    # score (the normalised scores' scale); math.inf puts those studies first whatever else, as
    # does a query that is one condition's name and nothing more ("heart attack").
    conditions: float = 0.0
    label: str = field(default="", compare=False)

    def describe(self) -> str:
        """The scheme in a few words, for tables."""
        if self.kind == "rrf":
            text = f"RRF k={self.k}"
        else:
            text = f"{self.kind} {self.norm} α={self.alpha:g}"
            if self.kind == "tiered":
                text += f" veto={'none' if self.veto is None else f'{self.veto:g}'}"
        text += f" floor={self.floor:g}" if self.floor is not None else ""
        text += f" drop={self.drop:g}" if self.drop is not None else ""
        text += f" gate={self.gate:g}" if self.gate is not None else ""
        return text + (f" conditions={self.conditions:g}" if self.conditions else "")


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


def _normalised(values: np.ndarray, norm: str) -> np.ndarray:
    """Scores of one side on a scale comparable with the other's: min-max to [0, 1] or
    z-scores, both over these candidates."""
    if not len(values):
        return values
    if norm == "minmax":
        low, high = float(values.min()), float(values.max())
        return (values - low) / (high - low) if high > low else np.ones_like(values)
    if norm == "zscore":
        spread = float(values.std())
        return (values - float(values.mean())) / spread if spread > 0 else np.zeros_like(values)
    raise ValueError(f"unknown normalisation {norm!r}")


def _convex(lexical: np.ndarray, cosine: np.ndarray, scheme: Scheme) -> np.ndarray:
    """The words' share `alpha` of the BM25F score plus the rest of the cosine, each brought
    to one scale (`scheme.norm`). arctan keeps a score's size rather than its place among the
    candidates: 2/pi arctan(BM25F / LEXICAL_SCALE), beside the cosine as it is."""
    if scheme.norm == "arctan":
        words, meaning = 2 / np.pi * np.arctan(lexical / LEXICAL_SCALE), cosine
    else:
        words, meaning = _normalised(lexical, scheme.norm), _normalised(cosine, scheme.norm)
    return scheme.alpha * words + (1 - scheme.alpha) * meaning


def kept_meaning(candidates: Candidates, scheme: Scheme) -> np.ndarray:
    """The meaning side's candidates `scheme` keeps: those with a condition the query names,
    and those at least its floor alike and no more than its drop below the most alike."""
    if candidates.listed or not len(candidates.meaning):
        return candidates.meaning
    alike = np.array([candidates.similarity.get(d, -1.0) for d in candidates.meaning.tolist()])
    best = float(alike.max())
    named = np.array([d in candidates.conditions for d in candidates.meaning.tolist()], dtype=bool)
    if scheme.gate is not None and best < scheme.gate:
        return candidates.meaning[named]
    threshold = max(scheme.floor if scheme.floor is not None else -1.0,
                    best - scheme.drop if scheme.drop is not None else -1.0)
    return candidates.meaning[(alike >= threshold) | named]


def fuse(candidates: Candidates, scheme: Scheme) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of both sides in one ranking: document numbers best first, and their
    fused scores."""
    meaning = kept_meaning(candidates, scheme)
    if scheme.kind == "rrf":
        return fuse_arrays([candidates.words, meaning], scheme.k)
    docs = np.array(list(dict.fromkeys([*candidates.words.tolist(), *meaning.tolist()])), dtype=np.int64)
    if not len(docs):
        return docs, np.zeros(0)
    words = dict(zip(candidates.words.tolist(), candidates.scores.tolist()))
    lexical = np.array([words.get(d, 0.0) for d in docs.tolist()])
    cosine = np.nan_to_num([candidates.similarity.get(d, np.nan) for d in docs.tolist()], nan=0.0)
    scores = _convex(lexical, cosine, scheme)
    named = np.array([candidates.conditions.get(d, 0.0) for d in docs.tolist()])
    if math.isinf(scheme.conditions) or candidates.whole_condition:
        tier = named
    else:
        tier = np.zeros(len(docs))
        scores = scores + scheme.conditions * named
    if scheme.kind == "tiered":
        tier = tier * 2 + _full_coverage(candidates, docs, cosine, scheme.veto)
    elif scheme.kind != "convex":
        raise ValueError(f"unknown fusion {scheme.kind!r}")
    scores = scores + tier * (float(np.ptp(scores)) + 1.0)
    order = np.lexsort((docs, -scores))
    return docs[order], scores[order]


def _full_coverage(candidates: Candidates, docs: np.ndarray, cosine: np.ndarray,
                   veto: float | None) -> np.ndarray:
    """1 for each document holding every concept of the query's words, unless its similarity
    is more than `veto` below the best (a match on a common word is not a study about the
    concept); else 0."""
    tier = np.zeros(len(docs))
    if candidates.coverage is not None:
        full = {d for d, c in zip(candidates.words.tolist(), candidates.coverage.tolist()) if c >= 1.0}
        tier[[d in full for d in docs.tolist()]] = 1
        if veto is not None and len(cosine):
            tier[cosine < float(cosine.max()) - veto] = 0
    return tier


# The fusion live hybrid searches use (chosen by cross-validation: docs/evaluation.md). The
# fixed floor of 0.2 under the query-relative one changes no TREC score; it keeps a query whose
# best match is weak (0.42 for "mammary carcinoma" over the test corpus) from bringing in
# studies barely alike at all (0.11). Named
# conditions carry no weight of their own beyond a query that is one condition's name: a weight
# of 1 moved short typed queries by +0.002 and cost patient descriptions 0.01 nDCG@10.
HYBRID = Scheme("tiered", norm="zscore", alpha=0.2, veto=0.1, floor=0.2, drop=0.35, gate=0.35)
