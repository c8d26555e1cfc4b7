"""One open `SearchIndex` per app (per gunicorn worker), opened on first use.

Opening lazily lets a server start before the first build and serve as soon as one lands; the
SearchIndex itself notices new generations and updates on every call (a stat of CURRENT).
`trialsearch serve` also warms each worker's index in the background as the worker starts.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app

from indexer import SearchIndex, open_index
from indexer.errors import IndexNotFoundError

EXTENSION = "trialsearch.index"
_opening = threading.Lock()


def init_app(app: Flask) -> None:
    """Reserve the app's index slot; nothing is opened until a request needs it."""
    app.extensions[EXTENSION] = None


def get_index() -> SearchIndex:
    """The current app's index. Raises IndexNotFoundError while none has been built."""
    index = current_app.extensions[EXTENSION]
    if index is None:
        with _opening:
            index = current_app.extensions[EXTENSION]
            if index is None:
                index = open_index(current_app.config["INDEX_PATH"])
                current_app.extensions[EXTENSION] = index
    return index


def warm_in_background(app: Flask) -> threading.Thread:
    """Open `app`'s index and read its caches (`SearchIndex.warm`) in a daemon thread, logging
    how long it took; with no index built yet, log that and leave the opening to a request."""

    def warm() -> None:
        with app.app_context():
            started = time.perf_counter()
            try:
                get_index().warm()
            except IndexNotFoundError as error:
                app.logger.info("nothing to warm: %s", error)
                return
            except Exception as error:  # noqa: BLE001 - warming is an optimisation; searches still work
                app.logger.warning("warming the index failed (%s); searches will read it on first use", error)
                return
            app.logger.info("index warmed in %.1f s", time.perf_counter() - started)

    thread = threading.Thread(target=warm, name="trialsearch-warm", daemon=True)
    thread.start()
    return thread
