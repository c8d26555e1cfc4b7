"""The analyzer: compounds, case/accent folding, stemming, units, and pickling into the index."""

import pickle
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.index.analysis import (
    WORD_PATTERN,
    analyze,
    split_compound,
    text_analyzer,
    vocabulary_analyzer,
    word_spans,
)


@pytest.mark.parametrize("variant", ["exosomes", "Exosome", "EXOSOMES", "exosome"])
def test_variants_meet_at_one_stem(variant):
    assert analyze(variant) == ["exosom"]


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("MSC-exosome", ["msc", "exosom"]),
        ("UC-MSC", ["uc", "msc"]),
        ("graft-versus-host", ["graft", "versus", "host"]),
        ("40mg", ["40", "mg"]),
        ("5 mg/kg", ["5", "mg", "kg"]),
        ("3.5", ["3.5"]),
        ("COVID-19", ["covid", "19"]),
        ("Crohn's disease", ["crohn", "diseas"]),
        ("Café Sjögren", ["cafe", "sjogren"]),
        ("the liver of a patient", ["liver", "patient"]),
    ],
)
def test_compounds_units_and_folding(text, terms):
    assert analyze(text) == terms


def test_compound_parts_take_consecutive_positions_and_exact_offsets():
    text = "UC-MSC derived 40mg"
    tokens = [(t.text, t.pos, text[t.startchar:t.endchar])
              for t in text_analyzer()(text, positions=True, chars=True)]
    assert tokens == [("uc", 0, "UC"), ("msc", 1, "MSC"), ("deriv", 2, "derived"),
                      ("40", 3, "40"), ("mg", 4, "mg")]


def test_split_compound_keeps_plain_words_whole():
    assert split_compound("cirrhosis") == [(0, 9)]


def test_vocabulary_analyzer_does_not_stem():
    assert analyze("Mesenchymal stem cells", vocabulary_analyzer()) == ["mesenchymal", "stem", "cells"]


def test_analyzer_survives_pickling_as_whoosh_stores_it():
    # Whoosh pickles the schema (with analyzers) into the index and unpickles it to search.
    analyzer = pickle.loads(pickle.dumps(text_analyzer()))
    assert analyze("MSC-exosomes", analyzer) == ["msc", "exosom"]


def test_fused_filter_matches_whoosh_filter_chain_token_for_token(corpus_dir):
    """FoldStopStemFilter is a speed-up, not a change: the same tokens, positions, offsets and
    stop flags as Whoosh's four filters, at index time and at query time."""
    from nltk.stem.snowball import EnglishStemmer
    from whoosh.analysis import CharsetFilter, LowercaseFilter, StemFilter, StopFilter
    from whoosh.analysis.filters import STOP_WORDS
    from whoosh.support.charset import accent_map

    from indexer.index.analysis import BiomedicalTokenizer, text_analyzer, vocabulary_analyzer

    folded = BiomedicalTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
    pairs = [
        (folded | StopFilter(STOP_WORDS, minsize=1) | StemFilter(EnglishStemmer().stem),
         text_analyzer()),
        (folded | StopFilter(STOP_WORDS, minsize=3), vocabulary_analyzer()),
    ]
    texts = [path.read_text(encoding="utf-8") for path in sorted(corpus_dir.rglob("*.txt"))]
    texts.append("Café Ünïcode: the MSC-exosome of a 40mg dose, and THE end")

    def tokens(analyzer, text, **options):
        return [(t.text, t.pos, t.startchar, t.endchar, t.stopped)
                for t in analyzer(text, positions=True, chars=True, **options)]

    for reference, fused in pairs:
        for options in ({}, {"removestops": False, "mode": "query"}):
            for text in texts:
                assert tokens(fused, text, **options) == tokens(reference, text, **options)


@pytest.mark.parametrize("spelling", ["covid19", "COVID-19", "Covid 19", "covid-19", "COVID‐19"])
def test_spelling_variants_of_a_name_with_a_number_meet(spelling):
    assert analyze(spelling) == ["covid", "19"]
    assert analyze("ABT199") == analyze("ABT-199") == ["abt", "199"]


# Word characters, every joiner, and what surrounds words: letters of other scripts, digits
# other scripts write, underscores, spaces of several kinds, punctuation.
_TEXT = st.text(alphabet=st.sampled_from(list("aZ1_é٣ß -\u2010\u2011/.'\u2019\u00a0\n,;()")), max_size=40)


@given(_TEXT)
@settings(max_examples=3000, deadline=None)
def test_nltk_finds_exactly_the_words_the_bulk_writer_finds(text):
    # The analyzer splits text with NLTK at what lies between words; the bulk writer finds
    # the words themselves with WORD_PATTERN. A difference would index words queries miss.
    assert list(word_spans(text)) == [match.span() for match in re.finditer(WORD_PATTERN, text)]
