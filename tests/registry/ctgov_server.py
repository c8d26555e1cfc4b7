"""A fake ClinicalTrials.gov API v2 on 127.0.0.1 for the fetch and sync tests.

`GET /api/v2/studies` serves the given study objects in pages, like the real endpoint: honours
`pageSize` (at most 1000), `pageToken` (opaque), `countTotal`, `query.term`, `query.cond`,
`filter.overallStatus` and `filter.advanced=AREA[LastUpdatePostDate]RANGE[date,MAX]`. Faults
can be queued for the next requests, and one page can be made to fail until told otherwise.
Every request is logged with its parameters and what the server did.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RANGE = re.compile(r"AREA\[LastUpdatePostDate\]RANGE\[(\d{4}-\d{2}-\d{2}),MAX\]")


@dataclass
class Request:
    """One request the server received: its parameters and the outcome ("ok" or a fault)."""

    params: dict[str, str]
    outcome: str = "ok"
    page: int | None = None  # 1-based page of the search it asked for


@dataclass
class FakeApi:
    """The server's state; tests change `studies`, `faults` and `failing_page` between runs."""

    studies: list[dict]
    # Consumed one per request, in order: "429" (Retry-After: 0), "500", "slow" (answers after
    # slow_seconds), "drop" (closes the connection halfway through the body) or "ok".
    faults: list[str] = field(default_factory=list)
    failing_page: int | None = None  # this page answers 500 for as long as it is set
    slow_seconds: float = 1.0
    log: list[Request] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)  # page token -> offset
    url: str = ""

    def served_pages(self) -> list[int]:
        """The pages answered successfully, in order."""
        return [r.page for r in self.log if r.outcome == "ok"]

    def select(self, params: dict[str, str]) -> list[dict]:
        """The studies matching a request's filters, in a stable order."""
        found = self.studies
        if "query.term" in params:
            term = params["query.term"].lower()
            found = [s for s in found if term in json.dumps(s).lower()]
        if "query.cond" in params:
            cond = params["query.cond"].lower()
            found = [s for s in found if any(cond in c.lower() for c in _conditions(s))]
        if "filter.overallStatus" in params:
            wanted = set(params["filter.overallStatus"].split(","))
            found = [s for s in found if _status_module(s).get("overallStatus") in wanted]
        if "filter.advanced" in params:
            start = RANGE.fullmatch(params["filter.advanced"]).group(1)
            found = [s for s in found if _last_update(s) and _last_update(s) >= start]
        return found


def _status_module(study: dict) -> dict:
    return study.get("protocolSection", {}).get("statusModule", {})


def _last_update(study: dict) -> str | None:
    return _status_module(study).get("lastUpdatePostDateStruct", {}).get("date")


def _conditions(study: dict) -> list[str]:
    return study.get("protocolSection", {}).get("conditionsModule", {}).get("conditions", [])


class _Handler(BaseHTTPRequestHandler):
    api: FakeApi  # set on the subclass each server makes

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        request = Request(params)
        self.api.log.append(request)
        if parts.path != "/api/v2/studies":
            return self._send(404, b"Not Found", "text/plain")
        try:
            size = int(params.get("pageSize", "10"))
            offset = self.api.tokens.get(params.get("pageToken"), 0)
            if "pageToken" in params and params["pageToken"] not in self.api.tokens:
                raise ValueError(f"invalid pageToken {params['pageToken']}")
            if not 1 <= size <= 1000:
                raise ValueError(f"pageSize must be between 1 and 1000, got {size}")
            if "filter.advanced" in params and not RANGE.fullmatch(params["filter.advanced"]):
                raise ValueError(f"unsupported filter.advanced {params['filter.advanced']}")
        except ValueError as exc:
            request.outcome = "400"
            return self._send(400, f"Bad request: {exc}".encode(), "text/plain")
        request.page = offset // size + 1
        fault = self.api.faults.pop(0) if self.api.faults else None
        if request.page == self.api.failing_page:
            fault = "500"
        if fault and fault != "ok":
            request.outcome = fault
        if fault == "429":
            return self._send(429, b"Too Many Requests", "text/plain", {"Retry-After": "0"})
        if fault == "500":
            return self._send(500, b"Internal Server Error", "text/plain")
        if fault == "slow":
            time.sleep(self.api.slow_seconds)  # the client has given up by now
        matching = self.api.select(params)
        page = {"studies": matching[offset:offset + size]}
        if offset + size < len(matching):
            token = secrets.token_urlsafe(12)
            self.api.tokens[token] = offset + size
            page["nextPageToken"] = token
        if params.get("countTotal") == "true":
            page["totalCount"] = len(matching)
        body = json.dumps(page).encode()
        if fault == "drop":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return None
        return self._send(200, body, "application/json")

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client timed out and went away
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # dropped sockets are expected
        pass


def start(studies: list[dict]) -> tuple[FakeApi, _Server]:
    """Serve `studies` on a free port of 127.0.0.1 in a thread; `api.url` is the base URL."""
    api = FakeApi(list(studies))
    handler = type("Handler", (_Handler,), {"api": api})
    server = _Server(("127.0.0.1", 0), handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    # A short poll keeps shutdown() quick.
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return api, server
