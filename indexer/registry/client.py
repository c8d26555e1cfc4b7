"""A polite HTTP client for the ClinicalTrials.gov API v2 `/studies` endpoint.

Requests are spaced to stay under the service's rate limit, and transient failures (429, 5xx,
timeouts, connections dropped mid-response, truncated bodies) are retried with exponential
backoff and jitter. Anything else, or a failure that outlasts the retries, is an ApiError.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version

import requests

from ..errors import TrialsearchError

DEFAULT_API_URL = "https://clinicaltrials.gov/api/v2"
API_URL_ENV = "TRIALSEARCH_API_URL"
MAX_PAGE_SIZE = 1000
# Requests per minute: about what the service tolerates (it publishes no limit, so stay polite).
DEFAULT_RATE = 50

# The `filter.overallStatus` values the API accepts.
STATUSES = (
    "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
    "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
)


class ApiError(TrialsearchError):
    """A request to the API failed for good: refused, unreachable, or failing after every
    retry. The message says what happened and what to do."""


class OfflineError(ApiError):
    """The API host could not be reached at all (no network, wrong --api-url)."""


class RefusedError(ApiError):
    """The API answered a request with a client error (a 4xx other than 429)."""


class _Transient(Exception):
    """A failure a retry may cure; `wait` is the server's Retry-After, if it sent one."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` per request, delays starting at `backoff` seconds and
    doubling up to `max_delay` (a server's Retry-After is honoured up to `max_delay` too), and
    the per-request `timeout` in seconds."""

    attempts: int = 6
    backoff: float = 2.0
    max_delay: float = 120.0
    timeout: float = 60.0

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based): exponential, jittered so
        many clients that failed together do not come back together."""
        ceiling = min(self.max_delay, self.backoff * 2 ** (retry - 1))
        return random.uniform(ceiling / 2, ceiling)


def search_params(*, query: str | None = None, condition: str | None = None,
                  statuses=(), since: date | None = None,
                  page_size: int = MAX_PAGE_SIZE) -> dict[str, str]:
    """The `/studies` query parameters for a search (without the page token)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise TrialsearchError(f"page size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
    params = {"format": "json", "pageSize": str(page_size)}
    if query:
        params["query.term"] = query
    if condition:
        params["query.cond"] = condition
    if statuses:
        params["filter.overallStatus"] = ",".join(s.upper() for s in statuses)
    if since:
        params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
    return params


class _RateLimiter:
    """Spaces request starts at least 60/rate seconds apart."""

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise TrialsearchError(f"the rate must be a positive number of requests per minute, "
                           f"not {per_minute}")
        self.interval = 60.0 / per_minute
        self.next_start = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_start:
            time.sleep(self.next_start - now)
            now = self.next_start
        self.next_start = now + self.interval


def _user_agent() -> str:
    try:
        return f"trialsearch/{version('trialsearch')}"
    except PackageNotFoundError:
        return "trialsearch"


def _root_cause(exc: BaseException) -> str:
    """The innermost OS-level reason ("Connection refused", "Name or service not known")."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def _retry_after(response: requests.Response) -> float | None:
    """The Retry-After header in seconds (it may be a number or an HTTP date)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class CtgovClient:
    """Fetches `/studies` pages from `api_url`, rate-limited and with retries.

    `retries` counts the retries made so far (for reports).
    """

    def __init__(self, api_url: str = DEFAULT_API_URL, *, rate_per_minute: float = DEFAULT_RATE,
                 retry: RetryPolicy | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.retries = 0
        self._limiter = _RateLimiter(rate_per_minute)
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": _user_agent(), "Accept": "application/json"})
        self._reached = False  # has the server ever answered this client?

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def __enter__(self) -> CtgovClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def studies_page(self, params: dict[str, str], page_token: str | None = None) -> dict:
        """One page of `/studies`: `{"studies": [...], "nextPageToken": ..., "totalCount": ...}`.

        The first page (no token) asks for the total count, for progress estimates.
        """
        params = dict(params)
        if page_token:
            params["pageToken"] = page_token
        else:
            params["countTotal"] = "true"
        url = f"{self.api_url}/studies"
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._get(url, params)
            except _Transient as exc:
                failure = exc
            if attempt < self.retry.attempts:
                self.retries += 1
                time.sleep(self.retry.delay(attempt) if failure.wait is None
                           else min(self.retry.max_delay, failure.wait))
        raise ApiError(f"{url} kept failing ({failure}); gave up after "
                       f"{self.retry.attempts} attempt{'s' if self.retry.attempts > 1 else ''}")

    def _get(self, url: str, params: dict[str, str]) -> dict:
        """One attempt. Raises _Transient for what a retry may cure, ApiError otherwise."""
        self._limiter.wait()
        try:
            response = self._session.get(url, params=params, timeout=self.retry.timeout)
        except requests.Timeout:
            raise _Transient(f"no answer within {self.retry.timeout:g} s") from None
        except requests.exceptions.ChunkedEncodingError:
            raise _Transient("connection dropped mid-response") from None
        except requests.ConnectionError as exc:
            # Never reached the host: offline or a wrong URL, and retrying will not help.
            # Once the server has answered, a refused or dropped connection is transient.
            if not self._reached:
                raise OfflineError(
                    f"cannot reach {self.api_url} ({_root_cause(exc)}); check the network "
                    f"connection, or --api-url / {API_URL_ENV}"
                ) from None
            raise _Transient(f"connection lost: {_root_cause(exc)}") from None
        except requests.RequestException as exc:  # a garbled transfer
            raise _Transient(f"broken response: {type(exc).__name__}") from None
        self._reached = True
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code} {response.reason}",
                             _retry_after(response))
        if response.status_code != 200:
            detail = " ".join(response.text.split())[:200]
            raise RefusedError(f"the API refused the request: HTTP {response.status_code} "
                           f"{response.reason}: {detail}")
        try:
            page = response.json()
        except ValueError:  # a body cut short without a Content-Length to notice it
            raise _Transient("response is not complete JSON") from None
        if not isinstance(page, dict) or not isinstance(page.get("studies", []), list):
            raise ApiError(f"{url} did not return a page of studies; is the API URL right?")
        return page
