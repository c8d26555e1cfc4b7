"""Real processes for tests: a gunicorn server on 127.0.0.1 and headless Chromium.

Used by the web app tests (tests/webapp/) and the reliability tests (tests/index/)::

    with gunicorn_server(index_path, env={"TRIALSEARCH_ADMIN_TOKEN": "x"}) as base_url:
        requests.get(f"{base_url}/api/search", params={"q": "exosomes"})

    with chrome() as driver:
        driver.get(base_url)

    with tile_server() as (tile_url, requested):  # a map tile for any path; paths asked
        ...
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
START_TIMEOUT = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: IO[str] | None = None,
                  timeout: float = START_TIMEOUT) -> None:
    """Poll `url` until it answers; fail with the server's output (`log`) if it dies or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = ""
            if log is not None:
                log.seek(0)
                output = log.read()
            raise RuntimeError(f"server exited with {process.returncode}:\n{output[-3000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still warming
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process (gunicorn shuts its workers down on SIGTERM)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def gunicorn_server(index_path: str | os.PathLike, *, env: dict[str, str] | None = None,
                    workers: int = 2, threads: int = 1, build: bool = False,
                    log: IO[str] | None = None, access_log: bool = False) -> Iterator[str]:
    """Run `trialsearch serve` (gunicorn) on a random free port; yield its base URL. With
    `build`, serve builds the sample index first when `index_path` holds none; the server's
    output (with gunicorn's access log when `access_log`) goes to `log` when given."""
    port = free_port()
    trialsearch = Path(sys.executable).with_name("trialsearch")
    command = [str(trialsearch), "serve", "--index", str(index_path), "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--threads", str(threads),
               "--build" if build else "--no-build", "--access-log" if access_log else "--no-access-log"]
    # The server's output goes to a file: a pipe nobody reads fills up and blocks the workers.
    with contextlib.nullcontext(log) if log else tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, env={**os.environ, **(env or {})}, text=True,
                                   stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base_url}/api/health", process, log)
            yield base_url
        finally:
            stop(process)


@contextlib.contextmanager
def static_server(folder: str | os.PathLike) -> Iterator[str]:
    """Serve `folder` with Python's http.server on another port: a different origin."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                                "127.0.0.1", "--directory", str(folder)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base_url + "/", process)
        yield base_url
    finally:
        stop(process)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG image of one colour."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@contextlib.contextmanager
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A map tile server on a free port of 127.0.0.1, in a thread: every GET gets one pale
    256-pixel tile. Yields its URL template (for TRIALSEARCH_TILE_URL) and the list of paths
    it was asked for, which grows as a browser loads tiles."""
    tile, requested = png(256, 256, (225, 232, 238)), []

    class Tiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args):  # quiet: the tests read `requested`
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tiles)  # any free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{{z}}/{{x}}/{{y}}.png", requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def chrome(width: int = 1200, height: int = 900):
    """A headless Debian Chromium driven by Selenium; skips where Chromium is not installed."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("Debian chromium and chromium-driver are not installed (tests/run.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
