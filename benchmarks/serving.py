"""HTTP throughput and latency of `/api/search` under gunicorn (`trialsearch serve`), with
concurrent client threads each cycling through the query mix; then, for a third as long, the
same load with the location and eligibility filter cases (`queries.FILTER_CASES`)."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil

from .measure import load_average, summarize
from .queries import FILTER_CASES, MIX, PER_PAGE

CLIENTS = 8
WORKERS = 2
START_TIMEOUT = 120.0  # seconds for gunicorn to answer /api/health (a large index opens slowly)
FILTER_SHARE = 1 / 3  # the filter cases' load test lasts this share of the mix's
MIN_FILTER_SECONDS = 5.0


def unavailable() -> str | None:
    """None when `trialsearch serve --no-build` exists, else why this measure is skipped."""
    exe = shutil.which("trialsearch", path=str(Path(sys.executable).parent))
    if exe is None:
        return "the `trialsearch` command is not installed in this environment"
    helptext = subprocess.run([exe, "serve", "--help"], capture_output=True, text=True).stdout
    if "--no-build" not in helptext:
        return "`trialsearch serve --no-build` is not available yet"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _path(case) -> str:
    return "/api/search?" + urlencode(case.http_params(PER_PAGE))


def _get(port: int, path: str, timeout: float = 30.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"trialsearch serve exited with {server.returncode}")
        try:
            if _get(port, "/api/health", timeout=5) == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"trialsearch serve did not answer within {START_TIMEOUT:g} s")


def measure(index_dir: Path, seconds: float) -> dict:
    """Run CLIENTS threads against a fresh `trialsearch serve` on `index_dir` for `seconds`
    (after one warm-up pass per worker); returns requests/s, latency percentiles, errors, and
    the same for the filter cases under "filters"."""
    port = _free_port()
    exe = str(Path(sys.executable).parent / "trialsearch")
    server = subprocess.Popen(
        [exe, "serve", "--index", str(index_dir), "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(WORKERS), "--no-build", "--no-access-log",
         # No vector filler beside the server: it would encode the whole corpus while the
         # load test runs. An index with vectors is searched in hybrid mode (the default).
         "--no-vectors"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_up(port, server)
        paths = [_path(case) for case in MIX]
        filter_paths = [_path(case) for case in FILTER_CASES]
        for path in (paths + filter_paths) * WORKERS:  # each worker opens its searcher, warms
            _get(port, path)
        result = _load(port, paths, seconds)
        result.update(_worker_memory(server.pid))
        if filter_paths:
            try:
                result["filters"] = _load(port, filter_paths,
                                          max(MIN_FILTER_SECONDS, seconds * FILTER_SHARE))
                result["filters"].pop("load_avg")
            except RuntimeError as exc:  # the mix's figures stand; the report says what failed
                result["filters"] = {"error": str(exc)[:500]}
        return result
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _worker_memory(pid: int) -> dict:
    """The larger gunicorn worker's memory after the load: its RSS, and its private memory
    (USS), which is what one more worker adds (the index's memory-mapped arrays are shared
    pages, counted in every worker's RSS); {} where psutil cannot read them."""
    try:
        # gunicorn runs inside `trialsearch serve` (its master); the workers are forked from it.
        sizes = [child.memory_full_info() for child in psutil.Process(pid).children()
                 if "serve" in child.cmdline()]
    except psutil.Error:
        return {}
    if not sizes:
        return {}
    return {"worker_rss_mb": round(max(size.rss for size in sizes) / 2**20, 1),
            "worker_private_mb": round(max(size.uss for size in sizes) / 2**20, 1)}


def _load(port: int, paths: list[str], seconds: float) -> dict:
    """CLIENTS threads cycling through `paths` for `seconds`: requests/s, latency, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        i = offset
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                status = _get(port, path)
            except OSError as exc:
                status = repr(exc)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{path}: {status}")

    load_before = load_average()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k * 3,)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"no successful request; first errors: {errors[:3]}")
    return {
        "clients": CLIENTS, "workers": WORKERS, "seconds": round(elapsed, 1),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        **summarize(latencies), "errors": len(errors), "error_samples": errors[:3],
        "load_avg": [load_before, load_average()],
    }
