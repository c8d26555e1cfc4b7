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
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..model import Study

# Studies a pair must be seen in. On the shared data (3,991 studies, 182 with as-found words)
# two keep 13 pairs, nearly all sound; one keeps 68, with one-offs such as "Breathing" ->
# "Respiratory Aspiration" and "Carcinoma" -> "Carcinomatosis" beside the good ones; three
# keep two. A registry-scale corpus can ask for more.
MIN_STUDIES = 2

_APOSTROPHE = re.compile(r"['\u2019]s?\b")  # "Alzheimer's" -> "Alzheimer", "Crohn’s" -> "Crohn"
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])")  # "CoV2" is "CoV-2"


def _words(text: str) -> list[str]:
    """Lower-cased, accent-free words without punctuation or a plural `s`: "Infections" and
    "infection" are one, "COVID-19" and "COVID19" are `covid 19`."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = _NOT_WORD.sub(" ", _LETTER_DIGIT.sub(" ", _APOSTROPHE.sub("", text))).split()
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in words]


def _uninverted(term: str) -> str:
    """A MeSH heading in reading order: "Carcinoma, Non-Small-Cell Lung" -> "Non-Small-Cell Lung
    Carcinoma", "Leukemia, Myeloid, Acute" -> "Acute Myeloid Leukemia"."""
    return " ".join(reversed([part.strip() for part in term.split(",")]))


def _names_a_subtype(found: list[str], term: list[str]) -> bool:
    """Whether the term is the words plus a letter or number only it has: "Hepatitis A" for
    "Hepatitis", "Diabetes Mellitus, Type 2" for "Diabetes"."""
    extra = set(term) - set(found)
    return set(found) <= set(term) and any(len(w) == 1 or w.isdigit() for w in extra)


def _own_text(study: Study) -> str:
    parts = [*study.conditions, *study.keywords, study.brief_title, study.official_title,
             study.brief_summary]
    return " " + " ".join(" ".join(_words(part)) for part in parts if part) + " "


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
    seen: dict[tuple[tuple[str, ...], str], set[str]] = defaultdict(set)
    spellings: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for study in studies:
        if not study.condition_mesh_found:
            continue
        text = None
        for found, term in study.condition_mesh_found:
            found_words = _words(found)
            term_words = _words(_uninverted(term))
            if not found_words or found_words == term_words or sorted(found_words) == sorted(term_words):
                continue
            if _names_a_subtype(found_words, term_words):
                continue
            text = _own_text(study) if text is None else text
            if f" {' '.join(found_words)} " not in text:
                continue
            key = (tuple(found_words), " ".join(term.lower().split()))
            if study.nct_id not in seen[key]:
                seen[key].add(study.nct_id)
                spellings[key[0]][" ".join(found.lower().split())] += 1
    synonyms: dict[str, set[str]] = defaultdict(set)
    for (found_words, term), nct_ids in seen.items():
        if len(nct_ids) < min_studies:
            continue
        phrase = min(spellings[found_words].items(), key=lambda item: (-item[1], item[0]))[0]
        synonyms[phrase].add(term)
        synonyms[term].add(phrase)
    return {phrase: sorted(others) for phrase, others in sorted(synonyms.items())}
