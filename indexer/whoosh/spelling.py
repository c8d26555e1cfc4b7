"""Whoosh's "did you mean" over candidates trialsearch finds itself.

Whoosh's `Corrector.suggest` keeps the best-scored candidates (never the typed word itself);
it asks a subclass for them through a private hook, `_suggestions`, which only this package
overrides.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh import spelling


class Corrector(spelling.Corrector):
    """Whoosh's spelling corrector, its candidates from `candidates` (for a subclass to give)."""

    def candidates(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[float, str]]:
        """(score, word) for each word within `maxdist` edits of `text` that shares its first
        `prefix` letters; the higher the score, the better the suggestion."""
        raise NotImplementedError

    def _suggestions(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[float, str]]:
        return self.candidates(text, maxdist, prefix)
