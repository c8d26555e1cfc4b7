"""The condition names records use, and lay names for the registry's MeSH terms mined from which
term a condition string comes with across studies: "Cerebrovascular Accident" -> "Stroke",
"Kidney Failure" -> "Renal Insufficiency", "Pertussis" -> "Whooping Cough".

Every study counts its condition strings (`Study.conditions`, folded as `concepts.py` folds
them: case, punctuation, accents, plural `s`) and its MeSH condition terms
(`Study.condition_mesh`), so the search side knows the names the records use and how many
studies use each. A pair (string, term) is read from a study only where it can mean something:

- a string that is one of the study's terms (folded, in any word order) names itself, and a
  term whose words are all in one of the study's strings is that string's own ("Leukemia" and
  "Recurrence" beside "Recurrent Adult Acute Myeloid Leukemia"): neither is paired;
- the study leaves exactly one string unexplained, and some term, so those terms come from
  that string. Long lists ("Breast Cancer", "Lung Cancer", "Lymphoma", ... with twenty terms) would
  pair every string with every term;
- the term adds no subtype letter or number to the string's words ("Diabetes" is not
  "Diabetes Mellitus, Type 2"; `concepts.names_a_subtype`).

A pair is kept (`lay_names`) when at least MIN_STUDIES studies show it, in at least MIN_SHARE of
the studies that count for the string (the term is what the string usually comes with) and
MIN_SOURCE_SHARE of those where the term stands unexplained (the string is a real source of
the term, not one of the many a generic term such as "Disease" comes with). A string that is
some study's MeSH term is that term and no lay name ("Hypertension" beside "Renal
Insufficiency"); of a string's kept terms, one whose words are all in another's is the broader
and dropped ("Infarction" beside "Myocardial Infarction").

On ../shared/data with ../shared/eval_corpus (11,985 studies, 6,781 with MeSH condition terms)
this keeps 118 pairs for 100 strings; docs/evaluation.md#conditions-as-concepts measures what
they give people who type lay names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Study
from .analysis import stem
from .concepts import folded_words, names_a_subtype, uninverted

MIN_STUDIES = 2  # studies a string needs to be one the records use, and a pair to be kept
MIN_SHARE = 0.5  # of the studies counted for a string, the share a kept term comes with
# Of the counted studies where a term stands unexplained, the share a kept string must give it:
# on the shared corpora this drops "Disease" (a MeSH term the registry adds beside many
# conditions) for "Posttraumatic Stress Disorder", 2 of its 30 studies, and "Neoplasms" for
# "Solid Tumor", 3 of 79.
MIN_SOURCE_SHARE = 0.1


def _key(words: list[str]) -> str:
    return " ".join(words)


def _stems(words) -> frozenset[str]:
    return frozenset(stem(word) for word in words)


def _spelling(text: str) -> str:
    return " ".join(text.split())


@dataclass
class ConditionCounts:
    """Condition strings, MeSH condition terms and the pairs between them, counted in studies
    (the module docstring says which count). A string is keyed by its folded words,
    space-joined ("kidney failure"), with the spelling the records write it in (of several,
    the first in code-point order: capitalized forms win, and any order of counting gives the
    same); a term by the registry's spelling ("Renal Insufficiency")."""

    strings: dict[str, int] = field(default_factory=dict)  # studies that list the string
    counted: dict[str, int] = field(default_factory=dict)  # ... it alone unexplained, some term too
    terms: dict[str, int] = field(default_factory=dict)  # studies that carry the term
    unexplained: dict[str, int] = field(default_factory=dict)  # counted studies, term unexplained
    pairs: dict[str, dict[str, int]] = field(default_factory=dict)  # string -> {term: studies}
    spellings: dict[str, str] = field(default_factory=dict)  # string key -> spelling

    def add_study(self, study: Study) -> None:
        """Count one study's condition strings, terms and pairs (each once)."""
        strings: dict[str, list[str]] = {}
        for condition in study.conditions:
            words = folded_words(condition)
            if words:
                strings.setdefault(_key(words), words)
                self._spell(_key(words), _spelling(condition))
        terms = {_spelling(term): words for term in study.condition_mesh
                 for words in [folded_words(uninverted(term))] if words}
        for key in strings:
            self.strings[key] = self.strings.get(key, 0) + 1
        for key in terms:
            self.terms[key] = self.terms.get(key, 0) + 1
        if terms:
            self._add_pairs(strings, terms)

    def _add_pairs(self, strings: dict[str, list[str]], terms: dict[str, list[str]]) -> None:
        """Count the pairs of one study that carries MeSH terms (see the module docstring)."""
        term_orders = {tuple(sorted(words)) for words in terms.values()}
        string_stems = [_stems(words) for words in strings.values()]
        alone = [key for key, words in strings.items() if tuple(sorted(words)) not in term_orders]
        if len(alone) != 1:
            return
        # A string's own words: "Leukemia" beside "Recurrent Adult Acute Myeloid Leukemia".
        unexplained = [term for term, term_words in terms.items()
                       if not any(_stems(term_words) <= own for own in string_stems)]
        if not unexplained:
            return
        key, words = alone[0], strings[alone[0]]
        self.counted[key] = self.counted.get(key, 0) + 1
        for term in unexplained:
            self.unexplained[term] = self.unexplained.get(term, 0) + 1
            if not names_a_subtype(words, terms[term]):
                paired = self.pairs.setdefault(key, {})
                paired[term] = paired.get(term, 0) + 1

    def _spell(self, key: str, spelling: str) -> None:
        known = self.spellings.get(key)
        if known is None or spelling < known:
            self.spellings[key] = spelling

    def merge(self, other: ConditionCounts) -> None:
        """Add another set of counts (a batch of a build, an update's new studies)."""
        for mine, theirs in ((self.strings, other.strings), (self.counted, other.counted),
                             (self.terms, other.terms), (self.unexplained, other.unexplained)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        for key, terms in other.pairs.items():
            paired = self.pairs.setdefault(key, {})
            for term, count in terms.items():
                paired[term] = paired.get(term, 0) + count
        for key, spelling in other.spellings.items():
            self._spell(key, spelling)

    def used_strings(self, min_studies: int = MIN_STUDIES) -> dict[str, int]:
        """{condition string as the records write it: studies} for the strings at least
        `min_studies` studies list."""
        return {self.spellings.get(key, key): count for key, count in sorted(self.strings.items())
                if count >= min_studies}

    def lay_names(self) -> list[tuple[str, str, int]]:
        """The kept pairs (module docstring): (string, term, studies), as the records write
        them, sorted."""
        # A string that is some study's MeSH term is that term, whatever else comes with it.
        named = {tuple(sorted(folded_words(uninverted(term)))) for term in self.terms}
        out = []
        for key, terms in sorted(self.pairs.items()):
            if tuple(sorted(key.split())) in named:
                continue
            counted = self.counted.get(key, 0)
            kept = {term: count for term, count in terms.items()
                    if count >= MIN_STUDIES and count >= MIN_SHARE * counted
                    and count >= MIN_SOURCE_SHARE * self.unexplained.get(term, 0)}
            words = {term: _stems(folded_words(uninverted(term))) for term in kept}
            out += [(self.spellings.get(key, key), term, count)
                    for term, count in sorted(kept.items())
                    if not any(words[term] < words[other] for other in kept)]
        return out

    def to_dict(self) -> dict:
        """The `conditions` section of an index generation's abbreviations file, bounded: a
        string fewer than MIN_STUDIES studies list is left out with its pairs, and so is a pair
        fewer than MIN_STUDIES studies show (terms are bounded by MeSH itself and all kept).
        What that costs an update: it adds its studies to these counts, so such a string or
        pair starts again from nothing and is kept once the update's studies alone show it
        twice, or at the next full build; a kept string's counts stay exact."""
        strings = {key: count for key, count in self.strings.items() if count >= MIN_STUDIES}
        pairs = {key: kept for key, terms in self.pairs.items() if key in strings
                 for kept in [{t: n for t, n in terms.items() if n >= MIN_STUDIES}] if kept}
        return {"strings": strings,
                "counted": {key: n for key, n in self.counted.items() if key in strings},
                "terms": self.terms, "unexplained": self.unexplained, "pairs": pairs,
                "spellings": {key: self.spellings[key] for key in strings if key in self.spellings}}

    @classmethod
    def from_dict(cls, data: dict | None) -> ConditionCounts:
        """Read `to_dict`'s form (empty for a file written before it)."""
        if not isinstance(data, dict):
            return cls()
        return cls(**{name: dict(data.get(name) or {}) for name in (
            "strings", "counted", "terms", "unexplained", "spellings")},
                   pairs={key: dict(terms) for key, terms in (data.get("pairs") or {}).items()})
