"""The conditions a patient's description names, read against what the index knows: the
conditions its studies list (the `condition` facet's values), the condition synonyms mined from
the registry's MeSH annotation and the abbreviations mined from the records ("HTN" ->
hypertension), all analyzed as the index analyzes text, so "Hypertensive" is not
"hypertension" but "Cancers of the breast" is "breast cancer".

`conditions_named` is the one function patient mode asks; it reads a per-generation
`ConditionVocabulary`. A condition that the description denies or gives to someone else ("no
fever", "denies chest pain", "family history of CAD", "her mother has menorrhagia") is not the
patient's and is left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..catalog.fields import DEFAULT_FIELD_BOOSTS
from ..index.analysis import analyze, text_analyzer
from .caches import LRUCache, remembered
from .keyterms import DROPPED_STEMS
from .snapshot import Snapshot

MAX_WORDS = 8  # the longest condition name looked for, in analyzed words
# The condition facet's values that name who takes part, not what they have ("Healthy
# Volunteers", "Children", "Pregnancy", whose own reading is patient.py's): a description says
# these words of everyone ("four children", "a healthy mother").
NOT_CONDITIONS = frozenset(analyze(
    "healthy volunteers volunteer adult adults child children infant infants newborn neonate "
    "elderly aged aging women men students subjects participants people persons population "
    "control controls normal pregnancy pregnant family caregivers staff"))
# Words after which a condition is not the patient's, for the next SCOPE_WORDS words at most
# and never past the sentence, a closing bracket or a "but": a denial ("no", "denies",
# "without", "negative for"), or the family ("family history of", "her mother has").
_NEGATIONS = frozenset("no not denies denied deny denying without negative free absent absence "
                       "never nor ruled".split())
_FAMILY = frozenset("family mother father brother brothers sister sisters sibling siblings aunt "
                    "uncle cousin grandmother grandfather".split())
# What makes a relative's sentence about the relative's health ("her mother has", "his brother
# underwent"), within the next three words; "her mother reports that she ..." is the patient's.
_FAMILY_HEALTH = frozenset("has had have with history diagnosed died underwent suffers suffered "
                           "is was".split())
_SCOPE_ENDS = frozenset("but however although though except whereas yet".split())
SCOPE_WORDS = 10
_SENTENCE_GAP = re.compile(r"[.!?;)\]\n]")
_CLAUSE_GAP = re.compile(r"[,;:.!?()\[\]\n]")
# A condition name's last word (its head: "pain" of "abdominal pain") must be one the studies
# use mostly as a condition: in at least this share of the studies whose text holds it, among
# their listed conditions, and in no fewer studies' conditions than interventions. On the
# shared corpus this keeps pain (0.49), fever (0.35), stroke (0.27), tumor (0.29) and cough
# (0.22), and leaves out the facet's other values: treatment (0.01), surgery (0.08), doses,
# symptoms, hospitalization, aspirin, interferon, "blood pressure" and "kidney function".
CONDITION_SHARE = 0.15
MIN_STUDIES = 2  # a one-word condition name must be listed by this many studies ("Happiness": 1)
# ... and listed alone by at least this share of the studies with the word among their
# conditions: "Breast" (6 of 1,114), "Tumor" (7 of 631) and "Liver" are parts of names;
# "Hypertension" (232 of 267), "Pain" (40 of 107) and "Edema" (1 of 16, with its plural) are
# names.
NAMED_ALONE = 0.05
VOCABULARIES_KEPT = 2  # the live generation's, and the one it replaced while searches finish


@dataclass(frozen=True)
class Condition:
    """A condition the patient has: `name` as the index spells it ("Hypertension"), `text` as
    the description wrote it ("HTN"), and `synonyms`, the other names the index knows for it
    (an abbreviation's long form, MeSH's words). `forms` are all of them analyzed, for finding
    the condition in a study's conditions and criteria."""

    name: str
    text: str
    synonyms: tuple[str, ...] = ()
    forms: tuple[tuple[str, ...], ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict:
        """JSON-ready form, as the API returns it."""
        return {"name": self.name, "text": self.text, "synonyms": list(self.synonyms)}


class ConditionVocabulary:
    """The condition names of one generation, analyzed: `names` (analyzed words -> the
    spelling most studies use), `synonyms` (analyzed words -> the other names) and
    `abbreviations` (short form as written -> the analyzed condition it stands for)."""

    def __init__(self, names: dict[tuple[str, ...], str], synonyms: dict[tuple[str, ...], list[str]],
                 abbreviations: dict[str, tuple[str, ...]]):
        self.names = names
        self.synonyms = synonyms
        self.abbreviations = abbreviations

    @classmethod
    def of(cls, snap: Snapshot) -> ConditionVocabulary:
        """`snap`'s vocabulary (built once per generation: about 1 s per 50,000 condition names)."""
        kept = remembered(_VOCABULARIES, id(snap), lambda: (snap, cls._build(snap)))
        if kept[0] is not snap:  # an id reused by a later snapshot
            kept = _VOCABULARIES[id(snap)] = (snap, cls._build(snap))
        return kept[1]

    @classmethod
    def _build(cls, snap: Snapshot) -> ConditionVocabulary:
        reader = snap.searcher.reader()
        best: dict[tuple[str, ...], tuple[int, str]] = {}  # the spelling most studies use
        listed: Counter = Counter()  # studies listing the name, in any spelling
        if "conditions_facet" in reader.schema:
            for btext in reader.lexicon("conditions_facet"):
                spelling = btext.decode("utf-8")
                key = tuple(analyze(spelling))
                studies = reader.doc_frequency("conditions_facet", btext)
                listed[key] += studies
                if studies > best.get(key, (0, ""))[0]:
                    best[key] = (studies, " ".join(spelling.split()))
        head_is_condition = _HeadWords(reader)
        spelled = {key: spelling for key, (_, spelling) in best.items()
                   if _is_condition(key) and head_is_condition(key, listed[key])}
        synonyms: dict[tuple[str, ...], list[str]] = {}
        for key, others in snap.expansions.concepts.items():  # MeSH's words for a condition
            if _is_condition(key):
                spelled.setdefault(key, snap.expansions.label(key))
                synonyms[key] = [snap.expansions.label(other) for other in others]
        abbreviations = {}
        for short, long_forms in snap.abbreviations.items():
            for long_form in long_forms:  # only those that stand for a condition
                key = tuple(analyze(long_form))
                if key in spelled and any(c.isupper() for c in short):
                    abbreviations[short] = key
                    break
        return cls(spelled, synonyms, abbreviations)

    def condition(self, key: tuple[str, ...], text: str) -> Condition:
        """The condition `key` (analyzed words the vocabulary holds), written `text`."""
        name = self.names.get(key, text)
        # Other names: the text as written where it is not the name spelled another way ("HTN",
        # not "non small cell lung cancer"), and the vocabulary's synonyms.
        others = {tuple(analyze(s)): s for s in [*self.synonyms.get(key, ()), text]}
        others.pop(key, None)
        forms = tuple(form for form in [key, *others] if form)
        return Condition(name, text, tuple(others.values()), forms)

    def find(self, text: str) -> tuple[Condition, ...]:
        """The conditions `text` names as the patient's, in the order it names them, each once:
        the longest name at each place ("small cell lung cancer" before "lung cancer"), an
        abbreviation as written in capitals ("HTN", not "htn")."""
        tokens = _tokens(text)
        found: dict[str, Condition] = {}
        i = 0
        while i < len(tokens):
            stem, original, clause, mine = tokens[i]
            size = next((n for n in range(min(MAX_WORDS, len(tokens) - i), 0, -1)
                         if tokens[i + n - 1][2] == clause
                         and tuple(t[0] for t in tokens[i:i + n]) in self.names), 0)
            if size == 1 and not _same_word(original, self.names[(stem,)]):
                size = 0  # one word stemmed alike, not the same word: "entering", Enteritis
            if size:
                key = tuple(t[0] for t in tokens[i:i + size])
                written = " ".join(t[1] for t in tokens[i:i + size])
            elif original in self.abbreviations:
                key, written, size = self.abbreviations[original], original, 1
            else:
                i += 1
                continue
            if mine and all(t[3] for t in tokens[i:i + size]):
                condition = self.condition(key, written)
                found.setdefault(condition.name.lower(), condition)
            i += size
        return tuple(found.values())

    def given(self, names: Iterable[str]) -> tuple[Condition, ...]:
        """Conditions a person typed (editing what was read): each as the vocabulary knows it
        when it does, else as typed."""
        conditions = []
        for typed in names:
            key = tuple(analyze(typed))
            if key:
                conditions.append(self.condition(key, " ".join(typed.split())))
        return tuple({c.name.lower(): c for c in conditions}.values())


_VOCABULARIES: LRUCache = LRUCache(VOCABULARIES_KEPT)


def conditions_named(snap: Snapshot, text: str) -> tuple[Condition, ...]:
    """The conditions `text` (a patient's description) names as the patient's, by the index's
    vocabulary of condition names, their MeSH synonyms and abbreviations."""
    return ConditionVocabulary.of(snap).find(text)


class _HeadWords:
    """Whether a condition name's head word is mostly a condition in the index (see
    CONDITION_SHARE; remembered per word), and a one-word name is listed alone often enough
    (see NAMED_ALONE)."""

    def __init__(self, reader):
        self.reader = reader
        self.fields = [name for name in DEFAULT_FIELD_BOOSTS if name in reader.schema]
        self.known: dict[str, bool] = {}

    def __call__(self, key: tuple[str, ...], listed: int) -> bool:
        heads = [word for word in key if len(word) > 1 and not word.isdigit()]
        if not heads:
            return False
        head = heads[-1]
        if head not in self.known:
            counts = {name: self.reader.doc_frequency(name, head) for name in self.fields}
            in_conditions = counts.get("condition", 0)
            self.known[head] = (in_conditions >= CONDITION_SHARE * max(max(counts.values()), 1)
                                and in_conditions >= counts.get("intervention", 0))
        if len(key) > 1:
            return self.known[head]
        return (self.known[head] and listed >= MIN_STUDIES
                and listed >= NAMED_ALONE * self.reader.doc_frequency("condition", head))


def _same_word(written: str, name: str) -> bool:
    """Whether a word as written is the one-word condition `name`, or its plural ("tremors",
    Tremor; "Seizure", Seizures); not another word of the same stem ("esophageal",
    Esophagitis; "smokes", Smoking)."""
    a, b = written.lower(), name.lower()
    return a == b or a.rstrip("s") == b.rstrip("s") or a.removesuffix("es") == b.removesuffix("es")


def _is_condition(key: tuple[str, ...]) -> bool:
    """Whether analyzed words can name a condition: not only narrative or population words
    ("patient", "healthy volunteers"), not a number."""
    return bool(key) and not all(w in NOT_CONDITIONS or w in DROPPED_STEMS or w.isdigit() for w in key)


def _tokens(text: str) -> list[tuple[str, str, int, bool]]:
    """Each word `text` keeps when analyzed, as (stem, the word as written, its clause's number,
    whether it is said of the patient: see _NEGATIONS and _FAMILY)."""
    words, clause, last_end = [], 0, 0
    for token in text_analyzer()(text, chars=True, keeporiginal=True, removestops=False):
        gap = text[last_end:token.startchar]
        last_end = token.endchar
        clause += bool(_CLAUSE_GAP.search(gap))
        words.append((token.text, token.original, clause, token.stopped, bool(_SENTENCE_GAP.search(gap))))
    tokens, left = [], 0  # left: the words of the current scope still to come
    for i, (stem, original, clause, stopped, new_sentence) in enumerate(words):
        word = original.lower()
        if new_sentence or word in _SCOPE_ENDS:
            left = 0
        if word in _NEGATIONS or (word in _FAMILY and (word == "family" or any(
                w[1].lower() in _FAMILY_HEALTH for w in words[i + 1:i + 4]))):
            left = SCOPE_WORDS
        if not stopped:
            tokens.append((stem, original, clause, left == 0))
            left = max(left - 1, 0)
    return tokens
