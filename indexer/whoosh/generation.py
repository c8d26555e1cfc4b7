"""A generation folder's Whoosh index: created, opened one way, and the record each of its
documents stores read back.

Every reader and writer of a generation opens it through `open_generation` (or
`open_searcher`), so an index that cannot be opened (a damaged or foreign table of contents, a
missing segment file) raises the same `IndexUnreadableError`, "rebuild it", wherever it is
found.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from whoosh import index as whoosh_index

from ..errors import unreadable_index
from ..model import Study

# The stored field holding each study's whole record as JSON (index/schema.py writes it).
RECORD_FIELD = "record"


def create_generation(folder: str | os.PathLike, schema):
    """A new, empty Whoosh index with `schema` in the existing folder `folder`."""
    return whoosh_index.create_in(str(folder), schema)


def open_generation(folder: str | os.PathLike):
    """The Whoosh index in generation `folder`. Raises IndexUnreadableError (naming the index
    folder, `folder`'s parent) when it cannot be opened."""
    with _unreadable(folder):
        return whoosh_index.open_dir(str(folder))


def open_searcher(folder: str | os.PathLike):
    """A Whoosh searcher of generation `folder`, its segments' files open; IndexUnreadableError
    when the index or a segment cannot be opened. Close it after use."""
    ix = open_generation(folder)
    with _unreadable(folder):
        return ix.searcher()


@contextlib.contextmanager
def _unreadable(folder: str | os.PathLike) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - unpickling a table of contents raises anything
        raise unreadable_index(Path(folder).parent, f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def stored_record(stored) -> dict:
    """The record a document stores, as `Study.to_dict` gave it (`stored`: its stored fields,
    as a Whoosh reader or hit gives them). A results page reads it without making a Study."""
    return json.loads(stored[RECORD_FIELD])


def decode_study(stored) -> Study:
    """The study a document stores (`stored`: its stored fields, as a Whoosh reader or hit
    gives them)."""
    return Study.from_dict(stored_record(stored))
