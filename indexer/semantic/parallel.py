"""Encoding in several processes: on this machine's cores, or on a Dask cluster's workers.

One onnxruntime thread per process encodes about 30% more texts per CPU-second than one
process with a thread per core (docs/benchmarks.md), so a fill runs one single-threaded
encoder per core. The filler sends chunks of texts of about the same length (padding is the
cost: `fill.py` sorts a window of texts by length first); each process (or Dask worker)
loads the encoder once, and the chunks come back in the order sent, so the vectors are the
same, bit for bit, whichever runs them: every chunk is encoded alone, with one thread.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

_loaded: dict = {}  # EncoderSpec -> SentenceEncoder, one per process


@dataclass(frozen=True)
class EncoderSpec:
    """What a worker process needs to load the same encoder: int8 or fp32, and the window."""

    int8: bool = False
    window: int | None = None

    @classmethod
    def of(cls, encoder) -> EncoderSpec:
        """The spec of an existing `SentenceEncoder`."""
        cut = encoder.max_seq_length if encoder.max_seq_length != encoder.model_max_seq else None
        return cls(int8=encoder.precision == "int8", window=cut)

    def load(self):
        """This process's encoder for the spec (one onnxruntime thread), loaded once."""
        if self not in _loaded:
            from .encoder import SentenceEncoder

            _loaded[self] = SentenceEncoder(int8=self.int8, threads=1, window=self.window)
        return _loaded[self]


def encode_chunk(spec: EncoderSpec, texts: list[str]) -> np.ndarray:
    """The vectors of `texts` by the encoder of `spec`, in this (worker) process."""
    return spec.load().encode(texts)


class ParallelEncoder:
    """`encoder`'s model run in `executor` (processes, or a Dask cluster's workers), `workers`
    chunks at a time each. Carries the encoder's identity (`source`, `precision`,
    `dimensions`, `max_seq_length`), so the vectors are stored under its model."""

    def __init__(self, encoder, executor: Executor, workers: int, where: str,
                 close: Callable[[], None]) -> None:
        self.encoder, self.executor, self.workers, self.where = encoder, executor, workers, where
        self._close = close
        self.spec = EncoderSpec.of(encoder)
        for name in ("source", "precision", "dimensions", "max_seq_length", "model_max_seq"):
            setattr(self, name, getattr(encoder, name))

    def map_chunks(self, chunks: Iterable[list], texts_of: Callable[[list], list[str]] = list
                   ) -> Iterator[tuple[list, np.ndarray]]:
        """Each chunk with the vectors of its texts (`texts_of(chunk)`), in order; two chunks
        per worker are in flight."""
        yield from ordered(lambda chunk: self.executor.submit(encode_chunk, self.spec, texts_of(chunk)),
                           chunks, 2 * self.workers)

    def encode(self, texts: list[str]) -> np.ndarray:
        """The vectors of `texts`, in this process (short lists: queries, a last chunk)."""
        return self.encoder.encode(texts)

    def close(self) -> None:
        """Stop the worker processes, or disconnect from the cluster."""
        self._close()


def ordered(submit: Callable, items: Iterable, ahead: int) -> Iterator[tuple]:
    """(item, result) for each of `items`, in order, with `submit(item)`'s futures at most
    `ahead` in flight."""
    pending: deque = deque()
    for item in items:
        pending.append((item, submit(item)))
        if len(pending) >= ahead:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def local_encoder(encoder, processes: int | None = None) -> ParallelEncoder:
    """`encoder`'s model in `processes` single-threaded processes (default: one per core)."""
    processes = processes or os.cpu_count() or 1
    # spawn, not fork: the parent may hold onnxruntime's and tokenizers' threads.
    executor = ProcessPoolExecutor(processes, mp_context=get_context("spawn"))
    return ParallelEncoder(encoder, executor, processes, f"{processes} processes",
                           lambda: executor.shutdown(cancel_futures=True))
