"""Relevance evaluation on TREC Clinical Trials topics: read topics and judgments, turn each
long patient description into a weighted key-term query, rank with each configuration and
score the rankings with ir-measures (trec_eval underneath), so the metrics are the standard
ones, not hand-written.

Three modes. Full corpus: each configuration ranks the whole index (top `FULL_DEPTH`) and is
scored against every judgment, as TREC did. Whole index, judged in index (`judged_in_index`):
the same ranking, scored only against the judgments of trials the index holds (an unjudged
trial retrieved counts as not relevant), for an index that holds part of the corpus plus
unjudged distractors. Judged pool: each topic's ranking keeps only the trials judged for that
topic (a condensed list), so an index that holds part of the corpus still gives meaningful
numbers, over the judgments it covers.

Long queries (the default) are each patient description's key terms, OR-ed with boosts. Short
queries (`short_queries`, from TrialGPT's `id2queries.json`: `read_short_queries`) are a few
typed words per topic, run as a user types them through `SearchIndex.search` (AND, loosened
when few studies match). Both kinds also run through the live search in each of its modes
(keyword, hybrid, semantic: `live_modes` says which the index supports): the long query as its
key terms OR-ed, with the whole description as the text the meaning side reads.

    topics = read_topics("queries.jsonl"); qrels = read_qrels("qrels.tsv")
    report = evaluate(open_index("index_data"), topics, qrels, pool=True, workdir=tmp)
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from whoosh.classify import Bo1Model, Expander

from ..errors import QueryError, TrialsearchError
from ..index.analysis import analyze, text_analyzer
from ..index.schema import DEFAULT_FIELD_BOOSTS
from ..model import Study
from ..search import MAX_PER_PAGE, MAX_RESULT_WINDOW, SearchIndex
from ..search.fusion import reciprocal_rank_fusion
from ..search.live import MODES
from ..search.query import parse_query
from ..semantic.contract import model_id, study_text, text_hash
from ..semantic.store import VectorStore
from ..whoosh.generation import decode_study
from . import fts5
from .encoders import Encoder

ELIGIBLE = 2  # qrels grades: 2 eligible, 1 excluded, 0 not relevant
FULL_DEPTH = 100  # results kept per topic in full-corpus mode (enough for recall@100)
HYBRID = "hybrid: BM25F + abbreviations, MiniLM, RRF"  # eval-only: re-ranks BM25F's candidates
SHORT_HYBRID = "hybrid: live keyword, MiniLM, RRF"  # the same over the short queries' live ranking
PLAIN = "BM25F"
ABBREVIATIONS = "BM25F + abbreviations"
DEFAULT = "BM25F + abbreviations + feedback (default)"
FTS5 = "SQLite FTS5 bm25"
LIVE_PREFIX = "live: "  # + a search mode (indexer.search.live.MODES): the live search's rows
# Short queries: the first SHORT_CONDITIONS conditions of SHORT_SOURCE's entry for each topic in
# TrialGPT's id2queries.json ({topic id: {"raw", "gpt-4-turbo": {"summary", "conditions"}, ...}}),
# joined by a space, as a user would type them.
SHORT_SOURCE = "gpt-4-turbo"
SHORT_CONDITIONS = 2
DEFAULT_KEY_TERMS = 30  # candidates per topic; the query language's bounds may keep fewer
# Pseudo-relevance feedback, RM3's usual depth (Pyserini's fb_docs=10, fb_terms=10). The
# weight of the strongest feedback term, relative to the mean key term, was chosen between
# 0.3 and 0.5 on the shared topics (the README shows both).
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.3

# nDCG@10 uses the grades as gains (eligible 2, excluded 1), as the TREC CT overviews do; the
# others count only eligible trials as relevant, as `trec_eval -l 2` (Pyserini's P@10 and RR).
MEASURES = {  # name -> ir-measures' spelling
    "nDCG@10": "nDCG@10",
    "P@10": f"P(rel={ELIGIBLE})@10",
    "RR": f"RR(rel={ELIGIBLE})",
    "R@100": f"R(rel={ELIGIBLE})@100",
}
RELEVANCE_NOTE = ("nDCG@10 uses graded gains (eligible 2, excluded 1, not relevant 0); "
                  "P@10, RR and R@100 count only eligible (2) trials as relevant (trec_eval -l 2).")

# Published full-corpus nDCG@10 on TREC CT 2021 (375,580 trials, all 75 topics): Pyserini's
# Lucene BM25 and BM25+RM3 on the full topic text, and the median of the 113 submitted runs.
REFERENCE_NDCG10_TREC2021 = {"BM25": 0.2923, "BM25+RM3": 0.3539, "median run": 0.3417}
REFERENCE_NOTE = ("Published TREC 2021 full-corpus nDCG@10 (375,580 trials, all 75 topics; "
                  "context only, not comparable to judged-pool scores): "
                  + ", ".join(f"{k} {v:.4f}" for k, v in REFERENCE_NDCG10_TREC2021.items()))

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
_DROPPED_STEMS = frozenset(analyze(" ".join(FUNCTION_WORDS + NARRATIVE_WORDS)))


class EvalInputError(TrialsearchError):
    """A topics or qrels file that cannot be used, with the file and line that say why."""


# -- inputs ---------------------------------------------------------------------------------
def read_topics(path: str | os.PathLike) -> dict[str, str]:
    """Topic id -> patient description from TREC CT topics JSON Lines (`{"_id", "text"}`)."""
    topics: dict[str, str] = {}
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not (isinstance(record, dict) and isinstance(record.get("_id"), str)
                and isinstance(record.get("text"), str)):
            raise EvalInputError(f"{path} line {number}: expected a JSON object with string "
                                 '"_id" and "text" (TREC CT topics as JSON Lines)')
        topics[record["_id"]] = record["text"]
    if not topics:
        raise EvalInputError(f"{path}: no topics (expected JSON Lines of {{\"_id\", \"text\"}})")
    return topics


def read_qrels(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Topic id -> {NCT ID: grade} from a qrels TSV with a `query-id corpus-id score` header."""
    qrels: dict[str, dict[str, int]] = {}
    expected = "expected 'query-id<TAB>corpus-id<TAB>score' with a header line"
    lines = _read_lines(path)
    if not lines or [h.lower() for h in lines[0].split()] != ["query-id", "corpus-id", "score"]:
        raise EvalInputError(f"{path} line 1: {expected} (TREC CT qrels TSV)")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != 3 or not cells[2].lstrip("-").isdigit():
            raise EvalInputError(f"{path} line {number}: {expected}, got {line.strip()[:80]!r}")
        qrels.setdefault(cells[0], {})[cells[1].upper()] = int(cells[2])
    if not qrels:
        raise EvalInputError(f"{path}: no judgments after the header")
    return qrels


def read_short_queries(path: str | os.PathLike) -> dict[str, str]:
    """Topic id -> short typed query from TrialGPT's id2queries.json: the first
    SHORT_CONDITIONS conditions of its SHORT_SOURCE entry, joined by a space. Topics whose entry
    lacks them are left out (the evaluation counts them as skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
    expected = (f'expected a JSON object of topic id -> {{"{SHORT_SOURCE}": {{"conditions": '
                '[...]}}, ...}} (TrialGPT id2queries.json)')
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalInputError(f"{path} line {exc.lineno}: not JSON ({exc.msg}); {expected}") from None
    if not isinstance(data, dict) or not data:
        raise EvalInputError(f"{path}: {expected}")
    queries: dict[str, str] = {}
    for topic, entry in data.items():
        if not isinstance(entry, dict):
            raise EvalInputError(f"{path}: topic {topic!r}: {expected}")
        source = entry.get(SHORT_SOURCE)
        conditions = source.get("conditions") if isinstance(source, dict) else None
        if source is not None and not (isinstance(conditions, list)
                                       and all(isinstance(c, str) for c in conditions)):
            raise EvalInputError(f"{path}: topic {topic!r}: \"{SHORT_SOURCE}\" has no list of "
                                 f'"conditions"; {expected}')
        words = " ".join(c.strip() for c in (conditions or [])[:SHORT_CONDITIONS] if c.strip())
        if words:
            queries[topic] = words
    return queries


def _read_lines(path: str | os.PathLike) -> list[str]:
    # Topic and qrels files are small (well under a megabyte): read them whole.
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc


# -- queries --------------------------------------------------------------------------------
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
        if len(stem) < 2 or stem.replace(".", "").isdigit() or stem in _DROPPED_STEMS:
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


# -- rankers --------------------------------------------------------------------------------
# A ranker takes a topic's query and, in pool mode, the NCT IDs judged for it, and returns NCT
# IDs best first: in pool mode only judged ones (all it can find), else the top FULL_DEPTH.
Ranker = Callable[[KeyQuery, "set[str] | None"], list[str]]


def bm25f_ranker(index: SearchIndex, *, expand_abbreviations: bool) -> Ranker:
    """Rank with `SearchIndex.search` (what users get), the key terms OR-ed."""

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        # In pool mode the search itself keeps only the judged trials, so a few pages hold
        # them all; in full mode the first FULL_DEPTH of the whole index are the ranking.
        ranked: list[str] = []
        for page in range(1, MAX_RESULT_WINDOW // MAX_PER_PAGE + 1):
            result = index.search(key_query.text(), operator="or", page=page,
                                  per_page=MAX_PER_PAGE, facets=False, highlights=False,
                                  expand_abbreviations=expand_abbreviations, only=judged,
                                  mode="keyword")
            ranked += [hit.nct_id for hit in result.hits]
            if judged is None or page * MAX_PER_PAGE >= result.total:
                break
        return ranked[:FULL_DEPTH] if judged is None else ranked

    return rank


def live_ranker(index: SearchIndex, mode: str = "keyword", *, operator: str = "and"
                ) -> Callable[..., list[str]]:
    """Rank a typed query exactly as the search box does in `mode` (see MODES):
    `SearchIndex.search` with its defaults (AND, abbreviations, loosening when few studies
    match), 100 per page. The ranker takes the query, the judged NCT IDs in pool mode (else
    None) and optionally `meaning`, the text the meaning side reads instead of the query. A
    query the language rejects finds nothing, as it would for the user."""

    def rank(text: str, judged: set[str] | None, meaning: str | None = None) -> list[str]:
        ranked: list[str] = []
        for page in range(1, MAX_RESULT_WINDOW // MAX_PER_PAGE + 1):
            try:
                result = index.search(text, page=page, per_page=MAX_PER_PAGE, facets=False,
                                      highlights=False, only=judged, operator=operator,
                                      mode=mode, meaning=meaning)
            except QueryError:
                return []
            ranked += [hit.nct_id for hit in result.hits]
            if judged is None or page * MAX_PER_PAGE >= result.total:
                break
        return ranked[:FULL_DEPTH] if judged is None else ranked

    return rank


def live_row(mode: str) -> str:
    """The configuration name of the live search in `mode`: "live: hybrid"."""
    return LIVE_PREFIX + mode


def live_modes(index: SearchIndex) -> tuple[list[str], str]:
    """The live search modes `index` can run (MODES' order), and why the meaning modes (hybrid,
    semantic) cannot run when they cannot ("" when they can)."""
    why = index.meaning_unavailable()
    return (["keyword"], why) if why else (list(MODES), "")


def check_modes(index: SearchIndex, modes: Sequence[str] | None) -> tuple[list[str], str]:
    """The live modes to score: `modes` (all the index supports when None), checked; and why
    the meaning modes are left out, when they are. Raises TrialsearchError for an unknown mode,
    or one the index cannot run."""
    unknown = [mode for mode in modes or () if mode not in MODES]
    if unknown:
        raise TrialsearchError(f"unknown search mode {unknown[0]!r}: the modes are "
                               + ", ".join(MODES))
    supported, why = live_modes(index)
    if modes is None:
        return supported, why
    missing = [mode for mode in modes if mode not in supported]
    if missing:
        raise TrialsearchError(f"the live {' and '.join(missing)} "
                               f"mode{'s' if len(missing) > 1 else ''} cannot run on this "
                               f"index: meaning search is unavailable ({why}); give --modes "
                               "keyword, or leave --modes out to score what the index supports")
    return [mode for mode in MODES if mode in modes], ""


def live_key_terms_ranker(index: SearchIndex, mode: str) -> Ranker:
    """A long query through the live search in `mode`: the weighted key terms (`word^1.87`,
    the query the BM25F rows run), OR-ed, and the whole description as the text the meaning
    side reads, so the live hybrid and the eval-only one differ only in their vector side.
    Key terms are letters or digits only (compound parts, lower-cased), so they never read as
    query syntax."""
    live = live_ranker(index, mode, operator="or")

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        return live(key_query.text(), judged, meaning=key_query.topic or None)

    return rank


def feedback_query(key_query: KeyQuery, index: SearchIndex, top_ids: list[str]) -> KeyQuery:
    """`key_query` plus the FEEDBACK_TERMS terms that best set the top-ranked studies apart
    from the collection (Bo1 divergence, Whoosh's `Expander`), weighted up to FEEDBACK_WEIGHT:
    one round of pseudo-relevance feedback, which brings in the trial vocabulary ("inclusion",
    drug names) that a patient description lacks."""
    expander = Expander(index.searcher().reader(), "summary", model=Bo1Model)
    for nct_id in top_ids:
        study = index.get(nct_id)
        if study is not None:
            expander.add_text(study_text(study))
    present = set(analyze(" ".join(key_query.words)))
    extra = [(term, weight) for term, weight in
             expander.expanded_terms(FEEDBACK_TERMS + len(present))
             if term not in present and term not in _DROPPED_STEMS and len(term) > 2
             and not term.isdigit()][:FEEDBACK_TERMS]
    if not extra:
        return key_query
    strongest = max(weight for _, weight in extra)
    return KeyQuery(key_query.words + [term for term, _ in extra],
                    key_query.weights + [FEEDBACK_WEIGHT * weight / strongest for _, weight in extra],
                    key_query.topic)


def feedback_ranker(index: SearchIndex, base: Ranker) -> Ranker:
    """`base` run on the query expanded by feedback from its own first FEEDBACK_DOCS results
    (of the whole index: feedback must not peek at the judgments)."""

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        if not key_query.words:
            return []
        first = base(key_query, None)[:FEEDBACK_DOCS]
        return base(fit_query(feedback_query(key_query, index, first), index), judged)

    return rank


class Fts5Baseline:
    """SQLite FTS5 over the same records and fields as the index (`indexer.fts5`), ranked by
    FTS5's bm25() with the index's field weights: an outside baseline. FTS5 queries take no
    per-term boost, so it gets the same key words, OR-ed, unweighted, in the default fields."""

    def __init__(self, path: str | os.PathLike) -> None:
        reason = fts5.unavailable()
        if reason:
            raise TrialsearchError(f"the SQLite baseline needs FTS5: {reason}")
        self.db = sqlite3.connect(str(path))
        self.db.executescript(fts5.create_sql("docs"))
        self.ids: set[str] = set()
        self.nct_ids: list[str] = []  # rowid - 1 -> NCT ID

    def add(self, studies: Iterator[Study]) -> None:
        """Index `studies`, each field as the Whoosh schema gets it."""
        insert, rows = fts5.insert_sql("docs"), []
        for study in studies:
            self.ids.add(study.nct_id)
            self.nct_ids.append(study.nct_id)
            rows.append((len(self.nct_ids), *fts5.row(study)[0]))
            if len(rows) >= 1000:
                self.db.executemany(insert, rows)
                rows = []
        self.db.executemany(insert, rows)
        self.db.commit()

    def rank(self, key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        """NCT IDs best first."""
        if not key_query.words:
            return []
        words = " OR ".join('"' + word.replace('"', '""') + '"' for word in key_query.words)
        match = f"{fts5.DEFAULT_SCOPE} : ({words})"
        sql = "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank"
        if judged is None:
            rows = self.db.execute(f"{sql} LIMIT {FULL_DEPTH}", [match])
            return [self.nct_ids[rowid - 1] for (rowid,) in rows]
        ranked = (self.nct_ids[rowid - 1] for (rowid,) in self.db.execute(sql, [match]))
        return [nct_id for nct_id in ranked if nct_id in judged]

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def stored_vectors(index: SearchIndex, encoder) -> tuple[dict, dict]:
    """The index's stored study vectors (`trialsearch vectors`) when they come from `encoder`'s
    model: NCT ID -> vector and NCT ID -> the hash of the text it was computed from; else two
    empty dicts. They are what `encoder` would compute, so the hybrid need not encode again."""
    model = getattr(encoder, "model", None)
    if model is None or not hasattr(model, "source") or not VectorStore.exists(index.path):
        return {}, {}
    store = VectorStore(index.path, readonly=True)
    try:
        if store.model != model_id(model):
            return {}, {}
        vectors = {nct_id: vector for _, nct_ids, rows in store.rows_since(0)
                   for nct_id, vector in zip(nct_ids, rows)}
        return vectors, store.hashes()
    finally:
        store.close()


def hybrid_ranker(index: SearchIndex, encoder: Encoder, base: Ranker) -> Ranker:
    """Reciprocal rank fusion of `base` and the candidates ranked by cosine similarity to the
    topic description. Candidates: in pool mode the topic's judged trials (a vector ranker
    reaches every document), else `base`'s top FULL_DEPTH, re-ranked (the live hybrid, by
    contrast, also brings in the studies nearest in meaning from the whole index). Study vectors
    stored beside the index are used where they come from the same model and text; the rest are
    encoded here."""
    vectors: dict = {}  # NCT ID -> vector, shared by all topics
    stored: tuple[dict, dict] | None = None

    def rank(key_query: KeyQuery, judged: set[str] | None) -> list[str]:
        nonlocal stored
        lexical = base(key_query, judged)
        candidates = sorted(judged) if judged is not None else lexical
        new = [nct_id for nct_id in candidates if nct_id not in vectors]
        if new:
            if stored is None:
                stored = stored_vectors(index, encoder)
            texts = {nct_id: study_text(index.get(nct_id)) for nct_id in new}
            saved, hashes = stored
            for nct_id, text in texts.items():
                if nct_id in saved and hashes.get(nct_id) == text_hash(text):
                    vectors[nct_id] = saved[nct_id]
            new = [nct_id for nct_id in new if nct_id not in vectors]
            if new:
                vectors.update(zip(new, encoder.encode([texts[nct_id] for nct_id in new])))
        if not candidates:
            return []
        topic_vector = encoder.encode([key_query.topic])[0]
        dense = sorted(candidates, key=lambda nct_id: -float(vectors[nct_id] @ topic_vector))
        return reciprocal_rank_fusion([lexical, dense])

    return rank


def indexed_studies(index: SearchIndex) -> Iterator[Study]:
    """Every study in the index, from the JSON record each document stores."""
    for stored in index.searcher().reader().all_stored_fields():
        yield decode_study(stored)


# -- scoring --------------------------------------------------------------------------------
def score_run(qrels: dict[str, dict[str, int]], run: dict[str, list[str]]
              ) -> dict[str, dict[str, float]]:
    """Per-topic metrics of `run` (topic -> NCT IDs best first) with ir-measures. Every topic
    of `run` gets a value: one that retrieved nothing scores 0 (trec_eval -c)."""
    # Scores from ranks, so ties cannot reorder what the system ranked.
    scored = {topic: {nct_id: float(len(ids) - rank) for rank, nct_id in enumerate(ids)}
              for topic, ids in run.items() if ids}
    ir_measures = require_ir_measures()
    names = {ir_measures.parse_measure(spec): name for name, spec in MEASURES.items()}
    per_topic = {topic: dict.fromkeys(MEASURES, 0.0) for topic in run}
    wanted = {topic: qrels[topic] for topic in run}
    for metric in ir_measures.iter_calc(list(names), wanted, scored):
        per_topic[metric.query_id][names[metric.measure]] = metric.value
    return per_topic


def require_ir_measures():
    """The ir-measures module. Raises TrialsearchError saying how to install it: only
    evaluation needs it, so it is an extra, not a dependency of every install."""
    try:
        import ir_measures
    except ImportError:
        raise TrialsearchError("scoring needs ir-measures, which is not installed: "
                               "pip install 'trialsearch[eval]'") from None
    return ir_measures


def mean_scores(per_topic: dict[str, dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over the topics."""
    count = len(per_topic) or 1
    return {name: sum(scores[name] for scores in per_topic.values()) / count for name in MEASURES}


# -- coverage -------------------------------------------------------------------------------
@dataclass
class Coverage:
    """How much of the judgments the index can speak to, and which topics are scored."""

    judgments: int  # judgments for the topics in the topics file
    eligible: int
    judgments_available: int  # ... whose trial is in the index
    eligible_available: int
    topics: int  # in the topics file
    topics_judged: int
    topics_evaluated: list[str] = field(default_factory=list)


def coverage(topics: dict[str, str], qrels: dict[str, dict[str, int]], available: set[str],
             *, pool: bool) -> Coverage:
    """Count judgments and eligible trials, all and in the index, for the topics. Topics are
    scored when they have an eligible trial (in the index, in pool mode): without one, P, RR
    and recall are undefined."""
    judged = {topic: qrels[topic] for topic in topics if topic in qrels}
    grades = [grade for judgments in judged.values() for grade in judgments.values()]
    in_index = {topic: {n: g for n, g in judgments.items() if n in available}
                for topic, judgments in judged.items()}
    grades_in = [grade for judgments in in_index.values() for grade in judgments.values()]
    basis = in_index if pool else judged
    return Coverage(
        judgments=len(grades), eligible=grades.count(ELIGIBLE),
        judgments_available=len(grades_in), eligible_available=grades_in.count(ELIGIBLE),
        topics=len(topics), topics_judged=len(judged),
        topics_evaluated=[t for t in topics if ELIGIBLE in basis.get(t, {}).values()],
    )


# -- the whole evaluation -------------------------------------------------------------------
@dataclass
class EvalReport:
    """What `evaluate` measured: mean metrics per configuration, coverage, query size, the topics
    each configuration found nothing for; for short queries, the topics skipped for want of
    one."""

    mode: str  # "pool", "full" or "index" (whole index, judged in index)
    means: dict[str, dict[str, float]]  # configuration -> metric -> mean
    per_topic: dict[str, dict[str, dict[str, float]]]  # configuration -> topic -> metric
    coverage: Coverage
    mean_query_terms: float  # key terms per long query; words per short query
    seconds: float
    queries: str = "long"  # "long" (key terms of the description) or "short" (typed)
    short_skipped: list[str] = field(default_factory=list)  # scored topics without a short query
    zero_results: dict[str, list[str]] = field(default_factory=dict)  # configuration -> topics
    short_queries: dict[str, str] = field(default_factory=dict)  # topic -> the query run
    live_modes: list[str] = field(default_factory=list)  # the live search modes scored
    live_unavailable: str = ""  # why the live hybrid and semantic rows are left out, if they are
    row_seconds: dict[str, float] = field(default_factory=dict)  # configuration -> ranking time

    def to_dict(self) -> dict:
        """JSON-ready form, with the relevance levels and the published reference points."""
        data = asdict(self)
        data["relevance"] = RELEVANCE_NOTE
        data["reference_ndcg10_trec2021_full_corpus"] = REFERENCE_NDCG10_TREC2021
        return data


def evaluate(index: SearchIndex, topics: dict[str, str], qrels: dict[str, dict[str, int]], *,
             pool: bool, workdir: str | os.PathLike, key_term_limit: int = DEFAULT_KEY_TERMS,
             encoder: Encoder | None = None, judged_in_index: bool = False,
             short_queries: dict[str, str] | None = None,
             modes: Sequence[str] | None = None) -> EvalReport:
    """Rank every scored topic with each configuration and score the rankings.

    `pool`: rank only each topic's judged trials (see the module docstring). `judged_in_index`
    (not with `pool`): rank the whole index, but score against the judgments of the trials it
    holds only. `workdir`: a scratch folder for the FTS5 baseline's database. `encoder`: also
    rank with the eval-only hybrid (BM25F with abbreviations fused with vector similarity).
    `short_queries` (topic -> typed query): rank those through the live search instead of the
    descriptions' key terms; scored topics without one are skipped and listed. `modes`: the
    live search modes to score (a "live: <mode>" row each; default: all the index supports;
    raises TrialsearchError for one it cannot run).
    """
    if pool and judged_in_index:
        raise ValueError("judged_in_index ranks the whole index; it does not combine with pool")
    in_index = pool or judged_in_index
    mode = "pool" if pool else "index" if judged_in_index else "full"
    started = time.perf_counter()
    require_ir_measures()  # before minutes of ranking, not after
    modes, unavailable = check_modes(index, modes)
    fts = Fts5Baseline(Path(workdir) / "fts5.sqlite")
    try:
        fts.add(indexed_studies(index))
        cover = coverage(topics, qrels, fts.ids, pool=in_index)
        if not cover.topics_judged:
            raise EvalInputError("the qrels judge none of the topics; are they the same year's?")
        if not cover.topics_evaluated:
            raise EvalInputError("no topic has an eligible trial " + (
                "in the index; this mode needs the judged trials' records" if in_index else "judged"))
        if in_index:
            # What is judged and available; it is also what recall is out of. Unjudged trials
            # a whole-index ranking retrieves count as not relevant.
            qrels = {topic: {n: g for n, g in qrels[topic].items() if n in fts.ids}
                     for topic in cover.topics_evaluated}
        if short_queries is not None:
            return _evaluate_short(index, qrels, cover, short_queries, pool=pool, mode=mode,
                                   started=started, modes=modes, unavailable=unavailable,
                                   encoder=encoder)
        with_abbreviations = bm25f_ranker(index, expand_abbreviations=True)
        rankers: dict[str, Ranker] = {
            PLAIN: bm25f_ranker(index, expand_abbreviations=False),
            ABBREVIATIONS: with_abbreviations,
            DEFAULT: feedback_ranker(index, with_abbreviations),
            FTS5: fts.rank,
        }
        if encoder is not None:
            rankers[HYBRID] = hybrid_ranker(index, encoder, with_abbreviations)
        for live_mode in modes:
            rankers[live_row(live_mode)] = live_key_terms_ranker(index, live_mode)
        queries = {topic: fit_query(key_terms(topics[topic], index, key_term_limit), index)
                   for topic in cover.topics_evaluated}
        per_topic, zero, seconds = _score_rankers(rankers, queries, qrels, pool=pool)
    finally:
        fts.close()
    return EvalReport(
        mode=mode, means={name: mean_scores(scores) for name, scores in per_topic.items()},
        per_topic=per_topic, coverage=cover,
        mean_query_terms=sum(len(q.words) for q in queries.values()) / len(queries),
        seconds=round(time.perf_counter() - started, 2), zero_results=zero,
        live_modes=modes, live_unavailable=unavailable, row_seconds=seconds,
    )


def _score_rankers(rankers: dict[str, Ranker], queries: dict, qrels: dict[str, dict[str, int]],
                   *, pool: bool) -> tuple[dict, dict[str, list[str]], dict[str, float]]:
    """Each ranker's per-topic scores on `queries` (topic -> its query), the topics it found
    nothing for, and the seconds it took."""
    per_topic, zero, seconds = {}, {}, {}
    for name, rank in rankers.items():
        began = time.perf_counter()
        run = {topic: rank(query, set(qrels[topic]) if pool else None)
               for topic, query in queries.items()}
        seconds[name] = round(time.perf_counter() - began, 2)
        per_topic[name] = score_run(qrels, run)
        zero[name] = [topic for topic, ids in run.items() if not ids]
    return per_topic, zero, seconds


def _evaluate_short(index: SearchIndex, qrels: dict[str, dict[str, int]], cover: Coverage,
                    short_queries: dict[str, str], *, pool: bool, mode: str, started: float,
                    modes: list[str], unavailable: str, encoder: Encoder | None) -> EvalReport:
    """Score the live search, in each of `modes`, on the short queries of the scored topics
    that have one (and, with `encoder`, the eval-only hybrid over the live keyword ranking)."""
    topics = [topic for topic in cover.topics_evaluated if topic in short_queries]
    skipped = [topic for topic in cover.topics_evaluated if topic not in short_queries]
    if not topics:
        raise EvalInputError("no scored topic has a short query; are the id2queries files the "
                             "same topic sets as the topics files?")

    def typed(live: Callable[..., list[str]]) -> Ranker:
        return lambda key_query, judged: live(key_query.topic, judged)

    rankers: dict[str, Ranker] = {live_row(m): typed(live_ranker(index, m)) for m in modes}
    if encoder is not None:
        rankers[SHORT_HYBRID] = hybrid_ranker(index, encoder, typed(live_ranker(index, "keyword")))
    # The typed text is both the query and what a vector ranker reads.
    queries = {topic: KeyQuery(short_queries[topic].split(), [], short_queries[topic])
               for topic in topics}
    per_topic, zero, seconds = _score_rankers(rankers, queries, qrels, pool=pool)
    return EvalReport(
        mode=mode, means={name: mean_scores(scores) for name, scores in per_topic.items()},
        per_topic=per_topic, coverage=cover,
        mean_query_terms=sum(len(short_queries[t].split()) for t in topics) / len(topics),
        seconds=round(time.perf_counter() - started, 2), queries="short",
        short_skipped=skipped, zero_results=zero,
        short_queries={topic: short_queries[topic] for topic in topics},
        live_modes=modes, live_unavailable=unavailable, row_seconds=seconds,
    )
