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
from pathlib import Path

from ..errors import IndexWriteError
from ..index.abbreviations import Abbreviations
from ..index.layout import require_generation
from ..model import Study
from ..whoosh.generation import decode_study, open_generation
from .contract import filler_lock, index_stamp, model_id, study_text, text_hash
from .store import VectorStore

FILL_BATCH = 64  # studies encoded and committed together
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

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"studies": self.studies, "encoded": self.encoded, "reused": self.reused,
                "empty": self.empty, "pruned": self.pruned, "seconds": round(self.seconds, 3),
                "busy": self.busy, "model_changed": self.model_changed}


def fill_vectors(root: str | os.PathLike, encoder, *, batch: int = FILL_BATCH,
                 progress: Callable[[int], None] | None = None,
                 stop: threading.Event | None = None, prune: bool = False) -> FillReport:
    """Encode the studies of the live index at `root` that have no vector for their current
    text, and store them (see VectorStore). `encoder` is a SentenceEncoder; `progress(n)` is
    called as studies are checked; `stop` ends the work after the current batch; `prune`
    (after a complete pass) deletes the vectors of studies no longer in the index, which every
    searching process would otherwise keep in memory. When another process is filling the same
    index, returns at once with `busy` set."""
    root = Path(root)
    started = time.perf_counter()
    report = FillReport()
    with filler_lock(root) as mine:
        if not mine:
            report.busy = True
            return report
        store = VectorStore(root)
        try:
            report.model_changed = store.use_model(model_id(encoder), encoder.dimensions)
            known = store.hashes()
            pending: list[tuple[str, bytes, str]] = []
            live: set[str] = set()
            total = count_studies(root)
            store.set_filling(0, total)  # servers say vectors are coming, and how far they are

            def flush() -> None:
                vectors = encoder.encode([text for _, _, text in pending])
                store.put((nct_id, digest, vector)
                          for (nct_id, digest, _), vector in zip(pending, vectors))
                report.encoded += len(pending)
                store.set_filling(report.studies, total)
                if progress:
                    progress(len(pending))
                pending.clear()

            # The generation's abbreviations spell out short forms the studies use (see
            # `study_text`); they are stored with it, read once here.
            abbreviations = Abbreviations.load(require_generation(root)).effective()
            for study in _live_studies(root):
                if stop is not None and stop.is_set():
                    break
                report.studies += 1
                live.add(study.nct_id)
                text = study_text(study, abbreviations)
                if not text.strip():  # nothing to read a meaning from: no vector at all (the
                    # vector of "" is close to every short query)
                    report.empty += 1
                    if study.nct_id in known:
                        store.delete([study.nct_id])
                    if progress:
                        progress(1)
                    continue
                digest = text_hash(text)
                if known.get(study.nct_id) == digest:
                    report.reused += 1
                    if progress:
                        progress(1)
                    continue
                pending.append((study.nct_id, digest, text))
                if len(pending) >= batch:
                    flush()
            if not (stop is not None and stop.is_set()):
                if pending:
                    flush()
                if prune:
                    report.pruned = store.prune(live)
        finally:
            # A failed write here leaves a record that goes stale (FILLING_SILENCE, or this
            # process gone): never worth hiding the error that got us here.
            with contextlib.suppress(IndexWriteError):
                store.clear_filling()
            store.close()
    report.seconds = time.perf_counter() - started
    return report


def count_studies(root: str | os.PathLike) -> int:
    """How many studies the live index at `root` holds (what a fill checks)."""
    return open_generation(require_generation(Path(root))).doc_count()


def _live_studies(root: Path) -> Iterator[Study]:
    with open_generation(require_generation(root)).reader() as reader:
        for stored in reader.all_stored_fields():
            yield decode_study(stored)


def watch_vectors(root: str | os.PathLike, encoder, *, stop: threading.Event,
                  interval: float = WATCH_INTERVAL,
                  report: Callable[[FillReport], None] | None = None) -> None:
    """Fill the vectors of the index at `root`, then again whenever the index changes, until
    `stop` is set. `report` is called after each fill that did something."""
    root = Path(root)
    done_for = None
    while not stop.is_set():
        stamp = index_stamp(root)
        if stamp is not None and stamp != done_for:
            filled = fill_vectors(root, encoder, stop=stop)
            if not filled.busy:
                done_for = stamp
                if report and filled.encoded:
                    report(filled)
        stop.wait(interval)
