"""`trialsearch serve`: the web app under gunicorn, building the index first when there is
none, so a fresh install serves the bundled sample in one command."""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys

import click

from webapp.config import config_from_env
from webapp.server import DEFAULT_WORKERS, run_server

from ..index.layout import generation_path
from ..index.store import build_index
from .main import FatalError, index_option, print_report, require_existing
from .vectors import vectors_option

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def require_free_port(host: str, port: int) -> None:
    """Fail at once when `host:port` cannot be listened on: gunicorn would retry for 5 s,
    logging an error each time, before giving up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as gunicorn chooses
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As gunicorn sets it: a port left in TIME_WAIT is free, one being listened on is not.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise FatalError(f"port {port} on {host} is in use") from None
        raise FatalError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@click.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=DEFAULT_WORKERS, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; each keeps its own open searcher.")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker (gthread workers when above 1).")
@click.option("--timeout", default=60, show_default=True, type=click.IntRange(5, 3600),
              help="Seconds before a stuck worker is restarted.")
@click.option("--build/--no-build", default=True, show_default=True,
              help="Build the index from TRIALSEARCH_SOURCES (default: the sample corpus) "
                   "when none exists.")
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@vectors_option
def serve_command(index_path, host, port, workers, threads, timeout, build, access_log, vectors):
    """Serve the search page, JSON API and widget with gunicorn.

    Beside the server, a low-priority process computes the vectors meaning search uses, for
    the studies that have none and again whenever the index changes (--no-vectors: not).

    \b
    Example:
      trialsearch serve --index index_data --port 8000
    """
    require_free_port(host, port)  # before a build that may take minutes
    if generation_path(index_path) is None:
        if not build:
            raise FatalError(f"no index at {index_path}; run `trialsearch build` first")
        sources = config_from_env()["SOURCES"]
        click.echo(f"No index at {index_path}; building it from {', '.join(sources)} …", err=True)
        require_existing(sources)
        print_report(build_index(sources, index_path), "Indexed", as_json=False, strict=False)
    click.echo(f"Serving {index_path} on http://{host}:{port}/ with {workers} workers", err=True)
    filler = None if vectors is False else start_vector_filler(index_path)
    try:
        run_server(index_path, host=host, port=port, workers=workers, threads=threads,
                   timeout=timeout, access_log=access_log)
    finally:
        if filler is not None:
            filler.terminate()
            filler.wait(timeout=10)


def start_vector_filler(index_path: str) -> subprocess.Popen:
    """`trialsearch vectors --watch` as a child at a lower CPU priority (nice 10), so searches come
    first; it stops by itself when this process is gone. Without the 'semantic' extra it says
    so once and exits, and the server ranks by words."""
    server = os.getpid()
    end_with_server = _parent_death_signal()

    def in_the_child() -> None:
        os.nice(10)
        end_with_server()
        if os.getppid() != server:  # the server died before the line above
            os._exit(0)

    return subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "vectors", "--watch", "--index",
         str(index_path)],
        preexec_fn=in_the_child, stdin=subprocess.DEVNULL)


def _parent_death_signal():
    """A call that has Linux send the calling process SIGTERM when its parent dies (prctl's
    PR_SET_PDEATHSIG), or one that does nothing elsewhere. `vectors --watch` also notices a new
    parent by itself, but only once it has loaded its encoder: seconds in which a server killed
    with -9 would leave it behind for good."""
    if not sys.platform.startswith("linux"):
        return lambda: None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not after the fork
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
