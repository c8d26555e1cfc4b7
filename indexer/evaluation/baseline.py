"""The outside baseline: SQLite FTS5 over the index's own records (`indexed_studies`), with the
fields and weights of `fts5` (shared with the benchmarks), ranking the same key words.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

from ..errors import TrialsearchError
from ..model import Study
from ..search import SearchIndex
from ..search.keyterms import KeyQuery
from ..whoosh.generation import decode_study
from . import fts5
from .rankers import FULL_DEPTH


class Fts5Baseline:
    """SQLite FTS5 over the same records and fields as the index (`fts5`), ranked by
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


def indexed_studies(index: SearchIndex) -> Iterator[Study]:
    """Every study in the index, from the JSON record each document stores."""
    for stored in index.searcher().reader().all_stored_fields():
        yield decode_study(stored)
