"""Text analysis for trial records: NLTK tokenizing and stemming wrapped as Whoosh analyzers.

The same analyzer serves indexing and queries, so `exosomes`, `Exosome` and `EXOSOMES` meet at
the stem `exosom` on both sides. Nothing here needs NLTK data files: the regexp tokenizer and
the Snowball stemmer are pure code.

Biomedical compounds are split into their parts at consecutive positions: `MSC-exosome`
becomes `msc` `exosom`, `40mg` becomes `40` `mg`, `covid19` and `COVID-19` both become `covid`
`19`. A compound typed in a query therefore runs as
a phrase of its parts (see `schema.py`), which finds the compound whole *and* its spaced or
punctuation-stripped spelling (`UC-MSC` finds "UC MSC"), while each part is findable alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from nltk.stem.snowball import EnglishStemmer
from nltk.tokenize.util import regexp_span_tokenize
from whoosh.analysis import Filter, Token, Tokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.support.charset import accent_map

# A word, optionally joined to more words by hyphens, slashes, dots or apostrophes:
# "graft-versus-host", "mg/kg", "COVID-19", "Crohn's", "3.5".
_JOINERS = "\\-\u2010\u2011/.'\u2019"
WORD_PATTERN = rf"\w+(?:[{_JOINERS}]\w+)*"
_PART_SEPARATOR = re.compile(r"[-\u2010\u2011/.'\u2019_]+")
_DECIMAL = re.compile(r"^\d+(?:\.\d+)*$")
_NUMBER_WITH_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([^\W\d_]{1,6})$")
_POSSESSIVE = re.compile(r"['\u2019]s$", re.I)
_LETTERS_OR_DIGITS = re.compile(r"[^\W\d_]+|\d+")


def split_compound(word: str) -> list[tuple[int, int]]:
    """Return (start, end) offsets of the parts of one matched word.

    `MSC-exosome` -> parts for `MSC` and `exosome`; `40mg` -> `40` and `mg`; `covid19` -> `covid`
    and `19`; a decimal number or a plain word stays whole; a possessive `'s` is dropped.
    """
    if word.isalpha() or word.isdigit():  # most words: skip the regexes below
        return [(0, len(word))]
    possessive = _POSSESSIVE.search(word)
    if possessive:
        word = word[: possessive.start()]
    if _DECIMAL.match(word):
        return [(0, len(word))]
    unit = _NUMBER_WITH_UNIT.match(word)
    if unit:
        return [unit.span(1), unit.span(2)]
    parts, start = [], 0
    for sep in _PART_SEPARATOR.finditer(word):
        if sep.start() > start:
            parts.append((start, sep.start()))
        start = sep.end()
    if start < len(word):
        parts.append((start, len(word)))
    # Letters and digits apart, so that `covid19`, `COVID-19` and `covid 19` all meet at
    # `covid` `19` (and `ABT199` at `ABT-199`).
    return [match.span() for part_start, part_end in parts
            for match in _LETTERS_OR_DIGITS.finditer(word, part_start, part_end)]


# What lies between words, the exact complement of WORD_PATTERN: a character that is neither a
# word character nor a joiner, or a joiner not standing between two word characters. NLTK's
# `regexp_span_tokenize` splits text at it (a precompiled pattern keeps NLTK's own ReDoS guard
# away: it runs in linear time, and the guard's timed `regex` calls would double the cost of
# analysis). The bulk writer finds words with WORD_PATTERN itself; a test holds the two equal.
_BETWEEN_WORDS = re.compile(rf"(?:[^\w{_JOINERS}]|(?<!\w)[{_JOINERS}]|[{_JOINERS}](?!\w))+")


def word_spans(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) offsets of the words of `text` (WORD_PATTERN's matches), by NLTK."""
    for start, end in regexp_span_tokenize(text, _BETWEEN_WORDS):
        if start < end:  # NLTK yields the empty span after a trailing separator
            yield start, end


class BiomedicalTokenizer(Tokenizer):
    """NLTK regexp tokenizer that also splits compounds into positioned parts."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __call__(  # Whoosh's tokenizer protocol
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        """Yield Whoosh tokens for `value` (Whoosh's tokenizer protocol)."""
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # Wildcard and range terms arrive untokenized; keep them as typed.
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        pos = start_pos
        for word_start, word_end in word_spans(value):
            word = value[word_start:word_end]
            for part_start, part_end in split_compound(word):
                token.text = word[part_start:part_end]
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = token.text
                if positions:
                    token.pos = pos
                if chars:
                    token.startchar = start_char + word_start + part_start
                    token.endchar = start_char + word_start + part_end
                pos += 1
                yield token


# Module-level and cached: each distinct word is stemmed once per process, and nothing
# unpicklable ends up in the schema Whoosh stores with the index.
_stem = lru_cache(maxsize=100_000)(EnglishStemmer().stem)


def stem(word: str) -> str:
    """The stem the prose analyzer gives one folded, lowercased word (`exosomes` -> `exosom`)."""
    return _stem(word)


class FoldStopStemFilter(Filter):
    """Lowercase, fold accents, drop stop words and (optionally) stem, in one pass.

    The same work as Whoosh's LowercaseFilter | CharsetFilter(accent_map) | StopFilter |
    StemFilter, token for token (positions renumbered over dropped stop words as StopFilter
    does), but one generator instead of four: analysis is about a third of indexing time.
    """

    def __init__(self, stoplist=STOP_WORDS, minsize: int = 1, stem: bool = True):
        self.stops = frozenset(stoplist)
        self.min = minsize
        self.stem = stem

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        """Fold, stop and stem each token (Whoosh's filter protocol)."""
        stops, minsize, stem = self.stops, self.min, self.stem
        pos = None
        for token in tokens:
            text = token.text.lower().translate(accent_map)
            if len(text) >= minsize and text not in stops:
                if token.positions:
                    if pos is None:
                        pos = token.pos
                    else:
                        pos += 1
                        token.pos = pos
                token.stopped = False
                token.text = _stem(text) if stem else text
                yield token
            elif not token.removestops:
                token.text = text
                token.stopped = True
                yield token


def text_analyzer():
    """The analyzer for prose fields: tokenize, fold case and accents, drop stop words, stem."""
    return BiomedicalTokenizer() | FoldStopStemFilter(STOP_WORDS, minsize=1, stem=True)


def vocabulary_analyzer():
    """Unstemmed, lowercased words: the vocabulary "did you mean" suggests from."""
    return BiomedicalTokenizer() | FoldStopStemFilter(STOP_WORDS, minsize=3, stem=False)


def analyze(text: str, analyzer=None) -> list[str]:
    """The terms `text` becomes (handy in tests and for checking what a query will match)."""
    analyzer = analyzer or text_analyzer()
    return [token.text for token in analyzer(text)]
