"""Abbreviations mined from the corpus: short form <-> long form pairs such as MSC <->
"mesenchymal stem cell".

Two spellings occur in trial text:
- parenthesized, as in API JSON: "mesenchymal stem cells (MSCs)" -- matched with the
  Schwartz & Hearst (2003) rule: the short form's characters appear in order in the words
  before it, the first one starting a word;
- bare, as in the plain-text export where punctuation is stripped: "liver cirrhosis LC" --
  stricter, since there are no brackets to mark intent: an all-capitals token whose letters
  are exactly the initials of the words before it.

The pairs are written beside each index generation (`abbreviations.json`), so a query can
expand `MSC` to the long form and back. A user synonym file adds or vetoes pairs:

    # comments and blank lines are ignored
    MSC = mesenchymal stem cell        adds a pair
    !LC = lung cancer                  vetoes one pair
    !CT                                vetoes every pair for CT
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TrialsearchError
from ..model import Study
from .analysis import analyze
from .layout import ABBREVIATIONS_FILE

MAX_LONG_FORMS = 3  # per short form, most frequent first: keeps expansions cheap and precise

_PAREN = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9\-]{1,9})\s*\)")
_WORD_PARTS = re.compile(r"[A-Za-z0-9]+")
_BARE_SHORT = re.compile(r"^[A-Z][A-Z0-9]{1,6}s?$")
_CLAUSE_BREAK = re.compile(r"[,;:.]\s|\b(which|that|and|or)\b", re.I)
_SYNONYM_LINE = re.compile(r"^(!?)\s*([A-Za-z][\w\-]{0,14})\s*(?:=\s*(.+?))?\s*$")


def _canonical_short(short: str) -> str:
    # "MSCs" and "MSC" are one abbreviation.
    if len(short) > 2 and short.endswith("s") and short[:-1].isupper():
        short = short[:-1]
    return short.upper()


def _schwartz_hearst(short: str, candidate: str) -> str | None:
    """The shortest tail of `candidate` that holds `short`'s characters in order."""
    s, pos = len(short) - 1, len(candidate) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        while pos >= 0 and (candidate[pos].lower() != char or
                            (s == 0 and pos > 0 and candidate[pos - 1].isalnum())):
            pos -= 1
        if pos < 0:
            return None
        pos -= 1
        s -= 1
    start = candidate.rfind(" ", 0, pos + 1) + 1
    return candidate[start:].strip()


def _initials_match(short: str, words: list[str]) -> bool:
    letters = [c.lower() for c in short if c.isalpha()]
    return len(letters) == len(words) and all(
        w[0].lower() == c and not w.isupper() for w, c in zip(words, letters))


def mine_pairs(text: str) -> Iterator[tuple[str, str]]:
    """Yield (short form, long form) pairs found in one text."""
    for match in _PAREN.finditer(text):
        short = match.group(1)
        if sum(c.isupper() for c in short) < 1 or sum(c.isalpha() for c in short) < 2:
            continue
        letters = len(re.sub(r"[^A-Za-z0-9]", "", short))
        before = text[: match.start()].split()[-min(letters + 5, letters * 2):]
        long_form = _schwartz_hearst(short, " ".join(before))
        # A clause break inside means the letters were gathered across a sentence, not a name.
        if (long_form and len(long_form) > len(short) and not _CLAUSE_BREAK.search(long_form)
                and short.lower() not in long_form.lower()):
            yield _canonical_short(short), long_form.lower()
    parts = _WORD_PARTS.findall(text)
    for i, token in enumerate(parts):
        if not _BARE_SHORT.match(token):
            continue
        short = _canonical_short(token)
        n = sum(c.isalpha() for c in short)
        if n >= 2 and i >= n and _initials_match(short, parts[i - n:i]):
            yield short, " ".join(parts[i - n:i]).lower()


@dataclass
class Abbreviations:
    """Short form -> long forms, with counts, and the lookups query expansion needs."""

    pairs: dict[str, dict[str, int]] = field(default_factory=dict)  # SHORT -> {long: count}
    vetoed: set[tuple[str, str | None]] = field(default_factory=set)  # (SHORT, long or None)
    # `effective()` as the writer stored it: it analyzes every long form (seconds for a
    # registry), so the indexer pays once and a server only reads it; any change drops it.
    stored_effective: dict[str, list[str]] | None = field(default=None, compare=False, repr=False)

    def add_study(self, study: Study) -> None:
        """Mine one study's titles and descriptions."""
        for text in (study.brief_title, study.official_title, study.brief_summary,
                     study.detailed_description):
            for short, long_form in mine_pairs(text):
                self.add(short, long_form)

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
                self.add(short, long_form, count=1_000_000)  # user pairs outrank mined ones

    def effective(self) -> dict[str, list[str]]:
        """Short form -> its kept long forms (most frequent first, vetoes applied), merging
        spellings that analyze alike ("stem cell" / "stem cells")."""
        if self.stored_effective is not None:
            return self.stored_effective
        result = {}
        for short, forms in sorted(self.pairs.items()):
            if (short, None) in self.vetoed:
                continue
            by_key: dict[tuple, Counter] = defaultdict(Counter)
            for long_form, count in forms.items():
                if (short, long_form) not in self.vetoed:
                    by_key[tuple(analyze(long_form))][long_form] += count
            ranked = sorted(by_key.values(), key=lambda c: -sum(c.values()))[:MAX_LONG_FORMS]
            kept = [c.most_common(1)[0][0] for c in ranked if c]
            if kept:
                result[short] = kept
        return result

    def to_json(self) -> str:
        """The form stored beside an index generation (see `load`)."""
        vetoed = sorted([short, long_form] for short, long_form in self.vetoed)
        return json.dumps({"pairs": self.pairs, "vetoed": vetoed, "effective": self.effective()},
                          indent=1, sort_keys=True)

    @classmethod
    def load(cls, directory: Path) -> Abbreviations:
        """Read the pairs of an index generation ({} when it has none)."""
        try:
            data = json.loads((directory / ABBREVIATIONS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        return cls(pairs=data.get("pairs", {}), vetoed={tuple(v) for v in data.get("vetoed", [])},
                   stored_effective=data.get("effective"))

    @classmethod
    def from_studies(cls, studies: Iterable[Study]) -> Abbreviations:
        """Mine a collection of studies."""
        abbreviations = cls()
        for study in studies:
            abbreviations.add_study(study)
        return abbreviations
