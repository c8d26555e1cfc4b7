"""`trialsearch serve`: the web app under gunicorn (never Flask's debug server), building the
index first when there is none, so a fresh install serves the sample corpus in one command."""

from __future__ import annotations

import errno
import os
import socket

import click
from gunicorn.app.base import BaseApplication

from indexer.cli import FatalError, index_option, print_report, require_existing
from indexer.errors import IndexNotFoundError
from indexer.search import open_index
from indexer.store import build_index

from . import create_app
from .config import config_from_env
from .live_index import warm_in_background

DEFAULT_WORKERS = min(2 * (os.cpu_count() or 1) + 1, 8)  # gunicorn's rule of thumb, capped


class GunicornServer(BaseApplication):
    """gunicorn running `create_app(index_path)` with the given settings."""

    def __init__(self, index_path: str, options: dict):
        self.index_path = index_path
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # gunicorn >= 25.1 opens a control socket at one fixed path per user; two servers (or
        # a server and a test run) would fight over it, and nothing here uses it.
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self):
        return create_app(index_path=self.index_path)


def warm_worker(worker) -> None:
    """gunicorn's post_worker_init hook: each worker reads its caches as it starts, not when
    its first visitor searches."""
    warm_in_background(worker.wsgi)


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


def index_exists(index_path: str) -> bool:
    """Whether a built index is at `index_path`."""
    try:
        open_index(index_path).close()
    except IndexNotFoundError:
        return False
    return True


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
def serve_command(index_path, host, port, workers, threads, timeout, build, access_log):
    """Serve the search page, JSON API and widget with gunicorn.

    \b
    Example:
      trialsearch serve --index index_data --port 8000
    """
    require_free_port(host, port)  # before a build that may take minutes
    if not index_exists(index_path):
        if not build:
            raise click.ClickException(f"no index at {index_path}; run `trialsearch build` first")
        sources = config_from_env()["SOURCES"]
        click.echo(f"No index at {index_path}; building it from {', '.join(sources)} …", err=True)
        require_existing(sources)
        print_report(build_index(sources, index_path), "Indexed", as_json=False, strict=False)
    click.echo(f"Serving {index_path} on http://{host}:{port}/ with {workers} workers", err=True)
    GunicornServer(str(index_path), {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "graceful_timeout": 10,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "limit_request_line": 8190,  # gunicorn's maximum; longer URLs get 414
        "post_worker_init": warm_worker,
    }).run()
