"""The query language: parse user text into a bounded Whoosh query, or say clearly what is wrong.

Bare words search title, conditions, interventions, keywords, summary and description with
BM25F weights; `field:value` scopes a word; `"phrases"`, `AND`/`OR`/`NOT`, `-word`, `exo*`,
`exosme~`, and ranges such as `first_posted:[2020 to 2022]` or `year:>=2021` work as in Lucene.
Every query is bounded: length, number of terms, wildcard shape and fuzzy distance.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

from whoosh import qparser, query
from whoosh.qparser.dateparse import DateParserPlugin

from ..catalog.facets import ENUMERATIONS_BY_FIELD
from ..catalog.fields import FIELD_ALIASES, SEARCH_FIELD_BOOSTS
from ..errors import QueryError
from ..index.analysis import analyze
from ..model import normalize_nct_id

MAX_QUERY_LENGTH = 1000
MAX_TERMS = 100
MIN_WILDCARD_PREFIX = 2
MAX_FUZZY_DISTANCE = 2
# A study named by its NCT ID ranks above anything the other words find (BM25F scores of a
# bounded query stay far below this).
NCT_ID_BOOST = 1_000_000.0

_FIELD_PREFIX = re.compile(r"(?<![\w\"])([A-Za-z_]+):(?=\S)")
_MINUS = re.compile(r"(?<!\S)-(?=[\w\"(])")
# `year:>=2021`: a comparison right after a field name. Anywhere else (`<script>`, `> 5`) the
# signs are punctuation, and Whoosh's GtLt plugin would fail on them with an IndexError.
_COMPARISON = re.compile(r"(?P<field>[A-Za-z_]+:)?(?P<rel>[<>=]+)")
_VALID_RELS = {"<", ">", "<=", ">=", "=<", "=>"}
# `word~10`: Whoosh's fuzzy syntax reads one digit (`exosom~1` AND `0`); cap it before parsing.
_FUZZY_DISTANCE = re.compile(r"(?<=[^\s\"~()])~(\d{2,})")
_QUOTED = re.compile(r'("[^"]*")')
# `NCT05871463`, `nct05871463`, `NCT 05871463` typed as a word (not after `field:`).
_NCT_WORD = re.compile(r"(?<![\w:])NCT[\s_-]?(\d{8})(?!\w)", re.I)
_ONLY_OPERATORS = re.compile(r"(?:[\W_]|\b(?:AND|OR|NOT)\b)*")
# `title: exosomes` (a space after the colon) and `title:` with nothing after it.
_DETACHED_SCOPE = re.compile(r"(?<![\w\"])([A-Za-z_]+):\s+(?=[^\s)])")
_EMPTY_SCOPE = re.compile(r"(?<![\w\"])([A-Za-z_]+):\s*(?=$|\))")
# `word~`, `title:word~2`: the word as typed, before analysis stems it.
_FUZZY_WORD = re.compile(r"(?<![\w~])([^\W_](?:[\w\-'.]*\w)?)~(\d?)(?![\w~])")
_DATE_HELP = ("{}; write dates as YYYY, YYYY-MM or YYYY-MM-DD and years as numbers "
              "(year:2021, first_posted:[2020 to 2022], last_update:>2024-01-01)")


class TypedFuzzyTerm(query.FuzzyTerm):
    """A `word~` term that remembers the word as typed: fuzzy matching compares what people
    typed with the records' own words, not stems with stems (`exosomes~2` must not reach
    "economic" through `exosom` ~ `econom`)."""

    def __init__(self, fieldname, text, typed: str, **kwargs):
        super().__init__(fieldname, text, **kwargs)
        self.typed = typed

    def __eq__(self, other):
        return super().__eq__(other) and getattr(other, "typed", None) == self.typed

    def __hash__(self):
        return hash((super().__hash__(), self.typed))


@dataclass
class ParsedQuery:
    """A Whoosh query plus notices about anything the parser capped or changed."""

    query: query.Query
    notices: list[str] = field(default_factory=list)


def resolve_field(name: str, param: str = "field") -> str:
    """Map a user-facing field name (`condition`, `nct`, ...) to the index field."""
    try:
        return FIELD_ALIASES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(set(FIELD_ALIASES) - {"conditions", "interventions", "keywords"}))
        shown = name if len(name) <= 40 else name[:40] + "…"  # never echo a huge value back
        raise QueryError(f"unknown field '{shown}'; known fields: {known}", param=param) from None


def _check_syntax(text: str) -> None:
    if text.count('"') % 2:
        raise QueryError('unbalanced quotes: a phrase needs a closing "')
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise QueryError("unbalanced parentheses: ')' without '('")
    if depth:
        raise QueryError("unbalanced parentheses: '(' without ')'")
    unquoted = re.sub(r'"[^"]*"', '""', text)
    for match in _FIELD_PREFIX.finditer(unquoted):
        resolve_field(match.group(1), param="q")
    for match in _EMPTY_SCOPE.finditer(unquoted):
        name = match.group(1)
        if name.lower() in FIELD_ALIASES:
            raise QueryError(f"'{name}:' needs a word or \"phrase\" after it "
                             f"(for example {name}:exosomes)")


def _outside_quotes(text: str, rewrite) -> str:
    """Apply `rewrite` to the parts of `text` that are not inside "phrases"."""
    return "".join(part if part.startswith('"') else rewrite(part) for part in _QUOTED.split(text))


def _keep_comparison(match: re.Match) -> str:
    if match.group("field") and match.group("rel") in _VALID_RELS:
        return match.group(0)
    return (match.group("field") or "") + " "


def _attach_scope(match: re.Match) -> str:
    # `title: exosomes` means title:exosomes; `Note: ...` (no field) stays prose.
    return match.group(1) + ":" if match.group(1).lower() in FIELD_ALIASES else match.group(0)


def _rewrite(text: str) -> str:
    """Turn the Lucene habits Whoosh does not share into its syntax before parsing."""
    def rewrite(part: str) -> str:
        part = _DETACHED_SCOPE.sub(_attach_scope, part)
        part = _MINUS.sub("NOT ", part)  # Lucene's `-word` means NOT word
        part = _COMPARISON.sub(_keep_comparison, part)
        return _FUZZY_DISTANCE.sub("~9", part)  # _bound caps it to MAX_FUZZY_DISTANCE
    return _outside_quotes(text, rewrite)


def _walk(q: query.Query) -> Iterator[query.Query]:
    yield q
    for child in q.children():
        yield from _walk(child)


def _field_error(error) -> str:
    """A clear message from the error Whoosh records when a date or number field cannot parse
    its value (`year:abc`, `first_posted:2024-13-45`)."""
    message = str(error).strip()
    if "not a" not in message:  # the date plugin records just the text it could not read
        message = f"'{message[:80]}' is not a valid date or number"
    return _DATE_HELP.format(message[:120])


def _parse(parser: qparser.QueryParser, text: str) -> query.Query:
    """Whoosh's parse, with every failure it can have turned into a QueryError."""
    try:
        parsed = parser.parse(text, normalize=False)
        for node in _walk(parsed):
            if getattr(node, "error", None):
                raise QueryError(_field_error(node.error))
        return parsed.normalize()
    except QueryError:
        raise
    except RecursionError:
        raise QueryError("the query is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - Whoosh raises IndexError, ValueError, Exception
        frames = {frame.name for frame in traceback.extract_tb(exc.__traceback__)}
        if frames & {"_parse_datestring", "parse_range"}:  # `first_posted:[x to y]`
            raise QueryError(_DATE_HELP.format("a date range or comparison holds something "
                                               "that is not a date")) from None
        detail = str(exc)[:120] or type(exc).__name__
        raise QueryError(f"could not understand the query ({detail}); see the query syntax "
                         "help") from None


def _make_parser(schema, fields: list[str] | None, operator: str) -> qparser.QueryParser:
    if fields:
        names = [resolve_field(name) for name in fields]
        boosts = {name: SEARCH_FIELD_BOOSTS.get(name, 1.0) for name in names}
    else:  # an index built before a field existed (`concept`) searches the others
        boosts = {name: boost for name, boost in SEARCH_FIELD_BOOSTS.items() if name in schema}
        names = list(boosts)
    # A plain OR sums the words' BM25F scores, so a study matching more words already ranks
    # higher; Whoosh's coordination bonus (OrGroup.factory) would only reshuffle that sum.
    group = qparser.AndGroup if operator == "and" else qparser.OrGroup
    parser = qparser.MultifieldParser(names, schema, fieldboosts=boosts, group=group)
    aliases: dict[str, list[str]] = {}
    for alias, target in FIELD_ALIASES.items():
        if alias != target:
            aliases.setdefault(target, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(qparser.GtLtPlugin())
    parser.add_plugin(DateParserPlugin(free=False))
    return parser


def count_terms(q: query.Query) -> int:
    """The terms a user typed, as the limit counts them: a word searched in several fields is
    one term however the parser grouped it (an AND of per-word ORs, or one flat OR), a phrase
    costs one term per word, and a word typed twice is one term."""
    distinct = {(type(leaf), getattr(leaf, "text", None), tuple(getattr(leaf, "words", None) or ()))
                for leaf in q.leaves()}
    return sum(len(words) or 1 for _, _, words in distinct)


def _bound(q: query.Query, notices: list[str]) -> query.Query:
    """Refuse or cap the expensive parts of a parsed query."""
    for sub in q.leaves():
        if isinstance(sub, query.Every):
            raise QueryError("'*' alone matches everything; leave the query empty to browse "
                             "all studies")
        if isinstance(sub, (query.Wildcard, query.Prefix)):
            literal = re.split(r"[*?]", str(sub.text), maxsplit=1)[0]
            if len(literal) < MIN_WILDCARD_PREFIX:
                raise QueryError(f"a wildcard needs at least {MIN_WILDCARD_PREFIX} letters "
                                 "before the first * or ? (a leading wildcard scans every word)")
        if isinstance(sub, query.FuzzyTerm) and sub.maxdist > MAX_FUZZY_DISTANCE:
            typed = getattr(sub, "typed", sub.text)
            notice = f"fuzzy distance for '{typed}~' capped at {MAX_FUZZY_DISTANCE}"
            if notice not in notices:  # one word expands into several fields
                notices.append(notice)
            sub.maxdist = MAX_FUZZY_DISTANCE
        if isinstance(sub, query.FuzzyTerm):
            sub.prefixlength = max(sub.prefixlength, 1)
    terms = count_terms(q)
    if terms > MAX_TERMS:
        raise QueryError(f"too many terms ({terms}); a query may have at most {MAX_TERMS}")
    return q


def split_nct_ids(text: str) -> tuple[list[str], str]:
    """The NCT IDs typed as words in `text` (`NCT05871463`, `nct05871463`, `NCT 05871463`;
    not inside a "phrase" or after `field:`), canonical and in order, and the rest of the text.
    The rest is empty when only punctuation or operators remain (`NCT1, NCT2 OR NCT3`)."""
    ids: list[str] = []

    def take(part: str) -> str:
        def found(match: re.Match) -> str:
            ids.append("NCT" + match.group(1))
            return " "
        return _NCT_WORD.sub(found, part)

    rest = " ".join(_outside_quotes(text, take).split())
    if ids and _ONLY_OPERATORS.fullmatch(rest):
        rest = ""
    return list(dict.fromkeys(ids)), rest


# What asks for exact matching: a phrase, a scope, AND/NOT, a minus, a wildcard, a fuzzy word,
# a range or a boost. Parentheses alone are prose ("Chronic lymphocytic leukemia (CLL)").
_EXACT_SYNTAX = re.compile(r'[":*?~\[\]{}^]|\b(?:AND|NOT)\b|(?<!\S)-')


def meaning_text(text: str) -> str | None:
    """The words whose meaning a query's vector is read from: the text itself when it is plain
    words (an OR between them allowed), else None: syntax (see _EXACT_SYNTAX) or an NCT ID
    asks for exact matches, which meaning search would blur."""
    ids, rest = split_nct_ids(text)
    if ids or _EXACT_SYNTAX.search(rest):
        return None
    return " ".join(re.sub(r"\bOR\b|[()]", " ", rest).split()) or None


def _registry_value(q: query.Query) -> query.Query:
    """Field scopes on the registry's enumerations and IDs take the forms people write:
    `status:"not yet recruiting"`, `phase:2`, `phase:II`, `phase:"1/2"`, `nct:nct05871463`.
    (These fields hold no positions, so a phrase on them would crash Whoosh.)"""
    if not q.is_leaf():
        return q.apply(_registry_value)
    fieldname = getattr(q, "fieldname", None)
    if type(q) not in (query.Term, query.Phrase) or fieldname not in (*ENUMERATIONS_BY_FIELD, "nct_id"):
        return q
    text = " ".join(q.words) if isinstance(q, query.Phrase) else str(q.text)
    if fieldname == "nct_id":
        canonical = normalize_nct_id(re.sub(r"[\s_-]+", "", text))
        return query.Term("nct_id", canonical or text.upper(), boost=q.boost)
    try:
        values = ENUMERATIONS_BY_FIELD[fieldname].parse(text)
    except QueryError as error:
        raise QueryError(str(error)) from None  # in the query text, so the parameter is q
    terms = [query.Term(fieldname, value.lower(), boost=q.boost) for value in values]
    return terms[0] if len(terms) == 1 else query.And(terms)


def _typed_fuzzy(q: query.Query, typed: dict[str, str]) -> query.Query:
    """Give each fuzzy leaf the word the user typed (`typed` maps its stem to it)."""
    if type(q) is query.FuzzyTerm:
        return TypedFuzzyTerm(q.fieldname, q.text, typed.get(q.text, q.text), boost=q.boost,
                              maxdist=q.maxdist, prefixlength=q.prefixlength)
    return q if q.is_leaf() else q.apply(lambda child: _typed_fuzzy(child, typed))


def _fuzzy_words(text: str) -> dict[str, str]:
    words: dict[str, str] = {}
    for part in _QUOTED.split(text):
        if not part.startswith('"'):
            for match in _FUZZY_WORD.finditer(part):
                word = match.group(1).lower()
                for term in analyze(word)[:1]:
                    words.setdefault(term, word)
    return words


def _parse_words(text: str, schema, fields: list[str] | None, operator: str,
                 notices: list[str]) -> query.Query | None:
    """The bounded query for `text` (NCT IDs taken out); None when nothing in it is
    searchable (stop words, NOT alone)."""
    _check_syntax(text)
    parser = _make_parser(schema, fields, operator)
    rewritten = _rewrite(text)
    parsed = _parse(parser, rewritten)
    if isinstance(parsed, type(query.NullQuery)):
        return None
    parsed = _typed_fuzzy(_registry_value(parsed), _fuzzy_words(rewritten))
    return _bound(parsed, notices)


def parse_query(text: str, schema, *, fields: list[str] | None = None,
                operator: str = "and") -> ParsedQuery:
    """Parse `text` (the query language above) into a bounded Whoosh query.

    `fields` restricts bare words to those fields; `operator` ("and"/"or") joins bare words.
    Raises QueryError with a message fit to show the user.
    """
    if operator not in ("and", "or"):
        raise QueryError("operator must be 'and' or 'or'", param="operator")
    text = (text or "").strip()
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_QUERY_LENGTH}")
    if not text:
        return ParsedQuery(query.Every())
    notices: list[str] = []
    nct_ids, words = split_nct_ids(text)
    # Studies named by ID come first, then what the other words find.
    clauses: list[query.Query] = [query.Term("nct_id", nct_id, boost=NCT_ID_BOOST - rank)
                                  for rank, nct_id in enumerate(nct_ids)]  # in typed order
    parsed = _parse_words(words, schema, fields, operator, notices) if words else None
    if parsed is not None:
        clauses.append(parsed)
    if not clauses:
        raise QueryError("the query has no searchable words")
    return ParsedQuery(clauses[0] if len(clauses) == 1 else query.Or(clauses), notices)
