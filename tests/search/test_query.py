"""The query language: fields, syntax errors, and bounds on query cost."""

import pytest
from whoosh import query

from indexer.errors import QueryError
from indexer.index.schema import build_schema
from indexer.search.query import MAX_QUERY_LENGTH, MAX_TERMS, parse_query, resolve_field

SCHEMA = build_schema()


def leaves(text, **options):
    return list(parse_query(text, SCHEMA, **options).query.leaves())


def test_bare_word_searches_the_default_fields_with_boosts():
    fields = {leaf.fieldname: leaf.boost for leaf in leaves("exosomes")}
    assert fields["title"] > fields["summary"] >= fields["description"]
    assert {"title", "summary", "description", "condition", "intervention"} <= set(fields)


def test_fields_option_restricts_bare_words():
    assert {leaf.fieldname for leaf in leaves("exosomes", fields=["title"])} == {"title"}


@pytest.mark.parametrize(("typed", "field"), [("condition", "condition"), ("nct", "nct_id"),
                                              ("type", "study_type"), ("STATUS", "status")])
def test_field_aliases(typed, field):
    assert resolve_field(typed) == field


def test_field_scope_and_alias_in_query_text():
    assert {leaf.fieldname for leaf in leaves("condition:cirrhosis")} == {"condition"}
    assert [leaf.text for leaf in leaves("nct:NCT05871463")] == ["NCT05871463"]


def test_minus_means_not():
    q = parse_query("exosomes -mice", SCHEMA).query
    assert any(isinstance(sub, query.Not) for sub in q.children())


def test_compound_word_becomes_a_phrase():
    q = parse_query("MSC-exosome", SCHEMA, fields=["summary"]).query
    assert isinstance(q, query.Phrase) and q.words == ["msc", "exosom"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"unbalanced', "unbalanced quotes"),
        ("(liver OR kidney", "unbalanced parentheses"),
        ("liver)", "unbalanced parentheses"),
        ("colour:red", "unknown field 'colour'"),
        ("*", "matches everything"),
        ("*osomes", "needs at least 2 letters"),
        ("e*", "needs at least 2 letters"),
        ("x" * (MAX_QUERY_LENGTH + 1), "the limit is"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), "too many terms"),
    ],
)
def test_bad_or_costly_queries_are_refused_with_a_clear_message(text, message):
    with pytest.raises(QueryError, match=message) as excinfo:
        parse_query(text, SCHEMA, fields=["title"])
    assert excinfo.value.param == "q"


def test_fuzzy_distance_is_capped_with_a_notice():
    parsed = parse_query("exosme~9", SCHEMA, fields=["title"])
    assert [leaf.maxdist for leaf in parsed.query.leaves()] == [2]
    assert parsed.notices == ["fuzzy distance for 'exosme~' capped at 2"]  # as typed, not the stem


def test_phrase_in_quotes_is_not_mistaken_for_a_field():
    assert parse_query('"ratio: high"', SCHEMA).query is not None


def test_empty_query_browses_everything():
    assert isinstance(parse_query("  ", SCHEMA).query, query.Every)


def test_operator_must_be_and_or_or():
    with pytest.raises(QueryError) as excinfo:
        parse_query("liver", SCHEMA, operator="xor")
    assert excinfo.value.param == "operator"
