"""One open `SearchIndex` per app (per gunicorn worker), opened on first use.

Opening lazily lets a server start before the first build and serve as soon as one lands; the
SearchIndex itself notices new generations and updates on every call (a stat of CURRENT).
"""

from __future__ import annotations

import threading

from flask import Flask, current_app

from indexer import SearchIndex, open_index

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
