"""Errors the library raises; the CLI and web app turn them into messages and status codes."""

from __future__ import annotations


class TrialsearchError(Exception):
    """Base class: a problem a user can act on, with a message that says what and where."""


class IndexNotFoundError(TrialsearchError):
    """No index at the given path (never built, or the path is wrong)."""


class IndexUnreadableError(IndexNotFoundError):
    """An index is there but cannot be opened (damaged, or written by an incompatible
    version); it must be rebuilt."""


def unreadable_index(root, reason: str) -> IndexUnreadableError:
    """The error for an index at `root` that cannot be read because of `reason`."""
    return IndexUnreadableError(f"the index at {root} cannot be read ({reason}); "
                                f"rebuild it: trialsearch build SOURCE --index {root}")


class IndexLockedError(TrialsearchError):
    """Another build/update/delete holds the index's write lock."""


class IndexWriteError(TrialsearchError):
    """Writing the index failed (disk full, read-only directory, ...); the old index still serves."""


class NoRecordsError(TrialsearchError):
    """A build read no valid record, so the live index was left as it was."""


class QueryError(TrialsearchError):
    """A query or search parameter is invalid. `param` names the offending parameter."""

    def __init__(self, message: str, param: str = "q") -> None:
        super().__init__(message)
        self.param = param
