"""What a study's eligibility criteria say, as lists: `parse_criteria` splits the registry's
text into inclusion and exclusion items (and any other lines), each as the registry wrote it
with its bullet or number taken off.

It reads the text the readers keep, lines and bullets as written::

    Inclusion Criteria:

    * Age over 18 years.
    * Signed informed consent.

    Exclusion Criteria:

    * Pregnancy.

and the one flattened paragraph indexes built before that stored (`Inclusion Criteria: * Age
over 18 years. * Signed informed consent. Exclusion Criteria: * Pregnancy.`), where headings
and bullets are found inside the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INCLUSION, EXCLUSION, OTHER = "inclusion", "exclusion", "other"

# A heading's words: "Inclusion Criteria", "Key exclusion criteria", "Non-inclusion criteria"
# (exclusion, as French registrations call it), or a bare "Exclusion" before a colon.
_HEADING = re.compile(
    r"(?:(?:key|main|major|general|principal|additional)\s+)?"
    r"(?P<kind>non[- ]?inclusion|inclusion|exclusion)(?:\s+criteri(?:a|on)\b|(?=\s*:))", re.I)
# Markdown around a heading line: "### Inclusion Criteria", "**Exclusion Criteria:**".
_HEADING_MARKUP = re.compile(r"^[#*_\s]+|[*_\s]+$")
# What may follow the heading's words on its own line and still be part of it: "Stage 1",
# "for Part A", "(cohort 2)"; a longer run is an item written after the heading.
_QUALIFIER_WORDS = 5
# A bullet or number in front of an item: `*`, `-`, `•` and kin, `1.`, `1)`, `(1)`; not the
# start of a number (`1.5 mg`, `-2 SD`).
_BULLET = re.compile(r"^(?:\*(?!\*)|[•·▪◦‣●○■□➢►✓–—]|-(?!\d)|\(\d{1,3}\)|\d{1,3}[.)](?!\d))\s*")
# A bullet inside a flattened paragraph (a dash counts only before a capital, see
# `_opens_item`); numbering starts at 1.
_INLINE_BULLET = re.compile(r"(?:^|(?<=\s))(?P<marker>[*•·▪◦‣●○■➢►]|[-–]|1[.)](?=\s))\s+(?=\S)")
_DASHES = frozenset("-–")


@dataclass(frozen=True)
class Section:
    """A run of criteria under one heading: `kind` is INCLUSION, EXCLUSION or OTHER (the lines
    before any heading), `heading` as written without its colon ('' for none), `items` the
    lines below it, bullets taken off."""

    kind: str
    heading: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Criteria:
    """A study's criteria as sections in the registry's order (a study may have several of a
    kind: "Inclusion Criteria Stage 1", "Inclusion criteria stage 2"); `inclusion`,
    `exclusion` and `other` give every item of a kind."""

    sections: tuple[Section, ...] = ()

    @property
    def inclusion(self) -> tuple[str, ...]:
        """Every inclusion item, in order."""
        return self._items(INCLUSION)

    @property
    def exclusion(self) -> tuple[str, ...]:
        """Every exclusion item, in order."""
        return self._items(EXCLUSION)

    @property
    def other(self) -> tuple[str, ...]:
        """The items under no inclusion or exclusion heading."""
        return self._items(OTHER)

    def _items(self, kind: str) -> tuple[str, ...]:
        return tuple(item for section in self.sections if section.kind == kind
                     for item in section.items)


def parse_criteria(text: str) -> Criteria:
    """The sections of a criteria text. Text of several lines is read line by line: a line
    starting with a heading's words begins a section (what follows its colon is an item),
    every other line is an item. Text of one line (as older indexes stored it) is split at
    its headings, and each part at the bullets it uses."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1:
        parts = _flattened(lines[0])
    else:
        parts = [part for line in lines for part in _line(line)]
    sections: list[Section] = []
    kind, heading, items = OTHER, "", []
    for is_heading, value, new_kind in parts:
        item = "" if is_heading else _BULLET.sub("", value.strip()).strip()
        if is_heading:
            if items or heading:
                sections.append(Section(kind, heading, tuple(items)))
            kind, heading, items = new_kind, value, []
        elif any(c.isalnum() for c in item):  # not a lone mark: `**` around a heading, a stray `*`
            items.append(item)
    if items or heading:
        sections.append(Section(kind, heading, tuple(items)))
    return Criteria(tuple(sections))


# A part of the text: (is a heading, its text, the kind a heading begins).
_Part = tuple[bool, str, str]


def _kind(words: str) -> str:
    return INCLUSION if words.lower() == "inclusion" else EXCLUSION


def _line(line: str) -> list[_Part]:
    """A line as a heading (and the item written after it) or as an item. A bulleted line is
    a heading only when it holds nothing else ("- INCLUSION CRITERIA:"): "- Exclusion
    criteria of the main study apply" is an item."""
    bulleted = bool(_BULLET.match(line))
    bare = _HEADING_MARKUP.sub("", _BULLET.sub("", line))
    match = _HEADING.match(bare)
    if not match:
        return [(False, line, "")]
    kind = _kind(match.group("kind"))
    rest = bare[match.end():]
    before, colon, after = rest.partition(":")
    if bulleted and (after if colon else rest).strip():
        return [(False, line, "")]
    if colon and len(before.split()) <= _QUALIFIER_WORDS:
        heading, item = bare[:match.end()] + before, after
    elif len(rest.split()) <= _QUALIFIER_WORDS:
        heading, item = bare, ""
    else:
        heading, item = bare[:match.end()], rest
    parts: list[_Part] = [(True, heading.strip(), kind)]
    # What follows the heading, without the dash or the Markdown that closed it.
    if item := item.strip(" -–*_"):
        parts.append((False, item, ""))
    return parts


def _flattened(line: str) -> list[_Part]:
    """One line holding a whole text: split at the headings (written with a capital or
    followed by a colon: "the inclusion criteria of a study" is no heading), each part at
    its bullets."""
    headings = [match for match in _HEADING.finditer(line)
                if (match.start() == 0 or not line[match.start() - 1].isalnum())
                and (match.group(0)[0].isupper() or line[match.end():].lstrip().startswith(":"))]
    parts: list[_Part] = []
    starts = [0, *(match.start() for match in headings)]
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(line)])):
        text = line[start:end]
        if number:
            match = headings[number - 1]
            parts.append((True, match.group(0), _kind(match.group("kind"))))
            text = line[match.end():end].lstrip().removeprefix(":")
        parts.extend((False, item, "") for item in _split_bullets(text))
    return parts


def _opens_item(match: re.Match, text: str) -> bool:
    """Whether an inline bullet opens an item: a dash between words or numbers (`18 - 65
    years`, `severity - that is`) does not, one before a capital or a bracket does."""
    follows = text[match.end()]
    return match.group("marker") not in _DASHES or follows.isupper() or follows == "("


def _split_bullets(text: str) -> list[str]:
    """A flattened list's items: what precedes the first bullet, then one item per bullet of
    the same kind (numbers must follow on: 1., 2., 3.)."""
    text = text.strip()
    first = next((found for found in _INLINE_BULLET.finditer(text) if _opens_item(found, text)),
                 None)
    if not first:
        return [text] if text else []
    marker = first.group("marker")
    if marker[0] == "1":
        bounds, number = [first], 2
        while found := re.compile(rf"(?<=\s){number}[.)]\s+").search(text, bounds[-1].end()):
            bounds.append(found)
            number += 1
    else:
        same = re.compile(rf"(?<=\s)(?P<marker>{re.escape(marker)})\s+(?=\S)")
        bounds = [first, *(found for found in same.finditer(text, first.end())
                           if _opens_item(found, text))]
    ends = [found.start() for found in bounds[1:]] + [len(text)]
    items = [text[:first.start()], *(text[found.end():end] for found, end in zip(bounds, ends))]
    return [item.strip() for item in items if item.strip()]
