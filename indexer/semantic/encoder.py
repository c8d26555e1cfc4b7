"""Unit-length sentence vectors from the ONNX all-MiniLM-L6-v2 built by export.py, run by
onnxruntime on CPU and tokenized by HF `tokenizers`: no torch, no model hub.

Texts are cut at the model's max_seq_length word pieces (256, as sentence-transformers does),
sorted by length within a call and padded per batch, so a batch of short queries costs what short
queries cost. The vectors match sentence-transformers' to a cosine of 0.99999 in fp32.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from .deps import RUNTIME_MODULES, SemanticUnavailable, require
from .export import (
    INPUTS,
    META_DIMENSIONS,
    META_MAX_SEQ,
    META_PRECISION,
    META_SOURCE,
    META_TOKENIZER,
    OUTPUT,
    ensure_model,
)

DEFAULT_BATCH = 8  # measured: as fast per CPU-second as 32 (texts are sorted by length), far less memory


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence vectors: float32, L2-normalised, 384 dimensions.

    `model_path`: an ONNX file built by export.py; default: the cached one for the installed
    model package, built now (a few seconds) if missing. `int8`: the quantized model (faster,
    about 4x smaller, vectors a little off). `threads`: onnxruntime's intra-op threads (default:
    all cores). `window`: the word pieces read of each text (default, and at most, the model's
    256; fewer is faster on long texts, and a different vector). Raises SemanticUnavailable
    when a package is missing or no model can be had.
    """

    def __init__(self, model_path: str | os.PathLike | None = None, *, int8: bool = False,
                 threads: int | None = None, window: int | None = None) -> None:
        require(RUNTIME_MODULES, "sentence encoding")
        import onnxruntime
        from tokenizers import Tokenizer

        self.model_path = Path(model_path) if model_path is not None else ensure_model(int8=int8)
        if not self.model_path.is_file():
            raise SemanticUnavailable(f"{self.model_path}: no such model file; build it with "
                                      "python -m indexer.semantic.export")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(str(self.model_path), options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise SemanticUnavailable(f"{self.model_path}: not a readable model ({exc}); rebuild it "
                                      "with python -m indexer.semantic.export --force") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if META_TOKENIZER not in meta:
            raise SemanticUnavailable(f"{self.model_path}: not built by indexer.semantic.export "
                                      "(it carries no tokenizer)")
        self.model_max_seq = int(meta[META_MAX_SEQ])
        self.max_seq_length = min(window or self.model_max_seq, self.model_max_seq)
        self.dimensions = int(meta[META_DIMENSIONS])
        self.precision = meta.get(META_PRECISION, "fp32")
        self.source = meta.get(META_SOURCE, "")
        self.tokenizer = Tokenizer.from_str(meta[META_TOKENIZER])
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)  # counts [CLS] and [SEP]
        self.tokenizer.no_padding()  # padded per batch below
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0

    def encode(self, texts: list[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """A (len(texts), dimensions) float32 array of unit vectors, in the order of `texts`."""
        vectors = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return vectors
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), max(1, batch_size)):
            batch = order[start:start + max(1, batch_size)]
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            (output,) = self.session.run([OUTPUT], dict(zip(INPUTS, (ids, mask))))
            vectors[batch] = output
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """One text's unit vector, shape (dimensions,)."""
        return self.encode([text])[0]

    def __repr__(self) -> str:
        return f"SentenceEncoder({str(self.model_path)!r}, {self.precision}, {self.source})"


@functools.cache
def query_encoder(int8: bool = False, window: int | None = None) -> SentenceEncoder:
    """This process's one-thread encoder for queries with these options, loaded once (its
    `encode_query` is safe from several threads: onnxruntime's `run` is). A server loads it
    before forking its workers (`indexer.search.meaning.preload_query_encoder`), so they share
    its pages: measured with two forked workers, each then holds 5 MB of its own instead of 145.
    Raises SemanticUnavailable as `SentenceEncoder` does (and is tried again on the next call)."""
    return SentenceEncoder(int8=int8, threads=1, window=window)
