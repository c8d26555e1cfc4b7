"""Computing the vectors of an index's studies, after the index is live.

A registry-sized index cannot wait for its vectors (MiniLM encodes about 15 to 20 studies per
CPU-second: some 9 CPU-hours for 500,000), so builds, updates and syncs go live first and the
vectors follow: `fill_vectors` encodes every study whose text has no stored vector yet, in
batches committed one at a time (stopping loses at most one batch), and searches use the
vectors as they land. A study whose text is unchanged keeps its vector across rebuilds.
`watch_vectors` keeps filling as the index changes (`trialsearch serve` runs it beside the
server).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from ..errors import IndexWriteError
from ..index.abbreviations import Abbreviations
from ..index.layout import require_generation
from ..model import Study
from ..whoosh.generation import decode_study, open_generation
from .contract import filler_lock, index_stamp, model_id, study_text, text_hash
from .mirror import Mirror
from .store import VectorStore

FILL_BATCH = 64  # studies encoded and committed together
SORT_WINDOW = 1024  # texts sorted by length before they are cut into batches (less padding)
WATCH_INTERVAL = 5.0  # seconds between looks for a changed index


@dataclass
class FillReport:
    """What `fill_vectors` did."""

    studies: int = 0  # in the index
    encoded: int = 0
    reused: int = 0  # already had a vector for their current text
    empty: int = 0  # no title, conditions or summary: no vector
    seconds: float = 0.0
    pruned: int = 0  # vectors of studies no longer in the index, deleted (with `prune`)
    busy: bool = False  # another process was filling; nothing was done
    model_changed: bool = False  # vectors of another model were dropped first
    mirrored: int = 0  # rows the shared matrix lacked, written from the store (matrix.py)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"studies": self.studies, "encoded": self.encoded, "reused": self.reused,
                "empty": self.empty, "pruned": self.pruned, "seconds": round(self.seconds, 3),
                "busy": self.busy, "model_changed": self.model_changed, "mirrored": self.mirrored}


def fill_vectors(root: str | os.PathLike, encoder, *, batch: int = FILL_BATCH,
                 progress: Callable[[int], None] | None = None,
                 stop: threading.Event | None = None, prune: bool = False,
                 say: Callable[[str], None] | None = None) -> FillReport:
    """Encode the studies of the live index at `root` that have no vector for their current
    text, and store them (see VectorStore), each batch also appended to the shared matrix
    searches map (see Mirror). `encoder` is a SentenceEncoder, or a ParallelEncoder (its
    processes, or a Dask cluster's workers); `progress(n)` is called as studies are checked;
    `say(message)` is told what a long step is doing or waiting for; `stop` ends the work
    after the current batch; `prune` (after a complete pass) deletes the vectors of studies
    no longer in the index. When another process is filling the same index, returns at once
    with `busy` set."""
    root = Path(root)
    started = time.perf_counter()
    report = FillReport()
    say = say or (lambda message: None)
    with filler_lock(root) as mine:
        if not mine:
            report.busy = True
            return report
        store = VectorStore(root, waiting=say)
        mirror = Mirror(root, store, say)
        try:
            report.model_changed = store.use_model(model_id(encoder), encoder.dimensions)
            report.mirrored = mirror.open()
            total = count_studies(root)
            store.set_filling(0, total)  # servers say vectors are coming, and how far they are
            live: set[str] = set()
            for chunk, vectors in _encoded(encoder, _pending(root, store, mirror, report, live,
                                                            progress, stop), batch):
                seqs = store.put((nct_id, digest, vector)
                                 for (nct_id, digest, _), vector in zip(chunk, vectors))
                mirror.append([nct_id for nct_id, _, _ in chunk], seqs, vectors)
                report.encoded += len(chunk)
                # Done: encoded, or checked and left as it was (not those still in the window).
                store.set_filling(report.encoded + report.reused + report.empty, total)
                if progress:
                    progress(len(chunk))
                mirror.index()
                if stop is not None and stop.is_set():
                    break
            if not (stop is not None and stop.is_set()):
                if prune:
                    gone = [nct_id for nct_id in store.hashes() if nct_id not in live]
                    store.delete(gone)
                    mirror.delete(gone)
                    report.pruned = len(gone)
                mirror.compact()
            mirror.index(final=True)
        finally:
            # A failed write here leaves a record that goes stale (FILLING_SILENCE, or this
            # process gone): never worth hiding the error that got us here.
            with contextlib.suppress(IndexWriteError):
                store.clear_filling()
            mirror.close()
            store.close()
    report.seconds = time.perf_counter() - started
    return report


def _pending(root: Path, store: VectorStore, mirror: Mirror, report: FillReport, live: set[str],
             progress: Callable[[int], None] | None,
             stop: threading.Event | None) -> Iterator[tuple[str, bytes, str]]:
    """(NCT ID, text hash, text) of every live study whose text has no vector, counting the
    others in `report` as it goes (and deleting the vectors of studies left with no text)."""
    known = store.hashes()
    # The generation's abbreviations spell out short forms the studies use (see
    # `study_text`); they are stored with it, read once here.
    abbreviations = Abbreviations.load(require_generation(root)).effective()
    for study in _live_studies(root):
        if stop is not None and stop.is_set():
            return
        report.studies += 1
        live.add(study.nct_id)
        text = study_text(study, abbreviations)
        if not text.strip():  # nothing to read a meaning from: no vector at all (the vector
            # of "" is close to every short query)
            report.empty += 1
            if study.nct_id in known:
                store.delete([study.nct_id])
                mirror.delete([study.nct_id])
        elif known.get(study.nct_id) == (digest := text_hash(text)):
            report.reused += 1
        else:
            yield study.nct_id, digest, text
            continue
        if progress:
            progress(1)


def _encoded(encoder, pending: Iterator[tuple[str, bytes, str]], batch: int
             ) -> Iterator[tuple[list[tuple[str, bytes, str]], np.ndarray]]:
    """Each batch of `pending` with its vectors. SORT_WINDOW texts at a time are sorted by
    length and cut into batches, so a batch pads its texts to about their own length."""
    def batches() -> Iterator[list[tuple[str, bytes, str]]]:
        while window := list(islice(pending, SORT_WINDOW)):
            window.sort(key=lambda item: len(item[2]))
            yield from (window[i:i + batch] for i in range(0, len(window), batch))

    def texts_of(chunk: list[tuple[str, bytes, str]]) -> list[str]:
        return [text for _, _, text in chunk]

    if hasattr(encoder, "map_chunks"):  # a ParallelEncoder: its workers encode ahead
        yield from encoder.map_chunks(batches(), texts_of)
    else:
        for chunk in batches():
            yield chunk, encoder.encode(texts_of(chunk))


def count_studies(root: str | os.PathLike) -> int:
    """How many studies the live index at `root` holds (what a fill checks)."""
    return open_generation(require_generation(Path(root))).doc_count()


def _live_studies(root: Path) -> Iterator[Study]:
    with open_generation(require_generation(root)).reader() as reader:
        for stored in reader.all_stored_fields():
            yield decode_study(stored)


def watch_vectors(root: str | os.PathLike, encoder, *, stop: threading.Event,
                  interval: float = WATCH_INTERVAL,
                  report: Callable[[FillReport], None] | None = None,
                  say: Callable[[str], None] | None = None) -> None:
    """Fill the vectors of the index at `root`, then again whenever the index changes, until
    `stop` is set. `report` is called after each fill that did something; `say` is told what
    a long step does or waits for (see `fill_vectors`)."""
    root = Path(root)
    done_for = None
    while not stop.is_set():
        stamp = index_stamp(root)
        if stamp is not None and stamp != done_for:
            filled = fill_vectors(root, encoder, stop=stop, say=say)
            if not filled.busy:
                done_for = stamp
                if report and filled.encoded:
                    report(filled)
        stop.wait(interval)
