"""A long text (a patient's description, a TREC topic) as a query: its key terms, weighted by
frequency in the text and IDF in the index (`key_terms`), trimmed to what the query language
accepts (`fit_query`), and OR-ed with boosts (`KeyQuery.text`). Patient mode (`match.py`) and
the relevance evaluation (`indexer.evaluation`) both read descriptions this way.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..catalog.fields import DEFAULT_FIELD_BOOSTS
from ..errors import QueryError
from ..index.analysis import analyze, text_analyzer
from .query import parse_query

if TYPE_CHECKING:  # live.py never imports this module; only the type is needed here
    from .live import SearchIndex

DEFAULT_KEY_TERMS = 30  # candidates per topic; the query language's bounds may keep fewer

# Words dropped from topics before weighting. The analyzer's stop list is Whoosh's short one
# (fit for titles and summaries); a case report also needs its pronouns, auxiliaries and
# function words gone ("he", "his", "was", "had": rare in trial records, so IDF would favour
# them), and its narrative words, which say nothing about which trial fits.
FUNCTION_WORDS = """i me my myself our ours he him his himself she her hers herself they them
    their theirs its itself who whom whose which what whatever there here where why how all any
    both each few more most other some such no nor only own same so than too very just
    again further then once about above after against along among around before below between
    during into out over through under until upon within without off onto up down because
    while although though unless whether was were been being has had having do does did doing
    would should could might must shall ought get gets got getting make makes made
    one two three four five six seven eight nine ten first second third several many much
    per via approximately including included includes""".split()
NARRATIVE_WORDS = """patient patients year years old month months week weeks day days hour
    hours ago man woman male female gentleman lady boy girl mother father wife husband son
    daughter history presents presented presenting present complains complaining complaint
    reports reported states stated denies noted note notes shows showed reveals revealed
    found came come visit clinic recently currently also well since past prior today
    yesterday tonight morning evening night last next ml mg kg dl ng mmol mmhg cm mm""".split()
DROPPED_STEMS = frozenset(analyze(" ".join(FUNCTION_WORDS + NARRATIVE_WORDS)))


@dataclass
class KeyQuery:
    """A topic's key terms, heaviest first: the words as written and their weights, and the
    description they came from (what a vector ranker reads)."""

    words: list[str]
    weights: list[float]
    topic: str = ""

    def text(self) -> str:
        """The query in trialsearch syntax: `word^boost` for each term, OR-ed by the caller."""
        # A boost that rounds to 0 would silence the word rather than weigh it lightly.
        return " ".join(f"{w}^{max(b, 0.01):.2f}" for w, b in zip(self.words, self.weights))


def key_terms(text: str, index: SearchIndex, limit: int = DEFAULT_KEY_TERMS) -> KeyQuery:
    """The `limit` terms of `text` that best identify it, weighted (1 + ln tf) x IDF.

    The project's analyzer tokenizes, drops stop words and stems, so `weakness` and `weak`
    count together; function and narrative words, units and numbers are dropped. IDF is BM25's,
    from the index (document frequency: the largest over the fields bare words search); terms
    the index does not hold cannot match and are dropped. Each term keeps its first spelling
    in the topic, so the query parser analyzes it back to the same stem. Boosts are scaled to
    a mean of 1.
    """
    first_spelling: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for token in text_analyzer()(text, keeporiginal=True):
        stem = token.text
        if len(stem) < 2 or stem.replace(".", "").isdigit() or stem in DROPPED_STEMS:
            continue
        counts[stem] += 1
        first_spelling.setdefault(stem, token.original.lower())
    reader = index.searcher().reader()
    total_docs = reader.doc_count()
    scored = []
    for stem, tf in counts.items():
        df = max(reader.doc_frequency(name, stem) for name in DEFAULT_FIELD_BOOSTS)
        if df:
            idf = math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
            scored.append(((1 + math.log(tf)) * idf, first_spelling[stem]))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    top = scored[:limit]
    mean = sum(weight for weight, _ in top) / len(top) if top else 1.0
    return KeyQuery([word for _, word in top], [weight / mean for weight, _ in top], text)


def fit_query(key_query: KeyQuery, index: SearchIndex) -> KeyQuery:
    """Drop the lightest terms until the query language accepts the query (it bounds a
    query's length and number of terms; `parse_query` is the judge, so the limits live in one
    place)."""
    schema = index.searcher().schema
    words, weights = list(key_query.words), list(key_query.weights)
    while words:
        candidate = KeyQuery(words, weights, key_query.topic)
        try:
            parse_query(candidate.text(), schema, operator="or")
            return candidate
        except QueryError:
            words, weights = words[:-1], weights[:-1]
    return KeyQuery([], [], key_query.topic)
