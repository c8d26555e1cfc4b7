"""What a parsed query is expanded with before it runs.

Abbreviations: a short form mined from the corpus also matches its long forms and the reverse,
at a lower weight (`MSC` <-> "mesenchymal stem cell"). Multi-term words, against the index's
vocabulary and bounded: a prefix (`exo*`), a wildcard (`ex?s*`) or a fuzzy word (`exosme~`)
becomes an OR of at most MAX_EXPANSIONS terms, so `a*` over a registry-sized vocabulary stays
fast. Fuzzy words are compared as typed with the records' own words, and weigh less the more
edits they are from what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field

from whoosh import fields, query

from ..index.analysis import analyze, stem
from ..index.schema import PROSE_FIELDS
from .vocabulary import Vocabulary
from .whoosh_storage import expansion_terms

EXPANSION_BOOST = 0.5  # an abbreviation's other form ranks below what the user typed
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
    """The words a fuzzy word matches, each with its fewest edits (the caller keeps those the
    field holds, whose frequency it reads anyway). In prose
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
    return nearest


def _fuzzy_expansion(q: query.FuzzyTerm, vocabulary: Vocabulary) -> tuple[query.Query, list[str]]:
    """An OR of the terms a fuzzy word matches, weighted by their edits from it."""
    reader, fieldname, notices = vocabulary.reader, q.field(), []
    frequencies = {term: (distance, reader.doc_frequency(fieldname, term))
                   for term, distance in _fuzzy_matches(q, vocabulary).items()}
    ranked = sorted((distance, -frequency, term)
                    for term, (distance, frequency) in frequencies.items() if frequency)
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


@dataclass
class ExpansionMap:
    """Analyzed abbreviation pairs: short term -> long-form word tuples, and back."""

    short_to_long: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    long_to_short: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs: dict[str, list[str]]) -> ExpansionMap:
        """Analyze `{"MSC": ["mesenchymal stem cell"], ...}` as the index analyzed the text."""
        emap = cls()
        for short, long_forms in pairs.items():
            short_terms = analyze(short)
            if len(short_terms) != 1:
                continue  # compounds such as IL-6 are already phrases of their parts
            for long_form in long_forms:
                words = tuple(analyze(long_form))
                if len(words) >= 2:
                    emap.short_to_long.setdefault(short_terms[0], []).append(words)
                    emap.long_to_short.setdefault(words, []).append(short_terms[0])
        return emap


def bare_word(node: query.Query) -> str | None:
    """The analyzed word of a bare-word node (one Term, or the multifield Or of one word); None
    for anything else (a phrase, a field scope, a NOT, a wildcard)."""
    leaves = [node] if node.is_leaf() else list(node.leaves()) if isinstance(node, query.Or) else []
    if not leaves or any(type(leaf) is not query.Term or leaf.fieldname not in PROSE_FIELDS
                         for leaf in leaves):
        return None
    texts = {leaf.text for leaf in leaves}
    return texts.pop() if len(texts) == 1 else None


def _short_alternative(node: query.Query, shorts: list[str]) -> query.Query:
    """The short forms, in the same fields and at a lower weight than `node`'s leaves."""
    leaves = [node] if node.is_leaf() else node.leaves()
    return query.Or([query.Term(leaf.fieldname, short, boost=leaf.boost * EXPANSION_BOOST)
                     for leaf in leaves for short in shorts])


def _expand_runs(children: list[query.Query], emap: ExpansionMap, conjunctive: bool) -> list:
    """Find long forms typed as separate words ("mesenchymal stem cells") among siblings."""
    longest = max((len(words) for words in emap.long_to_short), default=0)
    words = [bare_word(child) for child in children]
    out, i = [], 0
    while i < len(children):
        for size in range(min(longest, len(children) - i), 1, -1):
            run = tuple(words[i:i + size])
            if None not in run and run in emap.long_to_short:
                alternative = _short_alternative(children[i], emap.long_to_short[run])
                if conjunctive:
                    out.append(query.Or([query.And(children[i:i + size]), alternative]))
                else:
                    out.extend([*children[i:i + size], alternative])
                i += size
                break
        else:
            out.append(expand_abbreviations(children[i], emap))
            i += 1
    return out


def expand_abbreviations(q: query.Query, emap: ExpansionMap) -> query.Query:
    """Let an abbreviation also match its long form and the reverse, at a lower weight:
    `MSC` -> `MSC OR "mesenchymal stem cell"^0.5`, and `"mesenchymal stem cells"` or the
    three bare words -> also `MSC^0.5`."""
    if not emap.short_to_long:
        return q
    if type(q) is query.Term and q.fieldname in PROSE_FIELDS and q.text in emap.short_to_long:
        return query.Or([q, *(query.Phrase(q.fieldname, list(words), boost=q.boost * EXPANSION_BOOST)
                              for words in emap.short_to_long[q.text])])
    if isinstance(q, query.Phrase) and tuple(q.words) in emap.long_to_short:
        return query.Or([q, _short_alternative(q, emap.long_to_short[tuple(q.words)])])
    if isinstance(q, (query.And, query.Or)):
        children = _expand_runs(list(q.subqueries), emap, conjunctive=isinstance(q, query.And))
        return type(q)(children, boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(lambda child: expand_abbreviations(child, emap))
