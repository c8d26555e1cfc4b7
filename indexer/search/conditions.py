"""The conditions a query names, and the studies that have them: one vocabulary per snapshot.

A query of plain words names a condition where a run of its words, analyzed as the index
analyzes text (folded, stemmed, stop words out), is a name the records carry: a condition
string at least `MIN_STUDIES` studies list, a MeSH condition term (in reading order too:
"Arthritis, Rheumatoid" is also "rheumatoid arthritis"), a lay name mined for a term
(`index/condition_names.py`: "Cerebrovascular Accident" -> "Stroke") or an as-found synonym
(`index/concepts.py`: "Pertussis" -> "Whooping Cough"). Longest runs first, left to right:
"breast cancer" is one condition, not "breast" and "cancer". A condition is expressed by its
own words, its MeSH terms and their other names; the studies that have it hold one of those
phrases in their conditions (`condition` field) or MeSH terms (`concept` field).

The lay names here never reach the word side's query expansion (`expansion.py`): keyword
search ranks as it did before them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from whoosh import query

from ..index.analysis import text_analyzer
from ..index.concepts import ConceptPairs, uninverted
from ..index.condition_names import MIN_STUDIES, ConditionCounts
from .caches import remembered
from .query import meaning_text

if TYPE_CHECKING:
    from .snapshot import Snapshot

# Where a study's conditions are: its own condition strings, and the registry's MeSH terms.
CONDITION_FIELDS = ("condition", "concept")

# A word that at least this share of the MeSH condition terms hold (and GENERIC_MIN_TERMS of
# them) is a category, never a condition named alone: of the 1,547 terms on ../shared/data and
# ../shared/eval_corpus, "disease" is in 139, "syndrome" 102, "disorder" 81, "neoplasm" 77,
# "infection" 41; "carcinoma" 28, "leukemia" 25, "covid" 1. (How many studies hold a word says
# less: COVID-19 is in a fifth of these studies' conditions and is one condition.)
GENERIC_SHARE = 0.02
GENERIC_MIN_TERMS = 10

Phrase = tuple[str, ...]  # analyzed words


@dataclass(frozen=True)
class Condition:
    """A condition a query names: `name` as the records write it ("Cerebrovascular Accident"),
    `words` the query's words that named it, as typed, `terms` the MeSH terms it stands for
    (sorted) and `phrases` every analyzed phrase that expresses it (sorted)."""

    name: str
    words: str
    terms: tuple[str, ...]
    phrases: tuple[Phrase, ...]


@dataclass
class _Name:
    """What an analyzed phrase names: how the records write it, and its MeSH terms."""

    spelling: str
    terms: set[str]


class ConditionVocabulary:
    """Every condition name one generation's records carry, analyzed (see the module
    docstring), from its mined counts and as-found pairs."""

    def __init__(self, counts: ConditionCounts, concepts: ConceptPairs):
        self._analyzer = text_analyzer()
        self._names: dict[Phrase, _Name] = {}
        self._term_phrases: dict[str, set[Phrase]] = {}
        held = Counter(word for term in counts.terms for word in set(self._words(term)))
        limit = max(GENERIC_MIN_TERMS, GENERIC_SHARE * len(counts.terms))
        self._generic = {word for word, terms in held.items() if terms >= limit}
        spelled = {term.lower(): term for term in counts.terms}  # as-found pairs lower-case terms
        for term in counts.terms:
            self._add_term(term)
        for string in counts.used_strings(MIN_STUDIES):
            self._add(string, set())
        lay_names = [(string, term) for string, term, _ in counts.lay_names()]
        lay_names += [(found, spelled.get(term, term)) for found, term, _ in concepts.supported()]
        for name, term in lay_names:
            self._add_term(term)
            phrase = self._add(name, {term})
            if phrase:
                self._term_phrases[term].add(phrase)
        self._longest = max(map(len, self._names), default=0)

    def _words(self, text: str) -> Phrase:
        return tuple(token.text for token in self._analyzer(text))

    def _analyzed(self, text: str) -> Phrase | None:
        """`text` analyzed, or None when it is empty or one generic word alone."""
        words = self._words(text)
        return None if not words or (len(words) == 1 and words[0] in self._generic) else words

    def _add(self, spelling: str, terms: set[str]) -> Phrase | None:
        phrase = self._analyzed(spelling)
        if phrase:
            self._names.setdefault(phrase, _Name(spelling, set())).terms.update(terms)
        return phrase

    def _add_term(self, term: str) -> None:
        if term not in self._term_phrases:
            phrases = {self._add(form, {term}) for form in (term, uninverted(term))}
            self._term_phrases[term] = phrases - {None}

    def named_conditions(self, query_text: str) -> list[Condition]:
        """The conditions `query_text` names, in the order it names them; [] for a query
        with syntax (quotes, field scopes, operators other than OR; see
        `query.meaning_text`), which asks for exact matches."""
        text = meaning_text(query_text)
        if not text:
            return []
        # The analyzer yields one token object, changed in place: keep what each one says.
        tokens = [(token.text, token.startchar, token.endchar)
                  for token in self._analyzer(text, chars=True)]
        words = [word for word, _, _ in tokens]
        found, seen, i = [], set(), 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                phrase = tuple(words[i:i + size])
                if phrase in self._names:
                    condition = self._condition(phrase, text[tokens[i][1]:tokens[i + size - 1][2]])
                    if condition.phrases not in seen:
                        seen.add(condition.phrases)
                        found.append(condition)
                    i += size
                    break
            else:
                i += 1
        return found

    def _condition(self, phrase: Phrase, words: str) -> Condition:
        name = self._names[phrase]
        phrases = {phrase}.union(*(self._term_phrases[term] for term in name.terms))
        return Condition(name=name.spelling, words=words, terms=tuple(sorted(name.terms)),
                         phrases=tuple(sorted(phrases)))


def condition_documents(snapshot: Snapshot, condition: Condition) -> np.ndarray:
    """A bool mask over the snapshot's document numbers: the live studies whose conditions
    or MeSH terms hold one of `condition.phrases` as a phrase (remembered per generation in a
    cache bounded by bytes, `Snapshot.condition_ids`)."""
    ids = remembered(snapshot.condition_ids, condition.phrases,
                     lambda: _holding(snapshot, condition.phrases))
    mask = np.zeros(snapshot.scorer.size, dtype=bool)
    mask[ids] = True
    return mask


def _holding(snapshot: Snapshot, phrases: tuple[Phrase, ...]) -> np.ndarray:
    """The document numbers whose condition fields hold one of `phrases`, by the array
    scorer's phrase evaluation (each phrase's postings cached with the scorer's leaves)."""
    fields = [name for name in CONDITION_FIELDS if name in snapshot.searcher.schema]
    leaves = [query.Term(name, words[0]) if len(words) == 1 else query.Phrase(name, list(words))
              for name in fields for words in phrases]
    ids, _ = snapshot.scorer.evaluate(query.Or(leaves))
    return ids
