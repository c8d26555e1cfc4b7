"""Writing the index: full builds into a fresh generation with an atomic switch, in-place
upserts and deletes, all under one write lock.

Layout of an index directory::

    index_data/
      CURRENT            name of the live generation (replaced atomically)
      write.lock         flock()ed by whichever build/update/delete is running
      gen-20261125T101500-3f2a/   a Whoosh index plus meta.json
      .tmp-gen-.../      a build in progress (removed by the next build if it was killed)

A build writes a new generation beside the live one and only then points CURRENT at it, so a
failed or interrupted build leaves the old index serving (like an Elasticsearch alias swap).
Updates and deletes commit into the live generation through Whoosh's own segment commit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from whoosh import index as whoosh_index

from .abbreviations import ABBREVIATIONS_FILE, Abbreviations
from .errors import IndexLockedError, IndexNotFoundError, IndexWriteError, NoRecordsError
from .model import Problem, Study, normalize_nct_id
from .readers import read_sources
from .schema import SCHEMA_VERSION, build_schema, study_to_document

CURRENT_FILE = "CURRENT"
LOCK_FILE = "write.lock"
META_FILE = "meta.json"
GENERATION_PREFIX = "gen-"
TEMP_PREFIX = ".tmp-"

Progress = Callable[[int], None]


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


def generation_path(root: str | os.PathLike) -> Path | None:
    """The live generation's directory, or None when no index has been built at `root`."""
    pointer = Path(root) / CURRENT_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = Path(root) / name
    return path if name and path.is_dir() else None


def read_meta(generation: Path) -> dict:
    """The generation's meta.json (build time, sources, counts), or {} if unreadable."""
    try:
        return json.loads((generation / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def write_lock(root: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's exclusive write lock, waiting up to `wait` seconds for it."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a write the disk refuses fails here, not again when the file is closed.
        handle = open(root / LOCK_FILE, "a+b", buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:  # a read-only or full disk, a directory we may not write
        raise _write_error(root, exc) from exc
    with handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().decode("utf-8", "replace").strip() or "another process"
                    raise IndexLockedError(
                        f"the index at {root} is locked by a running build or update "
                        f"({holder}); try again when it finishes, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.1)
        with contextlib.suppress(OSError):  # who holds it is a courtesy; a full disk may refuse
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}".encode())
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _new_generation_name() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{GENERATION_PREFIX}{stamp}-{secrets.token_hex(3)}"


def _remove_stale(root: Path, keep: set[str]) -> None:
    """Delete leftover temp builds and generations older than the ones in `keep`.

    The previous generation is kept so a server that opened it just before the switch can
    finish its request.
    """
    for child in root.iterdir():
        if child.name.startswith(TEMP_PREFIX) or (
            child.name.startswith(GENERATION_PREFIX) and child.name not in keep
        ):
            shutil.rmtree(child, ignore_errors=True)


def _index_studies(writer, items: Iterable[Study | Problem], report: IndexReport,
                   abbreviations: Abbreviations, progress: Progress | None, upsert: bool) -> None:
    add = writer.update_document if upsert else writer.add_document
    for item in items:
        if isinstance(item, Problem):
            report.problems.append(item)
            continue
        add(**study_to_document(item))
        abbreviations.add_study(item)
        report.indexed += 1
        if progress:
            progress(1)


def _write_error(root: Path, exc: OSError) -> IndexWriteError:
    reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
    return IndexWriteError(
        f"could not write the index at {root}: {reason} ({exc.filename or root}); "
        "the live index was not changed"
    )


def _listed(problems: list[Problem], limit: int = 5) -> str:
    """': a: why; b: why' for an error message (the first few), or '' when there are none."""
    if not problems:
        return ""
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return ": " + "; ".join(str(p) for p in problems[:limit]) + more


def build_index(sources: Iterable[str | os.PathLike], path: str | os.PathLike, *,
                procs: int = 1, limitmb: int = 256, progress: Progress | None = None,
                wait: float = 0.0, synonyms: str | os.PathLike | None = None) -> IndexReport:
    """Build a fresh index from `sources` and switch it in atomically.

    Abbreviation pairs are mined from the records as they are indexed and stored with the
    generation; `synonyms` names a user synonym file that adds or vetoes pairs.

    Raises NoRecordsError (live index untouched) when no valid record was read, IndexWriteError
    when the disk refuses, IndexLockedError when another writer runs.
    """
    root = Path(path)
    started = time.perf_counter()
    sources = [str(s) for s in sources]
    with write_lock(root, wait):
        previous = generation_path(root)
        _remove_stale(root, keep={previous.name} if previous else set())
        name = _new_generation_name()
        temp = root / f"{TEMP_PREFIX}{name}"
        report = IndexReport(generation=name)
        abbreviations = Abbreviations()
        if synonyms:
            abbreviations.apply_user_file(synonyms)  # fail before any work if the file is bad
        try:
            temp.mkdir()
            ix = whoosh_index.create_in(str(temp), build_schema())
            # compound=False: Whoosh reads a compound segment by copying each of its files into
            # memory, so every process that opens the index would hold a private copy of it.
            writer = ix.writer(procs=procs, limitmb=limitmb, multisegment=procs > 1,
                               compound=False)
            try:
                _index_studies(writer, read_sources(sources), report, abbreviations, progress,
                               upsert=False)
            except BaseException:
                writer.cancel()
                raise
            if report.indexed == 0:
                writer.cancel()
                raise NoRecordsError(
                    f"no valid study record in {', '.join(sources) or 'the sources'}"
                    f"{_listed(report.problems)}; the index at {root} was not changed"
                )
            writer.commit()
            _write_atomically(temp / ABBREVIATIONS_FILE, abbreviations.to_json())
            report.seconds = time.perf_counter() - started
            meta = {
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "updated_at": None,
                "sources": [os.path.abspath(s) for s in sources],
                "indexed": report.indexed,
                "skipped": len(report.skipped),
                "build_seconds": round(report.seconds, 3),
                "schema_version": SCHEMA_VERSION,
            }
            _write_atomically(temp / META_FILE, json.dumps(meta, indent=2))
            os.rename(temp, root / name)
            _write_atomically(root / CURRENT_FILE, name + "\n")
        except OSError as exc:
            raise _write_error(root, exc) from exc
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        _remove_stale(root, keep={name} | ({previous.name} if previous else set()))
    report.seconds = time.perf_counter() - started
    return report


def _live_generation(root: Path) -> Path:
    generation = generation_path(root)
    if generation is None:
        raise IndexNotFoundError(f"no index at {root}; run `trialsearch build SOURCE` first")
    return generation


def _touch_meta(generation: Path, **changes) -> None:
    meta = read_meta(generation)
    meta.update(changes, updated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _write_atomically(generation / META_FILE, json.dumps(meta, indent=2))


def update_index(sources: Iterable[str | os.PathLike], path: str | os.PathLike, *,
                 progress: Progress | None = None, wait: float = 0.0) -> IndexReport:
    """Upsert the studies in `sources` into the live index by NCT ID."""
    root = Path(path)
    started = time.perf_counter()
    with write_lock(root, wait):
        generation = _live_generation(root)
        report = IndexReport(generation=generation.name)
        abbreviations = Abbreviations.load(generation)
        try:
            writer = whoosh_index.open_dir(str(generation)).writer(compound=False)
            try:
                _index_studies(writer, read_sources([str(s) for s in sources]), report,
                               abbreviations, progress, upsert=True)
            except BaseException:
                writer.cancel()
                raise
            _write_atomically(generation / ABBREVIATIONS_FILE, abbreviations.to_json())
            _commit_live(writer, generation)
        except OSError as exc:
            raise _write_error(root, exc) from exc
    report.seconds = time.perf_counter() - started
    return report


def _commit_live(writer, generation: Path) -> None:
    """Commit `writer` into the live `generation` and record its new document count."""
    writer.commit()
    _touch_meta(generation, indexed=whoosh_index.open_dir(str(generation)).doc_count())


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
            writer = whoosh_index.open_dir(str(generation)).writer(compound=False)
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
            raise _write_error(root, exc) from exc
    report.seconds = time.perf_counter() - started
    return report
