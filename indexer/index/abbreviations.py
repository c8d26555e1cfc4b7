"""Abbreviations mined from the corpus: short form <-> long form pairs such as MSC <->
"mesenchymal stem cell".

Two spellings occur in trial text:
- parenthesized, as in API JSON: "mesenchymal stem cells (MSCs)" -- matched with the
  Schwartz & Hearst (2003) rule, made stricter: the short form's characters are found right
  to left in the words before it, its first character starting a word (or a hyphenated part,
  "anti-pertussis toxin (PT)" gives "pertussis toxin") where the long form starts. The words
  are taken after the last sentence or clause break, the long form may not start with a stop
  word, and every content word in it must give the short form a character, all but one of them
  their first ("HEalth caRe wOrkErS (HEROES)" is no pair). Of the alignments that qualify, the
  one putting most characters at word starts wins, the nearest on a tie: so "African Americans
  (AA)" is "african americans", not "americans"; a single word the short form begins
  ("Favipiravir (Favipira)") is no long form;
- bare, as in the plain-text export where punctuation is stripped: "liver cirrhosis LC" --
  stricter, since there are no brackets to mark intent: an all-capitals token whose letters
  are exactly the initials of the words before it. Only texts without a bracket are read so
  (the export has none; elsewhere a bracket marks intent and bare capitals are mostly names).

Each study counts once per pair, so the counts are the studies stating it. Not every mined pair
is expanded (`effective`): a long form is dropped when it is a small minority of the studies that
give its short form a long form, when another short form has more studies for it (NTZ over NTX
for "nitazoxanide"), when its short form has several long forms and it has one study,
and when its short form is ambiguous -- two characters ("CA", "MI") or an ordinary word that some
study writes in lower case ("match") -- and it has one study. On ../shared/data this keeps 428 of
the 587 mined pairs; a seeded random 100 of them are judged in
tests/fixtures/abbreviations-judged.tsv (the bar: 95 correct).

The pairs are written beside each index generation (`abbreviations.json`, with the lower-case
word counts of the mined short forms, in a separate `concepts` section the condition
synonyms of `concepts.py` with their study counts, and in a `conditions` section the
condition names and lay names of `condition_names.py`; a file without a section has none),
so a query can expand `MSC` to the long form and back. A user synonym file adds or vetoes pairs (its
pairs are always expanded):

    # comments and blank lines are ignored
    MSC = mesenchymal stem cell        adds a pair
    !LC = lung cancer                  vetoes one pair
    !CT                                vetoes every pair for CT
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TrialsearchError
from ..model import Study
from .analysis import analyze
from .concepts import ConceptPairs
from .condition_names import ConditionCounts
from .layout import ABBREVIATIONS_FILE

MAX_LONG_FORMS = 3  # per short form, most frequent first: keeps expansions cheap and precise
USER_COUNT = 1_000_000  # the count a synonym file's pair gets: it outranks every mined one
MIN_SHARE = 0.2  # a long form stated by fewer of a short form's studies than this is dropped
SEVERAL_MIN_STUDIES = 2  # studies each long form needs when a short form has several
AMBIGUOUS_MIN_STUDIES = 2  # studies a 2-character or ordinary-word short form needs per long form
WORD_MIN_STUDIES = 1  # a study writing a short form in lower case as a word makes it an ordinary word

_PAREN = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9\-]{1,9})\s*\)")
_WORD_PARTS = re.compile(r"[A-Za-z0-9]+")
_BARE_SHORT = re.compile(r"^[A-Z][A-Z0-9]{1,6}s?$")
# Where a long form cannot reach back over: a sentence or clause break, a bracket, a paragraph
# break ("~" joins paragraphs in some exports), an equals sign, a bar.
_BREAK = re.compile(r"[.!?;:,](?=\s|~|$)|[~\n\r\t()\[\]{}<>=|]")
_QUOTES = re.compile("[\"\u201c\u201d\u00ab\u00bb]")
_TOKEN = re.compile(r"\S+")
_NOT_IN_LONG_FORMS = re.compile(r"\b(which|that|or)\b")
_LONG_FORM_CHARS = re.compile(r"^[^\W_][\w\s\-'\u2019/&+.]*$")
_LOWER_WORD = re.compile(r"(?<![\w\-])[a-z]{2,10}(?![\w\-])")
_SYNONYM_LINE = re.compile(r"^(!?)\s*([A-Za-z][\w\-]{0,14})\s*(?:=\s*(.+?))?\s*$")
_LOOKBACK = 400  # characters before "(" searched for the long form (its words fit easily)
# Words a long form may not start with, and that need not give the short form a character.
_STOP_WORDS = frozenset("""
    a an the and or nor of in on at to for with without by from as is are was were be been
    its it their our his her this that these those which who whom whose into onto than vs versus
    via per not no all both each such also using during after before between among under over
    against within s""".split())  # "s": an apostrophe lost ("Sjogren s syndrome")


def _canonical_short(short: str) -> str:
    # "MSCs" and "MSC" are one abbreviation.
    if len(short) > 2 and short.endswith("s") and short[:-1].isupper():
        short = short[:-1]
    return short.upper()


def _spelling_key(long_form: str) -> str:
    # Spellings one study may use for one long form: "stem cell", "stem cells", "stem-cells".
    return " ".join(word.rstrip("s") for word in _WORD_PARTS.findall(long_form))


def _is_initial(text: str, pos: int) -> bool:
    return pos == 0 or text[pos - 1] in " -/\u2010\u2011"


def _schwartz_hearst(short: str, candidate: str) -> str | None:
    """The long form `candidate` ends with for `short`, or None.

    `short`'s letters and digits must appear in order in the long form, the first one starting
    its first word (or a hyphenated part of it), which is no stop word, and every word that is
    no stop word must hold one of them, all but one of those words at its start. Of the
    alignments that do, the one with most characters at word starts wins, then the shortest.
    """
    chars = [c for c in short.lower() if c.isalnum()]
    low = candidate.lower()
    tokens = list(_TOKEN.finditer(low))
    if not chars or not tokens:
        return None
    starts = [m.start() for m in tokens]
    content = [m.group().strip("-/'\u2019&+") not in _STOP_WORDS for m in tokens]

    def token(pos: int) -> int:
        return bisect_right(starts, pos) - 1

    # Right to left: for each place of chars[i], the best (content words hit, characters at
    # word starts) over the places of chars[i+1:] after it.
    positions = []
    for char in chars:
        found, at = [], low.find(char)
        while at >= 0:
            found.append(at)
            at = low.find(char, at + 1)
        if not found:
            return None
        positions.append(found)
    best = {p: (0, 0) for p in positions[-1]}
    for i in range(len(chars) - 2, -1, -1):
        here = {}
        for p in positions[i]:
            tp, top = token(p), None
            for q, (hits, initials) in best.items():
                if q > p:
                    tq = token(q)
                    score = (hits + (tq != tp and content[tq]), initials + _is_initial(low, q))
                    if top is None or score > top:
                        top = score
            if top is not None:
                here[p] = top
        if not here:
            return None
        best = here
    chosen, chosen_rank = None, None
    for p, (hits, initials) in best.items():
        if not _is_initial(low, p):
            continue
        t = token(p)
        first_word = _WORD_PARTS.match(low, p)
        if first_word is None or first_word.group() in _STOP_WORDS or not content[t]:
            continue
        words = sum(content[t:])
        # Every word gives a character, all but one of them their first: "health care workers"
        # is no long form of HEROES.
        if hits + 1 < words or initials + 1 < words - 1:
            continue
        if chosen_rank is None or (initials, p) > chosen_rank:
            chosen, chosen_rank = p, (initials, p)
    return None if chosen is None else candidate[chosen:].strip()


def _initials_match(short: str, words: list[str]) -> bool:
    letters = [c.lower() for c in short if c.isalpha()]
    return len(letters) == len(words) and words[0].lower() not in _STOP_WORDS and all(
        w[0].lower() == c and not w.isupper() for w, c in zip(words, letters))


def _plausible_short(short: str) -> bool:
    # Two letters, one capital at least, and a capital first unless there are two: "mRNA" and
    # "Ig" are abbreviations, "mA", "mL" and "pH" units.
    capitals = sum(c.isupper() for c in short)
    return (sum(c.isalpha() for c in short) >= 2 and capitals >= 1
            and (short[0].isupper() or capitals >= 2))


def mine_pairs(text: str) -> Iterator[tuple[str, str]]:
    """Yield (short form, long form) pairs found in one text."""
    for match in _PAREN.finditer(text):
        short = match.group(1)
        if not _plausible_short(short):
            continue
        letters = len(re.sub(r"[^A-Za-z0-9]", "", short))
        start = max(0, match.start() - _LOOKBACK)
        before = _QUOTES.sub(" ", text[start: match.start()])
        breaks = [m.end() for m in _BREAK.finditer(before)]
        if breaks:
            before = before[breaks[-1]:]
        words = before.split()
        if start > 0 and not breaks:
            words = words[1:]  # the first may be cut
        long_form = _schwartz_hearst(short, " ".join(words[-min(letters + 5, letters * 2):]))
        if (long_form and len(long_form) > len(short) and _LONG_FORM_CHARS.match(long_form)
                and not _NOT_IN_LONG_FORMS.search(long_form.lower())
                and not (" " not in long_form and long_form.lower().startswith(short.lower()))):
            yield _canonical_short(short), long_form.lower()
    if "(" in text:
        return
    parts = _WORD_PARTS.findall(text)
    for i, token in enumerate(parts):
        if not _BARE_SHORT.match(token):
            continue
        short = _canonical_short(token)
        n = sum(c.isalpha() for c in short)
        if n >= 2 and i >= n and _initials_match(short, parts[i - n:i]):
            yield short, " ".join(parts[i - n:i]).lower()


def _letters(short: str) -> str:
    """A short form's letters and digits: "SARS-CoV-2" and "SARS-CoV2" are written alike."""
    return re.sub(r"[^A-Z0-9]", "", short.upper())


def _mined(count: int) -> int:
    """The part of a count that was mined (a synonym file's pair adds USER_COUNT)."""
    return count % USER_COUNT


@dataclass
class Abbreviations:
    """Short form -> long forms, with counts, and the lookups query expansion needs."""

    pairs: dict[str, dict[str, int]] = field(default_factory=dict)  # SHORT -> {long: studies}
    vetoed: set[tuple[str, str | None]] = field(default_factory=set)  # (SHORT, long or None)
    # Lower-case word -> studies that write it as a word: tells which short forms are also
    # ordinary words ("match", "set"). Stored for the mined short forms only.
    words: Counter = field(default_factory=Counter, compare=False, repr=False)
    # `effective()` as the writer stored it: it analyzes every long form (seconds for a
    # registry), so the indexer pays once and a server only reads it; any change drops it.
    stored_effective: dict[str, list[str]] | None = field(default=None, compare=False, repr=False)
    # Condition synonyms mined from the registry's MeSH as-found words, with their study counts
    # (`concepts.py`), stored in the same file as a separate section: not abbreviations, and
    # never part of `effective()`. A file written before them has none.
    concepts: ConceptPairs = field(default_factory=ConceptPairs, compare=False, repr=False)
    # Condition strings and MeSH terms with their study counts, and the pairs between them
    # (`condition_names.py`): only the search side's condition vocabulary reads them, never
    # query expansion.
    conditions: ConditionCounts = field(default_factory=ConditionCounts, compare=False, repr=False)

    def add_study(self, study: Study) -> None:
        """Mine one study's titles and descriptions: each pair counts once per study."""
        found: dict[tuple[str, str], tuple[str, str]] = {}
        words: set[str] = set()
        for text in (study.brief_title, study.official_title, study.brief_summary,
                     study.detailed_description):
            if not text:
                continue
            for short, long_form in mine_pairs(text):
                found.setdefault((short, _spelling_key(long_form)), (short, long_form))
            words.update(_LOWER_WORD.findall(text))
        for short, long_form in found.values():
            self.add(short, long_form)
        self.concepts.add_study(study)
        self.conditions.add_study(study)
        if words:
            self.stored_effective = None
            self.words.update(words)

    def add(self, short: str, long_form: str, count: int = 1) -> None:
        """Count one occurrence of a pair."""
        self.stored_effective = None
        forms = self.pairs.setdefault(_canonical_short(short), {})
        forms[long_form] = forms.get(long_form, 0) + count

    def merge(self, other: Abbreviations) -> None:
        """Add another map's pairs (used when an update mines new records)."""
        for short, forms in other.pairs.items():
            for long_form, count in forms.items():
                self.add(short, long_form, count)
        self.words.update(other.words)
        self.concepts.merge(other.concepts)
        self.conditions.merge(other.conditions)

    def apply_user_file(self, path: str | Path) -> None:
        """Add and veto pairs from a synonym file (format in the module docstring)."""
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TrialsearchError(f"cannot read synonym file {path}: {exc}") from exc
        for number, raw in enumerate(lines, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            match = _SYNONYM_LINE.match(line)
            if not match or (not match.group(1) and not match.group(3)):
                raise TrialsearchError(f"{path}: line {number}: expected 'SHORT = long form', "
                                       f"'!SHORT = long form' or '!SHORT', got {raw.strip()!r}")
            veto, short, long_form = match.groups()
            short = _canonical_short(short)
            long_form = long_form.lower() if long_form else None
            if veto:
                self.vetoed.add((short, long_form))
                self.stored_effective = None
            else:
                self.add(short, long_form, count=USER_COUNT)  # user pairs outrank mined ones

    def is_ordinary_word(self, short: str) -> bool:
        """Whether the records also write `short` in lower case as a word ("match", "set")."""
        return short.isalpha() and self.words.get(short.lower(), 0) >= WORD_MIN_STUDIES

    def effective(self) -> dict[str, list[str]]:
        """Short form -> its kept long forms (most frequent first, vetoes applied), merging
        spellings that analyze alike ("stem cell" / "stem cells"); a long form from a synonym
        file is always kept, a mined one as the module docstring says."""
        if self.stored_effective is not None:
            return self.stored_effective
        # SHORT -> [(analyzed long form, {spelling: count})], spellings that analyze alike merged.
        senses: dict[str, list[tuple[tuple, Counter]]] = {}
        for short, forms in sorted(self.pairs.items()):
            if (short, None) in self.vetoed:
                continue
            by_key: dict[tuple, Counter] = defaultdict(Counter)
            for long_form, count in forms.items():
                if (short, long_form) not in self.vetoed:
                    by_key[tuple(analyze(long_form))][long_form] += count
            senses[short] = list(by_key.items())
        # Studies per short form written alike ("SARS-CoV-2", "SARS-CoV2"), and per long form
        # and the short forms it is given.
        totals: Counter = Counter()
        owners: dict[tuple, Counter] = defaultdict(Counter)
        for short, groups in senses.items():
            for key, spellings in groups:
                support = sum(map(_mined, spellings.values()))
                totals[_letters(short)] += support
                owners[key][_letters(short)] += support
        result = {}
        for short, groups in senses.items():
            kept = []
            for key, spellings in groups:
                support = owners[key][_letters(short)]
                rival = max((n for other, n in owners[key].items() if other != _letters(short)),
                            default=0)
                if (any(n >= USER_COUNT for n in spellings.values())
                        or self._supported(short, support, totals[_letters(short)], rival)):
                    kept.append(spellings)
            ranked = sorted(kept, key=lambda c: -sum(c.values()))[:MAX_LONG_FORMS]
            if ranked:
                result[short] = [c.most_common(1)[0][0] for c in ranked]
        return result

    def _supported(self, short: str, support: int, total: int, rival: int) -> bool:
        """Whether a mined long form stated by `support` studies is expanded, when `total`
        studies give `short` a long form and `rival` studies give this long form to another
        short form."""
        if support < MIN_SHARE * total or support < rival:
            return False  # a small minority of the short form's uses, or another's long form
        if support < total and support < SEVERAL_MIN_STUDIES:
            return False  # the short form has several long forms: each needs more than one study
        ambiguous = len(_letters(short)) <= 2 or self.is_ordinary_word(short)
        return support >= AMBIGUOUS_MIN_STUDIES or not ambiguous

    def to_json(self) -> str:
        """The form stored beside an index generation (see `load`)."""
        vetoed = sorted([short, long_form] for short, long_form in self.vetoed)
        words = {short.lower(): self.words[short.lower()] for short in self.pairs
                 if short.isalpha() and self.words.get(short.lower())}
        return json.dumps({"pairs": self.pairs, "vetoed": vetoed, "words": words,
                           "effective": self.effective(), "concepts": self.concepts.to_dict(),
                           "conditions": self.conditions.to_dict()},
                          indent=1, sort_keys=True)

    @classmethod
    def load(cls, directory: Path) -> Abbreviations:
        """Read the pairs of an index generation ({} when it has none)."""
        try:
            data = json.loads((directory / ABBREVIATIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls(pairs=data.get("pairs", {}), vetoed={tuple(v) for v in data.get("vetoed", [])},
                   words=Counter(data.get("words", {})), stored_effective=data.get("effective"),
                   concepts=ConceptPairs.from_dict(data.get("concepts")),
                   conditions=ConditionCounts.from_dict(data.get("conditions")))

    @classmethod
    def from_studies(cls, studies: Iterable[Study]) -> Abbreviations:
        """Mine a collection of studies."""
        abbreviations = cls()
        for study in studies:
            abbreviations.add_study(study)
        return abbreviations
