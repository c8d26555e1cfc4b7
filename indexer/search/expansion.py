"""What a parsed query is expanded with before it runs.

Abbreviations: a short form mined from the corpus also matches its long forms and the reverse,
at a lower weight (`MSC` <-> "mesenchymal stem cell"). Multi-term words, against the index's
vocabulary and bounded: a prefix (`exo*`), a wildcard (`ex?s*`) or a fuzzy word (`exosme~`)
becomes an OR of at most MAX_EXPANSIONS terms, so `a*` over a registry-sized vocabulary stays
fast. Fuzzy words are compared as typed with the records' own words, and weigh less the more
edits they are from what was typed.

Condition synonyms mined from the registry's MeSH as-found words (`index/concepts.py`) expand
the same way: a typed phrase or run of bare words equal to one also matches its synonyms as
phrases, at the same lower weight ("breast cancer" -> also "breast neoplasms"^0.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from whoosh import fields, query

from ..catalog.fields import PROSE_FIELDS
from ..index.analysis import analyze, stem
from ..whoosh.storage import expansion_terms
from .vocabulary import Vocabulary

EXPANSION_BOOST = 0.5  # an abbreviation's other form ranks below what the user typed
# A condition synonym pair is not expanded when either side is one word more than this share
# of the studies hold: on the shared corpus (3,991 studies) "infection" (24%, paired with
# "communicable diseases") and "coronavirus" (16%) are out; "depression" (2.3%), "diabetes"
# (1.2%), "fracture" and "dysphagia" (under 1%) stay.
COMMON_WORD_SHARE = 0.1
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
    """Analyzed abbreviation pairs: short term -> long-form word tuples, and back; and condition
    synonyms (`index/concepts.py`): phrase word tuple -> synonym word tuples, both ways. `labels`
    spell each analyzed form as the pairs did, for the list of expansions a search applied."""

    short_to_long: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    long_to_short: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    concepts: dict[tuple[str, ...], list[tuple[str, ...]]] = field(default_factory=dict)
    labels: dict[object, str] = field(default_factory=dict)

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
                    emap.labels.setdefault(("short", short_terms[0]), short)
                    emap.labels.setdefault(words, long_form)
        return emap

    def with_concepts(self, synonyms: dict[str, list[str]],
                      common: Callable[[str], bool] = lambda term: False) -> ExpansionMap:
        """This map plus condition synonyms `{"breast cancer": ["breast neoplasms"], ...}`
        (both ways, as `ConceptPairs.synonyms` gives them). A pair is left out when either side
        is one word `common(term)` calls very common (see COMMON_WORD_SHARE): "infection" <->
        "communicable diseases", where the one word says far less than the other side."""
        emap = ExpansionMap(dict(self.short_to_long), dict(self.long_to_short), {}, dict(self.labels))
        for phrase, others in synonyms.items():
            key = tuple(analyze(phrase))
            if not key or (len(key) == 1 and common(key[0])):
                continue
            for other in others:
                words = tuple(analyze(other))
                if not words or words == key or (len(words) == 1 and common(words[0])):
                    continue
                kept = emap.concepts.setdefault(key, [])
                if words not in kept:
                    kept.append(words)
                emap.labels.setdefault(key, phrase)
                emap.labels.setdefault(words, other)
        return emap

    def label(self, form: object) -> str:
        """How the pairs spell an analyzed form."""
        if isinstance(form, str):
            return self.labels.get(("short", form), form.upper())
        return self.labels.get(form, " ".join(form))


def bare_word(node: query.Query) -> str | None:
    """The analyzed word of a bare-word node (one Term, or the multifield Or of one word); None
    for anything else (a phrase, a field scope, a NOT, a wildcard)."""
    leaves = [node] if node.is_leaf() else list(node.leaves()) if isinstance(node, query.Or) else []
    if not leaves or any(type(leaf) is not query.Term or leaf.fieldname not in PROSE_FIELDS
                         for leaf in leaves):
        return None
    texts = {leaf.text for leaf in leaves}
    return texts.pop() if len(texts) == 1 else None


def bare_compound(node: query.Query) -> tuple[str, ...] | None:
    """The analyzed words of a bare compound word (`exercise-induced`, `covid-19`: one typed
    word the analyzer splits, so the parser made it a phrase in each default field); None for
    anything else."""
    leaves = list(node.leaves()) if isinstance(node, query.Or) else []
    if not leaves or any(type(leaf) is not query.Phrase or leaf.fieldname not in PROSE_FIELDS
                         for leaf in leaves):
        return None
    words = {tuple(leaf.words) for leaf in leaves}
    return words.pop() if len(words) == 1 else None


def _note(applied: list[tuple[str, str]] | None, typed: str, expanded: str) -> None:
    if applied is not None and (typed, expanded) not in applied:
        applied.append((typed, expanded))


def _phrase(fieldname: str, words: tuple[str, ...], boost: float) -> query.Query:
    return (query.Term(fieldname, words[0], boost=boost) if len(words) == 1
            else query.Phrase(fieldname, list(words), boost=boost))


def _alternatives(node: query.Query, words: tuple[str, ...], emap: ExpansionMap,
                  applied: list[tuple[str, str]] | None) -> list[query.Query]:
    """What `words` (a long form or a condition phrase, typed as `node`) also matches: its
    short forms and its synonyms, in `node`'s fields at a lower weight."""
    leaves = [node] if node.is_leaf() else list(node.leaves())
    out = []
    for short in emap.long_to_short.get(words, []):
        _note(applied, emap.label(words), emap.label(short))
        out += [query.Term(leaf.fieldname, short, boost=leaf.boost * EXPANSION_BOOST) for leaf in leaves]
    for synonym in emap.concepts.get(words, []):
        _note(applied, emap.label(words), emap.label(synonym))
        out += [_phrase(leaf.fieldname, synonym, leaf.boost * EXPANSION_BOOST) for leaf in leaves]
    return out


def _expand_runs(children: list[query.Query], emap: ExpansionMap, conjunctive: bool,
                 applied: list[tuple[str, str]] | None) -> list:
    """Find long forms and condition phrases typed as separate words ("mesenchymal stem
    cells", "breast cancer") among siblings."""
    longest = max((len(words) for words in [*emap.long_to_short, *emap.concepts]), default=0)
    words = [bare_word(child) for child in children]
    out, i = [], 0
    while i < len(children):
        for size in range(min(longest, len(children) - i), 1, -1):
            run = tuple(words[i:i + size])
            if None not in run and (run in emap.long_to_short or run in emap.concepts):
                alternative = query.Or(_alternatives(children[i], run, emap, applied))
                if conjunctive:
                    out.append(query.Or([query.And(children[i:i + size]), alternative]))
                else:
                    out.extend([*children[i:i + size], alternative])
                i += size
                break
        else:
            out.append(expand_abbreviations(children[i], emap, applied))
            i += 1
    return out


def expand_abbreviations(q: query.Query, emap: ExpansionMap,
                         applied: list[tuple[str, str]] | None = None) -> query.Query:
    """Let an abbreviation also match its long form and the reverse, at a lower weight:
    `MSC` -> `MSC OR "mesenchymal stem cell"^0.5`, and `"mesenchymal stem cells"` or the
    three bare words -> also `MSC^0.5`; and a condition phrase its synonyms: `breast cancer`
    -> also `"breast neoplasms"^0.5`. `applied`, when given, gets each expansion used, as
    ("MSC", "mesenchymal stem cell")."""
    if not emap.short_to_long and not emap.concepts:
        return q
    if type(q) is query.Term and q.fieldname in PROSE_FIELDS and (
            q.text in emap.short_to_long or (q.text,) in emap.concepts):
        longs = emap.short_to_long.get(q.text, [])
        synonyms = emap.concepts.get((q.text,), [])
        for words in longs:
            _note(applied, emap.label(q.text), emap.label(words))
        for words in synonyms:
            _note(applied, emap.label((q.text,)), emap.label(words))
        return query.Or([q, *(_phrase(q.fieldname, words, q.boost * EXPANSION_BOOST)
                              for words in [*longs, *synonyms])])
    if isinstance(q, query.Phrase) and (tuple(q.words) in emap.long_to_short
                                        or tuple(q.words) in emap.concepts):
        return query.Or([q, *_alternatives(q, tuple(q.words), emap, applied)])
    if isinstance(q, (query.And, query.Or)):
        children = _expand_runs(list(q.subqueries), emap, isinstance(q, query.And), applied)
        return type(q)(children, boost=q.boost)
    if q.is_leaf():
        return q
    return q.apply(lambda child: expand_abbreviations(child, emap, applied))
