"""Fuzzy lookups in an index's vocabulary: the words of a field within an edit distance of a
typed word, for `word~` queries and "did you mean".

Whoosh answers these with a pure-Python edit distance against every word that shares the
prefix on a multi-segment index (about 90 ms a word and field on a 4,000-study index, six
fields per bare word, more as the vocabulary grows), and with a Levenshtein automaton on a
single segment, which misses words its own definition admits (`stm`~1 does not find `sti`).
Here each field's words are read once per reader into a sorted list, the prefix is found by
bisection, and Whoosh's distance (optimal string alignment: Damerau-Levenshtein without
repeated edits of a substring) is computed by rapidfuzz in C.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Iterator

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh import spelling


class Vocabulary:
    """The sorted words of each field of one reader, loaded on first use."""

    def __init__(self, reader):
        self.reader = reader
        self._words: dict[str, list[str]] = {}

    def words(self, fieldname: str) -> list[str]:
        """Every word of `fieldname`, sorted as Whoosh sorts terms (by code point)."""
        if fieldname not in self._words:
            field = self.reader.schema[fieldname]
            self._words[fieldname] = [field.from_bytes(b) for b in self.reader.lexicon(fieldname)]
        return self._words[fieldname]

    def within(self, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        """The words of `fieldname` that start with `text[:prefix]` and are at most `maxdist`
        edits from `text`, sorted (what Whoosh's `IndexReader.terms_within` defines)."""
        return sorted(word for word, _ in self.distances(fieldname, text, maxdist, prefix))

    def distances(self, fieldname: str, text: str, maxdist: int,
                  prefix: int = 0) -> list[tuple[str, int]]:
        """(word, edit distance) for each word `within` finds."""
        words = self.words(fieldname)
        start = text[:prefix]
        lo = bisect_left(words, start)
        hi = bisect_left(words, start + "\U0010ffff", lo) if start else len(words)
        matches = process.extract(text, words[lo:hi], scorer=OSA.distance,
                                  score_cutoff=maxdist, limit=None)
        return [(word, int(distance)) for word, distance, _ in matches]


class VocabularyCorrector(spelling.Corrector):
    """"Did you mean" from a `Vocabulary`: the nearest word, and among the nearest the most
    frequent (the ranking Whoosh's `ReaderCorrector` documents; its code ranks every
    candidate as if at the maximum distance, so `exosme` became `exosomes`, not `exosome`)."""

    def __init__(self, vocabulary: Vocabulary, fieldname: str):
        self.vocabulary = vocabulary
        self.fieldname = fieldname

    def _suggestions(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[float, str]]:
        frequency = self.vocabulary.reader.frequency
        for word, distance in self.vocabulary.distances(self.fieldname, text, maxdist, prefix):
            yield 0 - (distance + (1.0 / (frequency(self.fieldname, word) or 1) * 0.5)), word
