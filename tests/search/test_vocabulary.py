"""Fuzzy vocabulary lookups: the words Whoosh's definition admits (its own edit distance over
every word with the prefix), and "did you mean" picking the nearest, then most frequent."""

from __future__ import annotations

import pytest
from whoosh.support.levenshtein import distance as whoosh_distance

from indexer import open_index
from indexer.search.vocabulary import Vocabulary, VocabularyCorrector

TYPED = ["exosome", "exosme", "vacine", "diabetis", "cancr", "pneumonia", "stm", "covid",
         "transplantation", "mesenchymal", "msc", "zzzz", "cel", "ä"]


@pytest.mark.slow
def test_within_finds_every_word_whooshs_edit_distance_admits(shared_index):
    reader = open_index(shared_index).searcher().reader()
    vocabulary = Vocabulary(reader)
    found = 0
    for fieldname in ("title", "summary", "vocab"):
        words = [reader.schema[fieldname].from_bytes(b) for b in reader.lexicon(fieldname)]
        assert vocabulary.words(fieldname) == words
        for text in TYPED:
            for maxdist, prefix in ((1, 1), (2, 1), (2, 0), (1, 3)):
                expected = [w for w in words if w.startswith(text[:prefix])
                            and whoosh_distance(w, text) <= maxdist]
                ours = vocabulary.within(fieldname, text, maxdist, prefix)
                assert ours == expected, (fieldname, text, maxdist, prefix)
                found += len(ours)
    assert found > 100
    # Whoosh's single-segment automaton misses some of these; the definition does not.
    assert "sti" in vocabulary.within("title", "stm", 1, 1) or "sti" not in vocabulary.words("title")


def test_did_you_mean_prefers_the_nearest_word_then_the_most_frequent(shared_index):
    index = open_index(shared_index)
    reader = index.searcher().reader()
    corrector = VocabularyCorrector(Vocabulary(reader), "vocab")
    for text in TYPED:
        suggestions = corrector.suggest(text, limit=5, maxdist=2, prefix=1)
        ranked = [(whoosh_distance(s, text), -reader.frequency("vocab", s)) for s in suggestions]
        assert ranked == sorted(ranked), text
        assert text not in suggestions
    assert index.search("exosmes").suggestion == "exosomes"
    assert index.search("vacine").suggestion == "vaccine"
