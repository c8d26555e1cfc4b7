"""The web app under gunicorn (never Flask's debug server): what `trialsearch serve` runs."""

from __future__ import annotations

import logging
import os
import sys

from gunicorn.app.base import BaseApplication

from indexer.place_names import load_places
from indexer.search.meaning import preload_query_encoder

from . import create_app
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
    """gunicorn's post_worker_init hook: each worker limits its BLAS threads and reads its
    caches as it starts, not when its first visitor searches."""
    single_blas_thread()
    warm_in_background(worker.wsgi)


def end_worker(arbiter, worker) -> None:
    """gunicorn's worker_exit hook, the last thing a worker runs: it ends as multiprocessing's
    children do, with `os._exit` and the exit code it was leaving with. The interpreter's
    finalization would destroy what the first process made before forking, and the shared
    query encoder's ONNX Runtime session then waits forever for a thread of its pool that
    only the first process has: every stop took the 10 s graceful timeout and a SIGKILL, and
    a worker whose server was killed stayed behind, serving."""
    leaving = sys.exc_info()[1]  # gunicorn calls this in a `finally` as the worker leaves
    code = leaving.code if isinstance(leaving, SystemExit) else 1
    code = 0 if code is None else code  # sys.exit()'s meaning, as the interpreter would exit
    logging.shutdown()  # flush the access and error logs
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)


def single_blas_thread():
    """One BLAS thread in this process; returns the limiter (its `restore_original_limits()`
    undoes it). Workers already share the cores, one request each: a second OpenBLAS thread per
    worker only contends for them. Measured at 100k studies (hybrid, 10 queries): on idle cores
    one thread costs 3 ms of wall time at p50 (25.6 against 22.5 ms) and saves 40% of CPU time
    (26 against 43 ms); on busy cores (docs/benchmarks.md) the 10k vector scan took 8.0 ms with
    OpenBLAS's default 2 threads and 1.35 ms with one."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def run_server(index_path: str, *, host: str, port: int, workers: int = DEFAULT_WORKERS,
               threads: int = 1, timeout: int = 60, access_log: bool = True) -> None:
    """Serve the index at `index_path` on `host:port` until stopped; each worker warms its
    index as it starts. The places typed by name and the query encoder are loaded first, once,
    so the workers share them: each would otherwise take seconds over its first `near=Boston`
    under load, and hold its own 140 MB copy of the encoder."""
    load_places()
    preload_query_encoder(index_path)  # without the 'semantic' extra, the workers say why not
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
        "worker_exit": end_worker,
    }).run()
