"""Fuzzy lookups in an index's vocabulary: the words of a field within an edit distance of a
typed word, for `word~` queries and "did you mean".

Whoosh answers these with a pure-Python edit distance against every word that shares the
prefix on a multi-segment index (about 90 ms a word and field on a 4,000-study index, six
fields per bare word, more as the vocabulary grows), and with a Levenshtein automaton on a
single segment, which misses words its own definition admits (`stm`~1 does not find `sti`).
Here each segment's words of a field are its lexicon, mapped (`postings.LexiconWords`), the
prefix is found by bisection, and Whoosh's distance (optimal string alignment: Damerau-Levenshtein without
repeated edits of a substring) is computed by rapidfuzz in C.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh.qparser import QueryParser

from ..whoosh.spelling import Corrector
from .postings import SegmentCache
from .query import split_nct_ids


class Vocabulary:
    """The sorted words of each field of one reader. Each segment's words come from
    `segments` (kept across updates); lookups bisect each segment's words and merge what they
    find, so an update does not re-sort a registry's vocabulary."""

    def __init__(self, reader, segments: SegmentCache | None = None):
        self.reader = reader
        self.segments = segments if segments is not None else SegmentCache()

    def segment_words(self, fieldname: str) -> list[Sequence[str]]:
        """Each segment's words of `fieldname`, sorted."""
        return [self.segments.words(leaf, fieldname) for leaf, _ in self.reader.leaf_readers()]

    def words(self, fieldname: str) -> list[str]:
        """Every word of `fieldname`, sorted as Whoosh sorts terms (by code point)."""
        return self.starting_with(fieldname, "")

    def starting_with(self, fieldname: str, prefix: str) -> list[str]:
        """The words of `fieldname` that start with `prefix`, sorted."""
        per_segment = []
        for words in self.segment_words(fieldname):
            lo = bisect_left(words, prefix)
            per_segment.append(words[lo:bisect_left(words, prefix + "\U0010ffff", lo)])
        return per_segment[0] if len(per_segment) == 1 else sorted(set().union(*per_segment))

    def within(self, fieldname: str, text: str, maxdist: int, prefix: int = 0) -> list[str]:
        """The words of `fieldname` that start with `text[:prefix]` and are at most `maxdist`
        edits from `text`, sorted (what Whoosh's `IndexReader.terms_within` defines)."""
        return sorted(word for word, _ in self.distances(fieldname, text, maxdist, prefix))

    def distances(self, fieldname: str, text: str, maxdist: int,
                  prefix: int = 0) -> list[tuple[str, int]]:
        """(word, edit distance) for each word `within` finds."""
        words = self.starting_with(fieldname, text[:prefix])
        matches = process.extract(text, words, scorer=OSA.distance,
                                  score_cutoff=maxdist, limit=None)
        return [(word, int(distance)) for word, distance, _ in matches]


class VocabularyCorrector(Corrector):
    """"Did you mean" from a `Vocabulary`: the nearest word, and among the nearest the most
    frequent (the ranking Whoosh's `ReaderCorrector` documents; its code ranks every
    candidate as if at the maximum distance, so `exosme` became `exosomes`, not `exosome`)."""

    def __init__(self, vocabulary: Vocabulary, fieldname: str):
        self.vocabulary = vocabulary
        self.fieldname = fieldname

    def candidates(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[float, str]]:
        """Each word of the vocabulary within `maxdist` edits, scored to rank the nearest first
        and, among the equally near, the most frequent."""
        frequency = self.vocabulary.reader.frequency
        for word, distance in self.vocabulary.distances(self.fieldname, text, maxdist, prefix):
            yield 0 - (distance + (1.0 / (frequency(self.fieldname, word) or 1) * 0.5)), word


def suggest(searcher, vocabulary: Vocabulary, query_text: str) -> str | None:
    """"Did you mean": `query_text` with the words the index does not hold corrected (nearest
    word first), or None. NCT IDs are not words to correct, and `word~` already asked for the
    words near it."""
    _, query_text = split_nct_ids(query_text)
    if not query_text.strip() or "~" in query_text:
        return None
    try:
        vocab_query = QueryParser("vocab", searcher.schema).parse(query_text.lower())
        reader = searcher.reader()
        # Only bare words: a field scope's value (`phase:"phase 2"`) is no misspelling.
        unknown = [(token.fieldname, token.text) for token in vocab_query.all_tokens()
                   if token.fieldname == "vocab" and ("vocab", token.text) not in reader]
        correction = searcher.correct_query(
            vocab_query, query_text.lower(), terms=unknown, maxdist=2, prefix=1,
            correctors={"vocab": VocabularyCorrector(vocabulary, "vocab")})
    except Exception:  # noqa: BLE001 - a suggestion is optional; never fail the search
        return None
    corrected = correction.string
    return corrected if corrected and corrected != query_text.lower() else None
