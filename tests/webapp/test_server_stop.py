"""A server with meaning search stops cleanly. On SIGTERM every worker ends by itself at once
(its shared query encoder, made before the fork, once made each wait the 10 s graceful timeout
for a SIGKILL); killed with -9, the server leaves nothing behind: its workers notice and leave,
and its vector filler goes with it even when the server dies while the filler is starting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from live import free_port, wait_until_up

pytestmark = [pytest.mark.slow, pytest.mark.live_server]

STOPPED_WITHIN = 5.0  # seconds; the graceful timeout the workers used to wait out is 10
# `--timeout 5` (the least): a sync worker looks for a new parent every timeout / 2 seconds.
WORKER_TIMEOUT = 5


def serve(index: Path, log, *, filler: bool) -> tuple[subprocess.Popen, str]:
    """`trialsearch serve` on a free port with two workers (and the vector filler)."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("trialsearch")), "serve", "--index", str(index),
               "--port", str(port), "--workers", "2", "--timeout", str(WORKER_TIMEOUT),
               "--no-build", "--no-access-log", "--vectors" if filler else "--no-vectors"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "TRIALSEARCH_VECTORS": "1" if filler else "0"})
    return process, f"http://127.0.0.1:{port}"


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Those of `processes` still running after `seconds`."""
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return alive


def searched_server(index: Path, log) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """A server without the filler that has answered a hybrid search, and its two workers."""
    process, base_url = serve(index, log, filler=False)
    wait_until_up(f"{base_url}/api/search?q=breast+cancer", process, log)
    workers = psutil.Process(process.pid).children()
    assert len(workers) == 2
    return process, workers


def test_a_server_with_meaning_search_stops_at_once(vector_index):
    with tempfile.TemporaryFile("w+") as log:
        process, workers = searched_server(vector_index, log)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        took = time.monotonic() - started
        log.seek(0)
        output = log.read()
    assert took < STOPPED_WITHIN, output[-3000:]
    assert "SIGKILL" not in output, output[-3000:]
    assert output.count("Worker exiting") == 2, output[-3000:]
    assert not gone_within(workers, 1)


def test_the_workers_of_a_server_killed_with_minus_9_leave(vector_index):
    with tempfile.TemporaryFile("w+") as log:
        process, workers = searched_server(vector_index, log)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        left = stop_all(gone_within(workers, 3 * WORKER_TIMEOUT))
        log.seek(0)
        output = log.read()
    assert not left, output[-3000:]
    assert output.count("Parent changed, shutting down") == 2, output[-3000:]


def test_a_server_killed_as_its_filler_starts_takes_the_filler_with_it(vector_index):
    with tempfile.TemporaryFile("w+") as log:
        process, _ = serve(vector_index, log, filler=True)
        server = psutil.Process(process.pid)
        deadline = time.monotonic() + 30
        fillers = []
        while not fillers and time.monotonic() < deadline:
            fillers = [child for child in server.children() if "--watch" in child.cmdline()]
        assert fillers, "no vector filler started"
        # Killed before the filler has loaded its encoder, let alone looked at its parent.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        left = stop_all(gone_within(fillers, 10))
        log.seek(0)
        output = log.read()
    assert not left, output[-3000:]


def stop_all(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Kill `processes` (those a failing test left running) and return them."""
    for process in processes:
        process.kill()
    return processes
