"""Keeping an index current: fetch the studies updated since the last sync from the
ClinicalTrials.gov API and upsert them.

The sync point is kept in the index root, beside the generations (a full build replaces those)::

    index_data/
      sync.json              {"next_since": "2024-06-08", "generation": "gen-...", ...}
      sync/since-2024-06-08/ the fetch in progress (removed once it is in the index)

Where a sync starts: `since` if given; else the last sync's point when it was recorded for the
live generation; else the day before the live generation was built (its records are assumed
to be no older than the build; pass `since` when they are). The point moves only after the
update succeeded, so an interrupted sync simply runs again, resuming its fetch.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import IndexLockedError, TrialsearchError
from ..index.layout import SYNC_FILE, SYNC_FOLDER, read_meta, require_generation, write_atomically, write_lock
from ..index.store import IndexReport, Progress, update_index
from .client import DEFAULT_API_URL, DEFAULT_RATE, MAX_PAGE_SIZE, RetryPolicy
from .fetch import FetchProgress, FetchReport, fetch_studies

# LastUpdatePostDate has day granularity and the registry's day is not ours; re-asking for
# one day costs little because upserts are idempotent.
OVERLAP = timedelta(days=1)


@dataclass
class SyncReport:
    """What a sync fetched and indexed, and where the next one starts."""

    since: date
    since_from: str
    next_since: date
    fetch: FetchReport
    index: IndexReport | None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "since": self.since.isoformat(),
            "since_from": self.since_from,
            "next_since": self.next_since.isoformat(),
            "fetch": self.fetch.to_dict(),
            "index": self.index.to_dict() if self.index else None,
            "seconds": round(self.seconds, 3),
        }


def read_sync_point(index_path: str | os.PathLike) -> dict | None:
    """The recorded sync point (`next_since`, `generation`, `synced_at`, ...), or None."""
    try:
        return json.loads((Path(index_path) / SYNC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _default_since(root: Path, generation: Path) -> tuple[date, str]:
    point = read_sync_point(root)
    # A point recorded for an older generation does not describe a rebuilt index.
    if point and point.get("generation") == generation.name and point.get("next_since"):
        return date.fromisoformat(point["next_since"]), "last sync"
    built = read_meta(generation).get("built_at")
    if not built:
        raise TrialsearchError(f"cannot tell when the index at {root} was built; "
                               "pass --since DATE")
    return datetime.fromisoformat(built).date() - OVERLAP, "index build"


@contextlib.contextmanager
def _sync_lock(root: Path):
    """One sync per index: two would share, and trample, the same fetch folder."""
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(write_lock(root / SYNC_FOLDER))
    except IndexLockedError:
        raise IndexLockedError(f"another `trialsearch sync` of {root} is running; "
                               "try again when it finishes") from None
    with stack:
        yield


def sync_index(index_path: str | os.PathLike, *, since: date | None = None,
               api_url: str = DEFAULT_API_URL, page_size: int = MAX_PAGE_SIZE,
               rate_per_minute: float = DEFAULT_RATE, retry: RetryPolicy | None = None,
               progress: FetchProgress | None = None, index_progress: Progress | None = None,
               wait: float = 0.0) -> SyncReport:
    """Fetch the studies whose last update was posted since the sync point, upsert them into
    the index at `index_path`, and record the new sync point.

    `progress` follows the fetch (see `fetch_studies`), `index_progress` the update; `wait`
    is how long to wait for the index's write lock. Raises IndexNotFoundError without an
    index, and the fetch's and update's errors (the sync point is then left as it was).
    """
    started = time.perf_counter()
    root = Path(index_path)
    generation = require_generation(root)
    since, since_from = (since, "--since") if since else _default_since(root, generation)
    folder = root / SYNC_FOLDER / f"since-{since.isoformat()}"
    with _sync_lock(root):
        fetched = fetch_studies(folder, since=since, api_url=api_url, page_size=page_size,
                                rate_per_minute=rate_per_minute, retry=retry, progress=progress)
        updated = None
        if fetched.total_studies:
            updated = update_index([folder], root, progress=index_progress, wait=wait)
        # The registry may have changed while we fetched: the next sync starts from the day
        # this fetch began (its first run, if it was resumed), less the overlap.
        next_since = datetime.fromisoformat(fetched.started_at).date() - OVERLAP
        point = {
            "next_since": next_since.isoformat(),
            "synced_at": fetched.started_at,
            "generation": updated.generation if updated else generation.name,
            "studies": fetched.total_studies,
            "api_url": api_url,
        }
        write_atomically(root / SYNC_FILE, json.dumps(point, indent=2))
        shutil.rmtree(folder)
    return SyncReport(since=since, since_from=since_from, next_since=next_since, fetch=fetched,
                      index=updated, seconds=time.perf_counter() - started)
