"""`trialsearch vectors`: compute the study vectors meaning search uses, and the step that
build, update and sync run after the index is live."""

from __future__ import annotations

import json
import os
import signal
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


def load_encoder(index_path: str, *, precision: str | None = None, window: int | None = None,
                 procs: int | None = None, threads: int | None = None, cluster=None):
    """The encoder a fill of `index_path` uses: the model of its stored vectors unless
    `precision` or `window` asks for another (`encoder_options`); run in this process
    (`procs` 1, with `threads`), in `procs` single-threaded processes (default: one per
    core), or on `cluster`'s workers. Raises SemanticUnavailable naming what to install."""
    from ..semantic.contract import encoder_options
    from ..semantic.encoder import SentenceEncoder
    from ..semantic.parallel import ParallelEncoder, local_encoder
    from ..semantic.store import VectorStore

    options = {"int8": False, "window": None}
    if VectorStore.exists(index_path):
        store = VectorStore(index_path, readonly=True)
        try:
            options = encoder_options(store.model or "")
        finally:
            store.close()
    if precision is not None:
        options["int8"] = precision == "int8"
    if window is not None:
        options["window"] = window
    procs = procs or os.cpu_count() or 1
    single = cluster is None and procs == 1
    encoder = SentenceEncoder(threads=threads if single else 1, **options)
    if cluster is not None:  # the caller disconnects it
        return ParallelEncoder(encoder, cluster.executor, cluster.workers, cluster.describe(),
                               lambda: None)
    return encoder if single else local_encoder(encoder, procs)


def fill_after_write(index_path: str, vectors: bool | None, quiet: bool, cluster=None) -> None:
    """After a build, update or sync: bring the vectors up to date, with a progress bar, on
    this machine's cores or `cluster`'s workers (left connected). The index is already live,
    so Ctrl-C only stops the vectors (`trialsearch vectors` resumes). Without the 'semantic'
    extra this says so and returns, unless --vectors asked for them."""
    if vectors is False:
        return
    try:
        encoder = load_encoder(index_path, cluster=cluster)
    except SemanticUnavailable as exc:
        if vectors:
            raise FatalError(str(exc)) from exc
        click.echo(f"Meaning search is off: {exc}", err=True)
        return
    report = _fill_with_bar(index_path, encoder, quiet)
    click.echo(_summary(report), err=True)


def _fill_with_bar(index_path: str, encoder, quiet: bool, prune: bool = False) -> FillReport:
    bar = None if quiet else _bar(count_studies(index_path))

    def say(message: str) -> None:  # a long step, or a wait: said at once, above the bar
        if bar is not None:
            bar.write(f"Vectors: {message}", file=sys.stderr)
        else:
            click.echo(f"Vectors: {message}", err=True)

    try:
        return fill_vectors(index_path, encoder, progress=bar.update if bar else None,
                            prune=prune, say=say)
    except KeyboardInterrupt:
        raise FatalError("stopped; the vectors computed so far are kept and the index is "
                         f"live: `trialsearch vectors --index {index_path}` resumes") from None
    finally:
        if bar is not None:
            bar.close()
        if hasattr(encoder, "close"):  # a ParallelEncoder: its processes, or the cluster
            encoder.close()


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
@click.option("--procs", type=click.IntRange(1, 64),
              help="Encoder processes, one thread each [default: one per core].")
@click.option("--threads", type=click.IntRange(1, 64),
              help="Encoder threads with --procs 1 [default: every core].")
@click.option("--precision", type=click.Choice(["fp32", "int8"]),
              help="The model's weights: fp32, or int8 (about 1.7 times as fast, vectors a "
                   "little off) [default: those of the stored vectors, else fp32]. Another "
                   "precision computes every vector again.")
@click.option("--window", type=click.IntRange(16, 256),
              help="Word pieces read of each study's text [default: those of the stored "
                   "vectors, else the model's 256]. Another window computes every vector again.")
@click.option("--cluster", "address", metavar="ADDRESS",
              help="Encode on the workers of the Dask cluster at ADDRESS (tcp://host:8786; "
                   "the 'cluster' extra) instead of this machine's cores.")
@click.option("--prune", is_flag=True,
              help="Also delete the vectors of studies no longer in the index.")
@quiet_option
@json_option
def vectors_command(index_path, watch, procs, threads, precision, window, address, prune, quiet,
                    as_json):
    """Compute the vectors meaning search (hybrid and semantic modes) uses, for every study
    whose text has none yet. Stored in the index folder (vectors.sqlite3, and vectors/, which
    searches map) and kept across rebuilds; searches use them as they land. Stopping keeps
    what was done; a damaged vectors/ folder is written again from vectors.sqlite3.

    \b
    Example:
      trialsearch vectors --index index_data
      trialsearch vectors --index index_data --cluster tcp://10.0.0.1:8786
    """
    cluster = None
    try:
        if address:
            from ..cluster import Cluster

            cluster = Cluster(address)
        encoder = load_encoder(index_path, precision=precision, window=window, procs=procs,
                               threads=threads, cluster=cluster)
    except SemanticUnavailable as exc:
        if cluster is not None:
            cluster.close()
        if watch:  # beside a server, which then ranks by words: a note, not a failure
            click.echo(f"Meaning search is off: {exc}", err=True)
            return
        raise FatalError(str(exc)) from exc
    try:
        if watch:
            _watch(index_path, encoder, quiet)
            return
        if not (quiet or as_json) and hasattr(encoder, "where"):
            click.echo(f"Vectors: encoding in {encoder.where}", err=True)
        report = _fill_with_bar(index_path, encoder, quiet or as_json, prune)
    finally:
        if cluster is not None:
            cluster.close()
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
    # `serve` ends us with SIGTERM: unwind, so the encoder processes stop and the store says
    # that no filler is at work.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    report = (lambda report: None) if quiet else (lambda report: click.echo(_summary(report), err=True))
    try:
        watch_vectors(index_path, encoder, stop=stop, report=report,
                      say=lambda message: click.echo(f"Vectors: {message}", err=True))
    except KeyboardInterrupt:
        stop.set()
    finally:
        if hasattr(encoder, "close"):
            encoder.close()
