"""Downloading studies from the ClinicalTrials.gov API v2 into JSON Lines files that
`build`/`update` read, resumably.

Layout of an output folder::

    out/
      studies-0001.jsonl     page 1: one study per line, as the API returned it
      studies-0002.jsonl     ...
      .fetch-state.json      the search, the next page token, pages and files done

Each page is written to a hidden temp file and renamed into place, and the state is saved
only after that, so an interrupted fetch never leaves a half-written line and a re-run
continues from the next page (at worst re-fetching the one page whose state was not saved,
which then overwrites its own file). Hidden files are ones the readers skip.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from ..errors import TrialsearchError
from ..index.layout import write_atomically
from .client import (
    DEFAULT_API_URL,
    DEFAULT_RATE,
    MAX_PAGE_SIZE,
    ApiError,
    CtgovClient,
    RefusedError,
    RetryPolicy,
    search_params,
)

STATE_FILE = ".fetch-state.json"
PAGE_FILE = "studies-{:04d}.jsonl"

# progress(studies in the page just saved, studies this run expects in all or None).
FetchProgress = Callable[[int, "int | None"], None]


@dataclass
class FetchReport:
    """What a fetch did in this run, and what its folder now holds in all."""

    out_dir: str
    studies: int = 0  # fetched by this run
    pages: int = 0  # requested by this run
    retries: int = 0
    seconds: float = 0.0
    total_studies: int = 0  # in the folder, earlier runs included
    files: list[str] = field(default_factory=list)
    expected: int | None = None  # the API's count of matching studies
    resumed: bool = False  # an earlier run of this fetch had saved pages
    started_at: str = ""  # when the fetch's first run began (UTC, ISO 8601)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {**asdict(self), "seconds": round(self.seconds, 3)}


def _load_state(out: Path, search: dict) -> dict:
    """The saved state of this search in `out`, or a fresh one. Refuses a folder that holds
    pages of a different search, or page files of unknown origin, which a fetch would
    otherwise mix or overwrite."""
    try:
        state = json.loads((out / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        state = None
    except (OSError, ValueError) as exc:
        raise TrialsearchError(f"cannot read {out / STATE_FILE} ({exc}); delete {out} "
                               "to start the fetch afresh") from None
    if state is not None and state.get("search") == search:
        return state
    if state is None and any(out.glob("studies-*.jsonl")):
        raise TrialsearchError(f"{out} already holds studies-*.jsonl files from elsewhere; "
                               "choose an empty --out folder")
    if state is not None and state.get("pages"):
        raise TrialsearchError(
            f"{out} holds a different fetch ({json.dumps(state.get('search'))}); "
            "choose another --out folder, or delete it to start afresh")
    # A fetch that saved no page (it was offline, say) has nothing worth keeping, bar a
    # first page file its crash may have left.
    for leftover in out.glob("studies-*.jsonl"):
        leftover.unlink()
    state = {"search": search, "started_at": datetime.now(UTC).isoformat(
        timespec="seconds"), "next_page_token": None, "pages": 0, "studies": 0,
        "files": [], "expected": None, "done": False}
    _save_state(out, state)  # claims the folder before its first page file appears
    return state


def fetch_studies(out_dir: str | os.PathLike, *, query: str | None = None,
                  condition: str | None = None, statuses=(), since: date | None = None,
                  api_url: str = DEFAULT_API_URL, page_size: int = MAX_PAGE_SIZE,
                  rate_per_minute: float = DEFAULT_RATE, retry: RetryPolicy | None = None,
                  progress: FetchProgress | None = None) -> FetchReport:
    """Download the studies matching the filters into `out_dir` as `studies-NNNN.jsonl`.

    `query` is an API search expression (`query.term`), `condition` a condition search
    (`query.cond`), `statuses` overall statuses, `since` keeps studies whose last update was
    posted on or after that date. Re-running the same fetch into the same folder resumes it;
    a completed one fetches nothing. Raises OfflineError when the API cannot be reached and
    ApiError (saying how to resume) when it keeps failing.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    params = search_params(query=query, condition=condition, statuses=statuses, since=since,
                           page_size=page_size)
    with CtgovClient(api_url, rate_per_minute=rate_per_minute, retry=retry) as client:
        out.mkdir(parents=True, exist_ok=True)
        state = _load_state(out, {"api_url": client.api_url, "params": params})
        report = FetchReport(out_dir=str(out), resumed=state["pages"] > 0,
                             started_at=state["started_at"])
        already = state["studies"]
        try:
            while not state["done"]:
                page = client.studies_page(params, state["next_page_token"])
                count = _save_page(out, state, page)
                report.studies += count
                report.pages += 1
                if progress:
                    expected = state["expected"]
                    progress(count, None if expected is None else max(0, expected - already))
        except ApiError as exc:
            if not state["pages"]:
                raise
            if isinstance(exc, RefusedError):
                hint = f"the saved page token may have expired; delete {out} to start afresh"
            else:
                hint = (f"{state['pages']} pages ({state['studies']} studies) are saved in "
                        f"{out}; run the same command again to resume from page "
                        f"{state['pages'] + 1}")
            raise type(exc)(f"{exc}. {hint}") from None
        finally:
            report.retries = client.retries
    report.total_studies = state["studies"]
    report.files = list(state["files"])
    report.expected = state["expected"]
    report.seconds = time.perf_counter() - started
    return report


def _save_page(out: Path, state: dict, page: dict) -> int:
    """Write one page's studies and then the state that moves past it; returns the count."""
    studies = page.get("studies", [])
    number = state["pages"] + 1
    if studies:
        name = PAGE_FILE.format(number)
        write_atomically(out / name, "".join(
            json.dumps(study, ensure_ascii=False) + "\n" for study in studies))
        if name not in state["files"]:
            state["files"].append(name)
    if state["expected"] is None and isinstance(page.get("totalCount"), int):
        state["expected"] = page["totalCount"]
    token = page.get("nextPageToken")
    state.update(pages=number, studies=state["studies"] + len(studies),
                 next_page_token=token, done=not token)
    _save_state(out, state)
    return len(studies)


def _save_state(out: Path, state: dict) -> None:
    write_atomically(out / STATE_FILE, json.dumps(state, indent=2, ensure_ascii=False))
