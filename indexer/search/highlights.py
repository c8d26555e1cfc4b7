"""Highlights from the positions the index stores, instead of analyzing every hit's text again.

Whoosh's highlighter runs the field's whole analyzer (tokenizing, folding, stop words,
stemming) over the text of each hit and field to learn which tokens match the query: 10 hits,
two fields, a few hundred tokens each, on every results page (16 ms per query at 500k
studies). The index already knows where the query's words stand: trialsearch's codec stores
each posting's positions. `PageHighlighter` reads the positions of the query's terms in the
page's documents in one pass per field, then walks the text once to find the tokens at those
positions (words split as the tokenizer splits them, stop words skipped as the analyzer skips
them, no stemming) and builds the fragments and HTML exactly as Whoosh's `ContextFragmenter`,
`WholeFragmenter`, `BasicFragmentScorer` and `HtmlFormatter` would: the same fragments, the
same `<mark>`s, the text HTML-escaped. A text that is not the one the index analyzed (a title
shown as its NCT ID) is highlighted by Whoosh's highlighter instead, as is one whose token at
a matched position is not the term stored there. Term classes (`term0`, `term1`, ...) are
numbered per highlight, in the order the terms first appear, where Whoosh's shared formatter
numbered them by every term it had ever seen in the process.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
from whoosh import highlight
from whoosh.analysis.analyzers import CompositeAnalyzer
from whoosh.support.charset import accent_map

from ..index.analysis import WORD_PATTERN, BiomedicalTokenizer, FoldStopStemFilter, split_compound, stem
from ..whoosh.storage import term_positions

_WORDS = re.compile(WORD_PATTERN)
CHARLIMIT = highlight.DEFAULT_CHARLIMIT  # as Whoosh's fragmenters: tokens past it are not read
BETWEEN = " … "  # between two fragments of one highlight
MAX_TERM_CLASSES = 5  # HtmlFormatter's maxclasses: term0 ... term4, then term0 again

Token = tuple[int, int, "str | None"]  # start, end, the matched term (None: not matched)


@dataclass(frozen=True)
class Fragments:
    """How a field is cut into fragments: the whole text (`maxchars` 0) or, as Whoosh's
    `ContextFragmenter`, passages of at most `maxchars` with `surround` characters of context;
    the `top` best kept, in text order."""

    top: int
    maxchars: int = 0
    surround: int = 0

    def whoosh(self) -> highlight.Highlighter:
        """Whoosh's highlighter with this fragmenter (for texts the positions do not fit)."""
        fragmenter = (highlight.ContextFragmenter(maxchars=self.maxchars, surround=self.surround)
                      if self.maxchars else highlight.WholeFragmenter())
        return highlight.Highlighter(fragmenter=fragmenter, formatter=highlight.HtmlFormatter(
            tagname="mark", between=BETWEEN, maxclasses=MAX_TERM_CLASSES))


TITLE = Fragments(top=1)
SNIPPET = Fragments(top=2, maxchars=240, surround=80)


class PageHighlighter:
    """Highlights of one page of Whoosh `results` (`docnums`: the page's documents)."""

    def __init__(self, results, docnums: Iterable[int]):
        self._results = results
        self._docnums = np.unique(np.fromiter(docnums, dtype=np.int64))
        self._matched: dict[str, dict[int, dict[int, str]]] = {}

    def html(self, hit, fieldname: str, text: str, fragments: Fragments, indexed: bool = True) -> str:
        """`text` as HTML: escaped, the query's terms in `<mark>`, cut into `fragments`; ''
        when no term matches. `indexed`: `text` is Whoosh `hit`'s value of `fieldname` as the
        index analyzed it, or its beginning (else Whoosh's highlighter reads it)."""
        analyzer = _analyzer_of(self._results.searcher.schema[fieldname]) if indexed else None
        if analyzer is not None:
            tokens = _tokens(text, analyzer, self._positions(fieldname).get(hit.docnum, {}),
                             2 * fragments.surround)
            if tokens is not None:
                return _html(text, tokens, fragments)
        return fragments.whoosh().highlight_hit(hit, fieldname, text=text, top=fragments.top)

    def _positions(self, fieldname: str) -> dict[int, dict[int, str]]:
        """Document -> position -> term, for the query's terms in `fieldname`, in the page's
        documents: one read of each term's positions per segment holding a page document."""
        if fieldname not in self._matched:
            found: dict[int, dict[int, str]] = {}
            field = self._results.searcher.schema[fieldname]
            terms = {btext for name, btext in self._results.query_terms(expand=True, fieldname=fieldname)
                     if name == fieldname}
            for leaf, offset in self._results.searcher.reader().leaf_readers():
                inside = self._docnums[(self._docnums >= offset)
                                       & (self._docnums < offset + leaf.doc_count_all())] - offset
                if not len(inside) or fieldname not in leaf.schema:
                    continue
                for btext in terms:
                    docs, positions = term_positions(leaf, fieldname, btext, inside)
                    word = field.from_bytes(btext)
                    for docnum, position in zip((docs + offset).tolist(), positions.tolist()):
                        found.setdefault(docnum, {})[position] = word
            self._matched[fieldname] = found
        return self._matched[fieldname]


def _analyzer_of(field) -> FoldStopStemFilter | None:
    """The fold, stop and stem filter of a field analyzed by trialsearch's prose analyzer, whose
    tokens the positions number; None for any other analyzer."""
    analyzer = getattr(field, "analyzer", None)
    if isinstance(analyzer, CompositeAnalyzer) and len(analyzer.items) == 2 \
            and type(analyzer.items[0]) is BiomedicalTokenizer \
            and type(analyzer.items[1]) is FoldStopStemFilter:
        return analyzer.items[1]
    return None


def _tokens(text: str, analyzer: FoldStopStemFilter, matched: dict[int, str],
            after: int) -> list[Token] | None:
    """The tokens of `text` (stop words too: Whoosh's fragmenters count them), each kept one
    marked with the term stored at its position when that position is `matched`, up to the
    last match and `after` characters of tokens beyond it (a fragment ends within twice its
    context of its last match: Whoosh adds the context again when nothing precedes it). None
    when a matched token is not the term stored there: `text` is not what the index analyzed."""
    if not matched:
        return []
    tokens: list[Token] = []
    stops, minsize, stemmed = analyzer.stops, analyzer.min, analyzer.stem
    last = max(matched)
    position = None  # the analyzer numbers kept tokens on from the first one's place
    at = beyond = 0
    for found in _WORDS.finditer(text):
        word, base = found.group(), found.start()
        parts = ((0, len(word)),) if word.isalpha() or word.isdigit() else split_compound(word)
        for start, end in parts:
            folded = word[start:end].lower()
            if not folded.isascii():
                folded = folded.translate(accent_map)
            term = None
            if len(folded) >= minsize and folded not in stops:
                position = at if position is None else position + 1
                term = matched.get(position)
                if term is not None and term != (stem(folded) if stemmed else folded):
                    return None
            tokens.append((base + start, base + end, term))
            at += 1
            if position is not None and position > last:
                beyond += end - start
                if beyond > after:
                    return tokens
    return tokens


def _merged(tokens: list[Token]) -> Iterator[Token]:
    """Whoosh's `Highlighter._merge_matched_tokens`: a matched token running straight on from
    the one before is marked with it (`covid19`: covid and 19 as one mark)."""
    token: list[Any] | None = None
    for start, end, term in tokens:
        if term is None:
            if token is not None:
                yield tuple(token)
                token = None
            yield start, end, term
        elif token is None:
            token = [start, end, term]
        elif start <= token[1]:
            if end > token[1]:
                token[2] += term[token[1] - end:]
                token[1] = end
        else:  # as Whoosh: this one is passed on alone, and the next match starts afresh
            yield tuple(token)
            token = None
            yield start, end, term
    if token is not None:
        yield tuple(token)


Fragment = tuple[int, int, list[Token]]  # start, end, the matched tokens in it


def _in_context(text: str, tokens: Iterable[Token], maxchars: int, surround: int) -> Iterator[Fragment]:
    """Whoosh's `ContextFragmenter.fragment_tokens`, step for step."""
    first, firsts, countdown, matches, currentlen = None, deque(), -1, [], 0
    endchar = None
    for token in tokens:
        startchar, endchar, term = token
        length = endchar - startchar
        if endchar > CHARLIMIT:
            break
        if countdown < 0 and term is None:
            firsts.append(startchar)
            while firsts and endchar - firsts[0] > surround:
                firsts.popleft()
        elif currentlen + length > maxchars:
            countdown = 0
        elif term is not None:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = startchar
                    countdown += surround
            matches.append(token)
        if countdown >= 0:
            currentlen += length
            countdown -= length
            if countdown <= 0:
                yield _fragment(text, matches, first, endchar)
                first, firsts, matches, currentlen = None, deque(), [], 0
    if matches:
        yield _fragment(text, matches, first, endchar)


def _fragment(text: str, matches: list[Token], start: int | None, end: int) -> Fragment:
    """Whoosh's `mkfrag`: a fragment from `start` (its first match's start when None) to `end`."""
    if start is None:
        start = matches[0][0] if matches else 0
    return max(0, start), min(len(text), end), matches


def _whole(text: str, tokens: Iterable[Token]) -> list[Fragment]:
    """Whoosh's `WholeFragmenter`: the whole text, one fragment."""
    matches = []
    for token in tokens:
        if token[1] > CHARLIMIT:
            break
        if token[2] is not None:
            matches.append(token)
    return [(0, len(text), matches)]


def _score(fragment: Fragment) -> int:
    """Whoosh's `BasicFragmentScorer` (every token's boost is 1): the matches, times a hundred
    times the distinct terms among them."""
    matches = fragment[2]
    return len(matches) * (len({term for _, _, term in matches}) * 100 or 1)


def _html(text: str, tokens: list[Token], fragments: Fragments) -> str:
    """The text's best fragments as HTML (Whoosh's `top_fragments` and `HtmlFormatter`)."""
    merged = _merged(tokens)
    cut = (_in_context(text, merged, fragments.maxchars, fragments.surround) if fragments.maxchars
           else _whole(text, merged))
    # The best `top` by score, a later fragment first among equals (Whoosh compares them so),
    # shown in text order; a fragment without a match scores 0 and is never shown.
    best = sorted(sorted(cut, key=lambda f: (_score(f), f[0]), reverse=True)[:fragments.top])
    classes: dict[str, int] = {}
    return BETWEEN.join(_formatted(text, fragment, classes) for fragment in best if _score(fragment) >= 1)


def _formatted(text: str, fragment: Fragment, classes: dict[str, int]) -> str:
    """Whoosh's `HtmlFormatter.format_fragment`: escaped text, each match in a `<mark>`."""
    start, end, matches = fragment
    out, index = [], start
    for match_start, match_end, _ in sorted(matches, key=lambda t: (t[0], t[0] - t[1])):
        if match_start < index:
            continue
        if match_start > index:
            out.append(escape(text[index:match_start], quote=False))
        shown = escape(text[match_start:match_end], quote=False)
        number = classes.setdefault(shown, len(classes) % MAX_TERM_CLASSES)
        out.append(f'<mark class="match term{number}">{shown}</mark>')
        index = match_end
    out.append(escape(text[index:end], quote=False))
    return "".join(out)
