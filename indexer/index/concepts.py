"""Condition synonyms mined from the registry's MeSH annotation: where the registry found a
condition's MeSH term in a study's own words ("Atopic Dermatitis" -> "Eczema", "Breast Cancer"
-> "Breast Neoplasms", "SARS-CoV-2 Infection" -> "COVID-19"), across a corpus.

Readers keep those words with each term (`Study.condition_mesh_found`, from API v2 and classic
API records). A pair becomes a synonym only when it says something (the words differ from the
term beyond case, punctuation, plurals and MeSH's inverted order: "Rheumatoid Arthritis" is
"Arthritis, Rheumatoid"), the words are really in that study's own conditions, keywords, titles
or summary, the term does not name a subtype the words do not ("Hepatitis" is not "Hepatitis
A"), and enough different studies show it. Intervention terms are not mined: the registry's
as-found words for them are noise (Carboplatin found as "Level").
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import Study

# Studies a pair must be seen in. On the shared data (3,991 studies, 182 with as-found words)
# two keep 13 pairs, nearly all sound; one keeps 68, with one-offs such as "Breathing" ->
# "Respiratory Aspiration" and "Carcinoma" -> "Carcinomatosis" beside the good ones; three
# keep two. A registry-scale corpus can ask for more.
MIN_STUDIES = 2

_APOSTROPHE = re.compile(r"['\u2019]s?\b")  # "Alzheimer's" -> "Alzheimer", "Crohn’s" -> "Crohn"
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")  # "CoV2" is "CoV-2"


def folded_words(text: str) -> list[str]:
    """Lower-cased, accent-free words without punctuation or a plural `s`: "Infections" and
    "infection" are one, "COVID-19" and "COVID19" are `covid 19`."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = _NOT_WORD.sub(" ", _LETTER_DIGIT.sub(" ", _APOSTROPHE.sub("", text))).split()
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in words]


def uninverted(term: str) -> str:
    """A MeSH heading in reading order: "Carcinoma, Non-Small-Cell Lung" -> "Non-Small-Cell Lung
    Carcinoma", "Leukemia, Myeloid, Acute" -> "Acute Myeloid Leukemia"."""
    return " ".join(reversed([part.strip() for part in term.split(",")]))


def names_a_subtype(found: list[str], term: list[str]) -> bool:
    """Whether the term is the words plus a letter or number only it has: "Hepatitis A" for
    "Hepatitis", "Diabetes Mellitus, Type 2" for "Diabetes"."""
    extra = set(term) - set(found)
    return set(found) <= set(term) and any(len(w) == 1 or w.isdigit() for w in extra)


def _own_text(study: Study) -> str:
    parts = [*study.conditions, *study.keywords, study.brief_title, study.official_title,
             study.brief_summary]
    return " " + " ".join(" ".join(folded_words(part)) for part in parts if part) + " "


def _study_pairs(study: Study) -> list[tuple[tuple[str, ...], str, str]]:
    """One study's pairs that count (see `mine_condition_pairs`): (found words, lower-cased
    term, lower-cased spelling of the found words), each once."""
    if not study.condition_mesh_found:
        return []
    text, out = None, {}
    for found, term in study.condition_mesh_found:
        found_words = folded_words(found)
        term_words = folded_words(uninverted(term))
        if not found_words or found_words == term_words or sorted(found_words) == sorted(term_words):
            continue
        if names_a_subtype(found_words, term_words):
            continue
        text = _own_text(study) if text is None else text
        if f" {' '.join(found_words)} " not in text:
            continue
        key = (tuple(found_words), " ".join(term.lower().split()))
        out.setdefault(key, " ".join(found.lower().split()))
    return [(found_words, term, spelling) for (found_words, term), spelling in out.items()]


def mine_condition_pairs(studies: Iterable[Study], min_studies: int = MIN_STUDIES) -> dict[str, list[str]]:
    """Condition synonyms from the registry's (as-found words, MeSH term) pairs across
    `studies`, both ways: {lower-cased phrase: [lower-cased phrases, sorted]}.

    A pair counts for a study when its words differ from the term (after folding case,
    punctuation, accents, possessives, plural `s` and MeSH's inverted order), occur as whole
    words in the study's own conditions, keywords, titles or summary, and the term does not
    add a subtype letter or number; it is kept when at least `min_studies` different studies
    (by NCT ID) have it. Keys are the words as most studies write them and the term as the
    registry does, lower-cased: {"breast cancer": ["breast neoplasms"], "breast neoplasms":
    ["breast cancer"], "atopic dermatitis": ["dermatitis, atopic", "eczema"], ...}. Spellings
    that fold alike ("COVID-19 pandemic", "covid 19 pandemic") are one phrase.
    """
    counts = ConceptPairs()
    seen: set[tuple[tuple[str, ...], str, str]] = set()
    for study in studies:
        for found_words, term, spelling in _study_pairs(study):
            if (found_words, term, study.nct_id) not in seen:
                seen.add((found_words, term, study.nct_id))
                counts.add(found_words, term, spelling)
    return counts.synonyms(min_studies)


@dataclass
class ConceptPairs:
    """Mined pair counts, kept so an update can add new studies' pairs and support is
    recomputed: {"breast cancer": {"breast neoplasms": studies}} keyed by the found words
    (folded, space-joined), and the spellings studies write those words in, with counts."""

    pairs: dict[str, dict[str, int]] = field(default_factory=dict)
    spellings: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, found_words: tuple[str, ...], term: str, spelling: str, count: int = 1) -> None:
        """Count a pair `count` more studies."""
        key = " ".join(found_words)
        terms = self.pairs.setdefault(key, {})
        terms[term] = terms.get(term, 0) + count
        spelled = self.spellings.setdefault(key, {})
        spelled[spelling] = spelled.get(spelling, 0) + count

    def add_study(self, study: Study) -> None:
        """Count one study's pairs (each once)."""
        for found_words, term, spelling in _study_pairs(study):
            self.add(found_words, term, spelling)

    def merge(self, other: ConceptPairs) -> None:
        """Add another set of counts (an update's new studies)."""
        for key, terms in other.pairs.items():
            for term, count in terms.items():
                self.pairs.setdefault(key, {})
                self.pairs[key][term] = self.pairs[key].get(term, 0) + count
        for key, spelled in other.spellings.items():
            for spelling, count in spelled.items():
                self.spellings.setdefault(key, {})
                self.spellings[key][spelling] = self.spellings[key].get(spelling, 0) + count

    def supported(self, min_studies: int = MIN_STUDIES) -> list[tuple[str, str, int]]:
        """(phrase as most studies write it, term, studies) for the pairs seen in at least
        `min_studies` studies."""
        out = []
        for key, terms in sorted(self.pairs.items()):
            spelled = self.spellings.get(key) or {key: 1}
            phrase = min(spelled.items(), key=lambda item: (-item[1], item[0]))[0]
            out += [(phrase, term, count) for term, count in sorted(terms.items())
                    if count >= min_studies]
        return out

    def synonyms(self, min_studies: int = MIN_STUDIES) -> dict[str, list[str]]:
        """{phrase: [phrases, sorted]} both ways (the form `mine_condition_pairs` returns)."""
        synonyms: dict[str, set[str]] = defaultdict(set)
        for phrase, term, _ in self.supported(min_studies):
            synonyms[phrase].add(term)
            synonyms[term].add(phrase)
        return {phrase: sorted(others) for phrase, others in sorted(synonyms.items())}

    def support(self, min_studies: int = MIN_STUDIES) -> dict[tuple[str, str], int]:
        """{(phrase, synonym): studies}, both ways, for the kept pairs."""
        out: dict[tuple[str, str], int] = {}
        for phrase, term, count in self.supported(min_studies):
            out[(phrase, term)] = out.get((phrase, term), 0) + count
            out[(term, phrase)] = out.get((term, phrase), 0) + count
        return out

    def to_dict(self) -> dict:
        """The `concepts` section of an index generation's abbreviations file."""
        return {"pairs": self.pairs, "spellings": self.spellings}

    @classmethod
    def from_dict(cls, data: dict | None) -> ConceptPairs:
        """Read `to_dict`'s form (empty for a file written before it)."""
        if not isinstance(data, dict):
            return cls()
        return cls(pairs={k: dict(v) for k, v in (data.get("pairs") or {}).items()},
                   spellings={k: dict(v) for k, v in (data.get("spellings") or {}).items()})
