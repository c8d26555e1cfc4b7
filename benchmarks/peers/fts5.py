"""SQLite FTS5 peer (Python's stdlib `sqlite3`): bm25 ranking with the app's field weights.

One FTS5 table holds the prose fields, as `indexer.fts5` defines it for `trialsearch eval` too;
a plain table keyed by the same rowid holds the NCT ID, the facet values and the stored
record, as Whoosh stores it. A results page is three statements: the ranked page with a
summary snippet, one GROUP BY over the low-cardinality facets (whose sum is the total) and
one for the top sponsors.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from pathlib import Path

from nltk.stem.porter import PorterStemmer

from indexer.evaluation import fts5

from ..queries import FACET_LIMIT, PER_PAGE, QueryCase
from . import studies

NAME = "SQLite FTS5"
APP_FILTERS = False  # no geo or eligibility filters: `app_only` cases are not run here
INSERT_FTS = fts5.insert_sql("fts")
SNIPPET_COLUMN = fts5.COLUMNS.index("summary")
DB_FILE = "index.sqlite"
MAX_EXPANSIONS = 50  # fuzzy words expand to at most this many terms, as in trialsearch
BATCH = 1000

available = fts5.unavailable  # under the name every peer module answers to


def _rows(study):
    text, doc = fts5.row(study)
    year = study.first_posted.year if study.first_posted else None
    meta = (study.nct_id, study.brief_title or study.nct_id, study.status,
            " ".join(study.phases), study.study_type, study.sponsor, year, doc["record"])
    return meta, text


class Engine:
    """Bulk-loads in one transaction with the journal off (a build writes a new file and is
    renamed into place, like a trialsearch generation); updates run in WAL mode."""

    name = NAME

    def build(self, files, index_dir) -> int:
        """Full build of `files` into `index_dir`; returns the number of studies indexed."""
        folder = Path(index_dir)
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / (DB_FILE + ".building")
        temp.unlink(missing_ok=True)
        db = sqlite3.connect(temp)
        db.executescript(f"""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE docs(rowid INTEGER PRIMARY KEY, nct_id TEXT UNIQUE, title TEXT,
                status TEXT, phase TEXT, study_type TEXT, sponsor TEXT, year INTEGER, record TEXT);
            {fts5.create_sql("fts")}
        """)
        count = 0
        seen: set[str] = set()
        batch = []
        for study in studies(files):
            if study.nct_id in seen:  # first one read wins, as in trialsearch
                continue
            seen.add(study.nct_id)
            count += 1
            batch.append(_rows(study))
            if len(batch) >= BATCH:
                self._insert(db, batch, count - len(batch) + 1)
                batch = []
        self._insert(db, batch, count - len(batch) + 1)
        db.commit()
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
        os.replace(temp, folder / DB_FILE)
        return count

    @staticmethod
    def _insert(db, batch, first_rowid: int) -> None:
        ids = range(first_rowid, first_rowid + len(batch))
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(rowid, *meta) for rowid, (meta, _) in zip(ids, batch)])
        db.executemany(INSERT_FTS, [(rowid, *text) for rowid, (_, text) in zip(ids, batch)])

    def update(self, files, index_dir) -> int:
        """Upsert `files` by NCT ID in one transaction; returns the number of studies."""
        db = sqlite3.connect(Path(index_dir) / DB_FILE)
        db.execute("PRAGMA synchronous=NORMAL")
        count = 0
        with db:
            for study in studies(files):
                meta, text = _rows(study)
                row = db.execute("SELECT rowid FROM docs WHERE nct_id = ?", (study.nct_id,)).fetchone()
                if row:
                    db.execute("DELETE FROM fts WHERE rowid = ?", row)
                    db.execute("DELETE FROM docs WHERE rowid = ?", row)
                cursor = db.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    (row[0] if row else None, *meta))
                db.execute(INSERT_FTS, (cursor.lastrowid, *text))
                count += 1
        db.close()
        return count

    def open(self, index_dir) -> Session:
        """A read connection over `index_dir`."""
        return Session(Path(index_dir) / DB_FILE)


class Session:
    """An open database answering `QueryCase`s."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.db.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, fts, row)")
        self._stem = PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM).stem
        self._vocab: dict[str, list[tuple[str, int]]] = {}  # first letter -> (term, df)

    def match(self, case: QueryCase) -> str:
        """The FTS5 MATCH expression for `case`."""
        if case.phrase:
            return f'{fts5.DEFAULT_SCOPE} : "{case.phrase}"'
        if case.prefix:
            return f"{fts5.DEFAULT_SCOPE} : {case.prefix}*"
        if case.fuzzy:
            terms = self._fuzzy_terms(case.fuzzy) or [case.fuzzy]
            return f"{fts5.DEFAULT_SCOPE} : ({' OR '.join(map(_quoted, terms))})"
        scope = case.field or fts5.DEFAULT_SCOPE
        return f"{scope} : ({' AND '.join(map(_quoted, case.words))})"

    def _fuzzy_terms(self, word: str) -> list[str]:
        # FTS5 has no fuzzy query: expand against the index vocabulary (cached per first
        # letter, as a spelling dictionary would be), keep the most frequent, as trialsearch.
        word = word.lower()
        stem = self._stem(word)
        first = word[0]
        if first not in self._vocab:
            self._vocab[first] = self.db.execute(
                "SELECT term, doc FROM temp.vocab WHERE term >= ? AND term < ?",
                (first, chr(ord(first) + 1))).fetchall()
        found = [(df, term) for term, df in self._vocab[first]
                 if _within_one(term, word) or _within_one(term, stem)]
        return [term for _, term in sorted(found, reverse=True)[:MAX_EXPANSIONS]]

    def run(self, case: QueryCase) -> tuple[int, list[str]]:
        """(total matches, NCT IDs on the requested page), with snippets and facets."""
        if case.app_only:
            raise ValueError(f"{NAME} has no location or eligibility filters: {case.describe()}")
        where = "fts MATCH ?"
        params: list = [self.match(case)]
        if case.statuses:
            where += f" AND d.status IN ({', '.join('?' * len(case.statuses))})"
            params += case.statuses
        source = f"fts JOIN docs d ON d.rowid = fts.rowid WHERE {where}"
        page = self.db.execute(
            f"SELECT d.nct_id, d.record, snippet(fts, {SNIPPET_COLUMN}, '<mark>', '</mark>', "
            f"' … ', 24) FROM {source} ORDER BY rank LIMIT ? OFFSET ?",
            (*params, PER_PAGE, (case.page - 1) * PER_PAGE)).fetchall()
        for _, record, _ in page:
            json.loads(record)  # the app renders fields from the stored record
        combos = self.db.execute(
            f"SELECT d.status, d.phase, d.study_type, d.year, count(*) FROM {source} "
            "GROUP BY 1, 2, 3, 4", params).fetchall()
        total = sum(row[-1] for row in combos)
        if case.facet_counts:
            facets = {name: Counter() for name in ("status", "phase", "study_type", "year")}
            for status, phases, study_type, year, n in combos:
                facets["status"][status] += n
                facets["study_type"][study_type] += n
                facets["year"][year] += n
                for phase in phases.split():
                    facets["phase"][phase] += n
            self.db.execute(
                f"SELECT d.sponsor, count(*) FROM {source} GROUP BY 1 ORDER BY 2 DESC LIMIT ?",
                (*params, FACET_LIMIT)).fetchall()
        return total, [row[0] for row in page]

    def refresh(self) -> None:
        """Forget the vocabulary read for fuzzy words (SQLite sees new rows by itself)."""
        self._vocab.clear()

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _within_one(a: str, b: str) -> bool:
    """True when the edit distance between `a` and `b` is at most 1."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]
