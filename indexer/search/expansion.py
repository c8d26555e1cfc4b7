"""Multi-term words expanded against the index's vocabulary, bounded: a prefix (`exo*`), a
wildcard (`ex?s*`) or a fuzzy word (`exosme~`) becomes an OR of at most MAX_EXPANSIONS terms,
so `a*` over a registry-sized vocabulary stays fast. Fuzzy words are compared as typed with the
records' own words, and weigh less the more edits they are from what was typed."""

from __future__ import annotations

from whoosh import fields, query

from ..index.analysis import stem
from ..index.schema import PROSE_FIELDS
from .vocabulary import Vocabulary
from .whoosh_storage import expansion_terms

MAX_EXPANSIONS = 50  # terms a prefix/wildcard/fuzzy word may expand to (most frequent kept)
MAX_EXPANSION_SCAN = 20_000  # vocabulary entries examined per expanding word
# A fuzzy word's matches weigh less the more edits they are from what was typed, so exact and
# nearer words rank first: exact, one edit, two edits.
FUZZY_DISTANCE_WEIGHTS = (1.0, 0.5, 0.25)
TEXT_FIELDS = (fields.TEXT, fields.KEYWORD, fields.ID)  # fields whose words are strings


def expand_multiterms(q: query.Query, vocabulary: Vocabulary, notices: list[str],
                      memo=None) -> query.Query:
    """Replace each prefix/wildcard/fuzzy leaf by an OR of at most MAX_EXPANSIONS of its
    most frequent terms, so `a*` over a registry-sized vocabulary stays fast. `memo(key,
    compute)`, when given, remembers each leaf's expansion (a vocabulary scan)."""
    if isinstance(q, query.MultiTerm) and not isinstance(q, query.Term):
        compute = lambda: _expansion(q, vocabulary)  # noqa: E731
        expanded, leaf_notices = memo(("expand", type(q), q), compute) if memo else compute()
        notices.extend(n for n in leaf_notices if n not in notices)
        return expanded
    if q.is_leaf():
        return q
    return q.apply(lambda child: expand_multiterms(child, vocabulary, notices, memo))


def _fuzzy_matches(q: query.FuzzyTerm, vocabulary: Vocabulary) -> dict[str, int]:
    """The terms of `q`'s field a fuzzy word matches, each with its fewest edits. In prose
    fields the word as typed is compared with the records' unstemmed words (the `vocab`
    field), whose stems are then searched, and with the field's stems: `exosomes~2` finds
    "exosome" and "exosomal", not "economic" (whose stem `econom` is two edits from
    `exosom`)."""
    fieldname, typed = q.field(), getattr(q, "typed", None)
    if typed is None or fieldname not in PROSE_FIELDS or "vocab" not in vocabulary.reader.schema:
        return dict(vocabulary.distances(fieldname, q.text, q.maxdist, q.prefixlength))
    nearest = {q.text: 0}
    # The typed word against the records' words, and against the field's stems (so `exosme~`
    # finds `exosom` even where only "exosomes", two edits away, is written).
    surface = vocabulary.distances("vocab", typed, q.maxdist, q.prefixlength)
    stems = vocabulary.distances(fieldname, typed, q.maxdist, q.prefixlength)
    for term, distance in [(stem(word), distance) for word, distance in surface] + stems:
        nearest[term] = min(distance, nearest.get(term, distance))
    return {term: distance for term, distance in nearest.items()
            if vocabulary.reader.doc_frequency(fieldname, term)}


def _fuzzy_expansion(q: query.FuzzyTerm, vocabulary: Vocabulary) -> tuple[query.Query, list[str]]:
    """An OR of the terms a fuzzy word matches, weighted by their edits from it."""
    reader, fieldname, notices = vocabulary.reader, q.field(), []
    ranked = sorted((distance, -reader.doc_frequency(fieldname, term), term)
                    for term, distance in _fuzzy_matches(q, vocabulary).items())
    if len(ranked) > MAX_EXPANSIONS:
        typed = getattr(q, "typed", q.text)
        notices.append(f"'{typed}~' matches {len(ranked)} words; the {MAX_EXPANSIONS} nearest "
                       "were searched")
        ranked = ranked[:MAX_EXPANSIONS]
    terms = [query.Term(fieldname, term, boost=q.boost * FUZZY_DISTANCE_WEIGHTS[min(distance, 2)])
             for distance, _, term in ranked]
    return (query.Or(terms) if terms else query.NullQuery), notices


def _expansion(q: query.MultiTerm, vocabulary: Vocabulary) -> tuple[query.Query, list[str]]:
    if isinstance(q, query.FuzzyTerm):
        return _fuzzy_expansion(q, vocabulary)
    reader, fieldname, notices = vocabulary.reader, q.field(), []
    field_type = reader.schema[fieldname]
    if type(q) is query.Prefix and isinstance(field_type, TEXT_FIELDS):
        words = vocabulary.starting_with(fieldname, q.text)  # bisection, not a lexicon walk
    else:
        words = expansion_terms(q, reader)
    expanded = []
    for i, word in enumerate(words):
        if i >= MAX_EXPANSION_SCAN:
            notices.append(f"'{q}' matches too many words; only part of the vocabulary was searched")
            break
        expanded.append((reader.doc_frequency(fieldname, word), word))
    if len(expanded) > MAX_EXPANSIONS:
        notices.append(f"'{q}' matches {len(expanded)} words; the {MAX_EXPANSIONS} most "
                       "frequent were searched")
        expanded = sorted(expanded, reverse=True)[:MAX_EXPANSIONS]
    terms = [query.Term(fieldname, field_type.from_bytes(t) if isinstance(t, bytes) else t,
                        boost=q.boost) for _, t in expanded]
    return (query.Or(terms) if terms else query.NullQuery), notices
