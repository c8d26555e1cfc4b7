"""Writing the index: full builds into a fresh generation with an atomic switch, in-place
upserts and deletes, all under one write lock (the folder's layout: `indexer.index.layout`).

A build writes a new generation beside the live one and only then points CURRENT at it, so a
failed or interrupted build leaves the old index serving (like an Elasticsearch alias swap).
Updates and deletes commit into the live generation through Whoosh's own segment commit.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NoRecordsError
from ..gazetteer import place_sites
from ..model import Problem, Study, normalize_nct_id
from ..readers import read_sources
from ..whoosh.generation import create_generation, open_generation
from ..whoosh.segments import open_writer
from .abbreviations import Abbreviations
from .bulk import BATCH_DOCUMENTS, BulkWriter
from .layout import (
    ABBREVIATIONS_FILE,
    CURRENT_FILE,
    META_FILE,
    TEMP_PREFIX,
    generation_path,
    new_generation_name,
    read_meta,
    remove_stale,
    require_generation,
    write_atomically,
    write_error,
    write_lock,
)
from .merge import merge_small
from .schema import SCHEMA_VERSION, build_schema, study_to_document

Progress = Callable[[int], None]

# An update's batches when analysis processes share them out: a thousand studies make four
# tasks, not one (the processes' start costs less than the analysis they take over).
SHARED_OUT_BATCH_DOCUMENTS = 250


@dataclass
class IndexReport:
    """What a build, update or delete did."""

    indexed: int = 0
    deleted: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    generation: str = ""

    @property
    def skipped(self) -> list[Problem]:
        """Problems that lost a record or file (not the files ignored as non-records)."""
        return [p for p in self.problems if p.kind == "error"]

    @property
    def ignored(self) -> list[Problem]:
        """Files that hold no study records and were passed over."""
        return [p for p in self.problems if p.kind == "ignored"]

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "indexed": self.indexed,
            "deleted": self.deleted,
            "skipped": [str(p) for p in self.skipped],
            "ignored": [str(p) for p in self.ignored],
            "seconds": round(self.seconds, 3),
            "generation": self.generation,
        }


def _studies(items: Iterable[Study | Problem], report: IndexReport,
             progress: Progress | None) -> Iterator[Study]:
    """Each valid study, counted; each problem recorded in `report` and skipped."""
    for item in items:
        if isinstance(item, Problem):
            report.problems.append(item)
            continue
        report.indexed += 1
        if progress:
            progress(1)
        yield item


def _documents(studies: list[Study], known: frozenset[str] | None = None
               ) -> tuple[list[dict], Abbreviations]:
    """Index documents for `studies` (only the `known` fields: an index built by an older
    release lacks newer ones), and the abbreviation and concept pairs they hold. Runs in the
    bulk writer's analysis processes."""
    mined = Abbreviations()
    documents = []
    for study in studies:
        document = study_to_document(place_sites(study))
        if known is not None:
            document = {name: value for name, value in document.items() if name in known}
        documents.append(document)
        mined.add_study(study)
    return documents, mined


def _listed(problems: list[Problem], limit: int = 5) -> str:
    """': a: why; b: why' for an error message (the first few), or '' when there are none."""
    if not problems:
        return ""
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return ": " + "; ".join(str(p) for p in problems[:limit]) + more


def build_index(sources: Iterable[str | os.PathLike], path: str | os.PathLike, *,
                procs: int = 1, progress: Progress | None = None,
                wait: float = 0.0, synonyms: str | os.PathLike | None = None,
                executor: Executor | None = None) -> IndexReport:
    """Build a fresh index from `sources` and switch it in atomically.

    Abbreviation pairs, and condition synonyms from the registry's MeSH as-found words, are
    mined from the records as they are indexed and stored with the generation (with their
    study counts, which an update adds to); `synonyms` names a user synonym file that adds or
    vetoes abbreviation pairs.

    `procs` analysis processes tokenize, stem and sort the postings while this process reads
    the records and writes the stored fields (1: all of it here, as a web server's worker
    should, since forking it would copy its memory); or, given `executor` (a Dask cluster's,
    `indexer.cluster`), its workers do, `procs` batches per worker thread at a time.

    Raises NoRecordsError (live index untouched) when no valid record was read, IndexWriteError
    when the disk refuses, IndexLockedError when another writer runs.
    """
    root = Path(path)
    started = time.perf_counter()
    sources = [str(s) for s in sources]
    with write_lock(root, wait):
        previous = generation_path(root)
        remove_stale(root, keep={previous.name} if previous else set())
        name = new_generation_name()
        temp = root / f"{TEMP_PREFIX}{name}"
        report = IndexReport(generation=name)
        abbreviations = Abbreviations()
        if synonyms:
            abbreviations.apply_user_file(synonyms)  # fail before any work if the file is bad
        try:
            temp.mkdir()
            ix = create_generation(temp, build_schema())
            writer = BulkWriter(ix, procs=procs, executor=executor)
            writer.write(_studies(read_sources(sources), report, progress), _documents,
                         abbreviations.merge)
            if report.indexed == 0:
                raise NoRecordsError(
                    f"no valid study record in {', '.join(sources) or 'the sources'}"
                    f"{_listed(report.problems)}; the index at {root} was not changed"
                )
            writer.commit()
            write_atomically(temp / ABBREVIATIONS_FILE, abbreviations.to_json())
            report.seconds = time.perf_counter() - started
            meta = {
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "updated_at": None,
                "sources": [os.path.abspath(s) for s in sources],
                "indexed": report.indexed,
                "skipped": len(report.skipped),
                "build_seconds": round(report.seconds, 3),
                "schema_version": SCHEMA_VERSION,
            }
            write_atomically(temp / META_FILE, json.dumps(meta, indent=2))
            os.rename(temp, root / name)
            write_atomically(root / CURRENT_FILE, name + "\n")
        except OSError as exc:
            raise write_error(root, exc) from exc
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        remove_stale(root, keep={name} | ({previous.name} if previous else set()))
    report.seconds = time.perf_counter() - started
    return report


def _live_generation(root: Path) -> Path:
    generation = require_generation(root)
    return generation


def _touch_meta(generation: Path, **changes) -> None:
    meta = read_meta(generation)
    meta.update(changes, updated_at=datetime.now(UTC).isoformat(timespec="seconds"))
    write_atomically(generation / META_FILE, json.dumps(meta, indent=2))


def update_index(sources: Iterable[str | os.PathLike], path: str | os.PathLike, *,
                 procs: int = 1, progress: Progress | None = None,
                 wait: float = 0.0) -> IndexReport:
    """Upsert the studies in `sources` into the live index by NCT ID.

    `procs` analysis processes work beside this one as in `build_index` (1, the default, for
    a web server's worker: forking it would copy its memory), on smaller batches, so that
    even a thousand studies are shared out."""
    root = Path(path)
    started = time.perf_counter()
    with write_lock(root, wait):
        generation = _live_generation(root)
        report = IndexReport(generation=generation.name)
        abbreviations = Abbreviations.load(generation)
        try:
            ix = open_generation(generation)
            writer = open_writer(ix)  # holds Whoosh's lock and records the deletions
            try:
                # the new versions, as one segment in the bulk format
                added = BulkWriter(ix, procs=procs, batch_documents=BATCH_DOCUMENTS
                                   if procs == 1 else SHARED_OUT_BATCH_DOCUMENTS)
                added.write(_replacing(writer, _studies(read_sources([str(s) for s in sources]),
                                                        report, progress)),
                            functools.partial(_documents, known=frozenset(writer.schema.names())),
                            abbreviations.merge)
                new_segments = added.finish()
            except BaseException:
                writer.cancel()
                raise
            write_atomically(generation / ABBREVIATIONS_FILE, abbreviations.to_json())
            _commit_live(writer, generation, new_segments)
        except OSError as exc:
            raise write_error(root, exc) from exc
    report.seconds = time.perf_counter() - started
    return report


def _replacing(writer, studies: Iterator[Study]) -> Iterator[Study]:
    """`studies`, each one's earlier version marked deleted in `writer` as it passes
    (`read_sources` reports a second study with the same NCT ID and passes it over)."""
    for study in studies:
        writer.delete_by_term("nct_id", study.nct_id)
        yield study


def _commit_live(writer, generation: Path, new_segments: list | None = None) -> None:
    """Commit `writer`'s deletions and `new_segments` into the live `generation`, small
    segments merged as arrays (`merge.py`; Whoosh's own merge re-adds every posting through
    its writer), and record its new document count."""
    writer.commit(mergetype=lambda w, segments: merge_small(
        w.storage, w.schema, w.indexname, [*segments, *(new_segments or [])]))
    _touch_meta(generation, indexed=open_generation(generation).doc_count())


def delete_studies(nct_ids: Iterable[str], path: str | os.PathLike, *,
                   wait: float = 0.0) -> IndexReport:
    """Remove studies by NCT ID; IDs not in the index are reported as problems. When nothing
    was deleted the index (and its update time) is left untouched."""
    root = Path(path)
    started = time.perf_counter()
    with write_lock(root, wait):
        generation = _live_generation(root)
        report = IndexReport(generation=generation.name)
        try:
            writer = open_writer(open_generation(generation))
            asked: set[str] = set()
            for raw in nct_ids:
                nct_id = normalize_nct_id(raw)
                if nct_id is None:
                    report.problems.append(Problem(str(raw), "", "not a valid NCT ID"))
                    continue
                if nct_id in asked:
                    continue  # Whoosh would count a second delete of the same document again
                asked.add(nct_id)
                if writer.delete_by_term("nct_id", nct_id):
                    report.deleted += 1
                else:
                    report.problems.append(Problem(nct_id, "", "not in the index"))
            if report.deleted:
                _commit_live(writer, generation)
            else:
                writer.cancel()
        except OSError as exc:
            raise write_error(root, exc) from exc
    report.seconds = time.perf_counter() - started
    return report
