"""`trialsearch vectors`: compute the study vectors meaning search uses, and the step that
build, update and sync run after the index is live."""

from __future__ import annotations

import json
import os
import sys
import threading

import click

from ..semantic.deps import SemanticUnavailable
from ..semantic.fill import FillReport, count_studies, fill_vectors, watch_vectors
from .main import FatalError, index_option, json_option, plural, quiet_option

vectors_option = click.option(
    "--vectors/--no-vectors", "vectors", default=None, envvar="TRIALSEARCH_VECTORS",
    help="Compute study vectors for meaning search once the index is live [default: when the "
         "'semantic' extra is installed; or set TRIALSEARCH_VECTORS=0/1].")


def load_encoder(threads: int | None = None):
    """The sentence encoder; raises SemanticUnavailable naming what to install."""
    from ..semantic.encoder import SentenceEncoder

    return SentenceEncoder(threads=threads)


def fill_after_write(index_path: str, vectors: bool | None, quiet: bool) -> None:
    """After a build, update or sync: bring the vectors up to date, with a progress bar. The
    index is already live, so Ctrl-C only stops the vectors (`trialsearch vectors` resumes).
    Without the 'semantic' extra this says so and returns, unless --vectors asked for them."""
    if vectors is False:
        return
    try:
        encoder = load_encoder()
    except SemanticUnavailable as exc:
        if vectors:
            raise FatalError(str(exc)) from exc
        click.echo(f"Meaning search is off: {exc}", err=True)
        return
    report = _fill_with_bar(index_path, encoder, quiet)
    click.echo(_summary(report), err=True)


def _fill_with_bar(index_path: str, encoder, quiet: bool, prune: bool = False) -> FillReport:
    bar = None if quiet else _bar(count_studies(index_path))
    try:
        return fill_vectors(index_path, encoder, progress=bar.update if bar else None,
                            prune=prune)
    except KeyboardInterrupt:
        raise FatalError("stopped; the vectors computed so far are kept and the index is "
                         f"live: `trialsearch vectors --index {index_path}` resumes") from None
    finally:
        if bar is not None:
            bar.close()


def _bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="Vectors", unit=" studies", disable=None, file=sys.stderr,
                mininterval=0.5, dynamic_ncols=True)


def _summary(report: FillReport) -> str:
    if report.busy:
        return "Vectors: another process is computing them for this index; it will finish them."
    rate = report.encoded / report.seconds if report.seconds else 0.0
    dropped = " (vectors of another model were dropped first)" if report.model_changed else ""
    empty = f", {report.empty} without text to encode" if report.empty else ""
    pruned = (f", deleted {plural(report.pruned, 'vector')} of studies gone from the index"
              if report.pruned else "")
    return (f"Vectors: {plural(report.encoded, 'study', 'studies')} encoded, {report.reused} "
            f"unchanged{empty}{pruned}, in {report.seconds:.1f} s ({rate:.1f} studies/s){dropped}.")


@click.command("vectors")
@index_option
@click.option("--watch", is_flag=True,
              help="Keep running: compute vectors again whenever the index changes.")
@click.option("--threads", type=click.IntRange(1, 64),
              help="Encoder threads [default: every core].")
@click.option("--prune", is_flag=True,
              help="Also delete the vectors of studies no longer in the index (every server "
                   "process holds all stored vectors in memory).")
@quiet_option
@json_option
def vectors_command(index_path, watch, threads, prune, quiet, as_json):
    """Compute the vectors meaning search (hybrid and semantic modes) uses, for every study
    whose text has none yet. Stored in the index folder (vectors.sqlite3) and kept across
    rebuilds; searches use them as they land. Stopping keeps what was done.

    \b
    Example:
      trialsearch vectors --index index_data
    """
    try:
        encoder = load_encoder(threads)
    except SemanticUnavailable as exc:
        if watch:  # beside a server, which then ranks by words: a note, not a failure
            click.echo(f"Meaning search is off: {exc}", err=True)
            return
        raise FatalError(str(exc)) from exc
    if watch:
        _watch(index_path, encoder, quiet)
        return
    report = _fill_with_bar(index_path, encoder, quiet or as_json, prune)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(_summary(report))


def _watch(index_path: str, encoder, quiet: bool) -> None:
    """Fill until interrupted or until the process that started us (`trialsearch serve`)
    is gone."""
    stop = threading.Event()
    parent = os.getppid()

    def orphaned() -> None:
        while not stop.wait(2.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=orphaned, daemon=True).start()
    say = (lambda report: None) if quiet else (lambda report: click.echo(_summary(report), err=True))
    try:
        watch_vectors(index_path, encoder, stop=stop, report=say)
    except KeyboardInterrupt:
        stop.set()
