"""SQLite FTS5 over the same fields as the index: the outside baseline that evaluation and the
benchmarks share.

One FTS5 table of the prose fields, keyed by rowid (callers keep the NCT ID beside it), ranked
by bm25() with the index's field weights, so a difference between it and trialsearch is the
engine's, not the setup's:

    db.executescript(create_sql("fts"))
    db.execute(insert_sql("fts"), (rowid, *row(study)[0]))
    query = DEFAULT_SCOPE + ' : ("severe" OR "asthma")'
    db.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank", [query])
"""

from __future__ import annotations

import sqlite3

from ..catalog.fields import DEFAULT_FIELD_BOOSTS
from ..index.schema import study_to_document
from ..model import Study

# The index's prose fields (schema.PROSE_FIELDS) in a fixed order: FTS5 addresses columns by
# position (bm25() weights, snippet()).
COLUMNS = ("title", "summary", "description", "condition", "intervention", "keyword",
           "eligibility", "sponsor")

# Porter stemming over unicode61 is the nearest FTS5 has to our Snowball analyzer. Accents
# fold as our analyzer's accent_map folds them: remove_diacritics 2 also strips letters with
# two marks ("Nguyễn" -> "nguyen"), which the default, 1, keeps whole.
TOKENIZER = "porter unicode61 remove_diacritics 2"

# bm25() weights by column: the index's field boosts; fields bare words don't search get 1.0.
WEIGHTS = tuple(DEFAULT_FIELD_BOOSTS.get(column, 1.0) for column in COLUMNS)

# A column filter restricting a MATCH to the fields bare words search in trialsearch.
DEFAULT_SCOPE = "{" + " ".join(DEFAULT_FIELD_BOOSTS) + "}"


def unavailable() -> str | None:
    """None when this Python's sqlite3 has FTS5, else why not."""
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(a)")
    except sqlite3.OperationalError as exc:
        return f"sqlite3 {sqlite3.sqlite_version} has no FTS5 ({exc})"
    return None


def create_sql(table: str) -> str:
    """The script creating FTS5 table `table` over COLUMNS, with `ORDER BY rank` set to bm25()
    with WEIGHTS (stored in the table, so every later connection ranks the same)."""
    weights = ", ".join(map(str, WEIGHTS))
    return (f"CREATE VIRTUAL TABLE {table} USING fts5({', '.join(COLUMNS)}, "
            f"tokenize='{TOKENIZER}');\n"
            f"INSERT INTO {table}({table}, rank) VALUES('rank', 'bm25({weights})');")


def insert_sql(table: str) -> str:
    """The INSERT taking a rowid followed by a `row()`'s values."""
    return (f"INSERT INTO {table}(rowid, {', '.join(COLUMNS)}) "
            f"VALUES (?, {', '.join('?' * len(COLUMNS))})")


def row(study: Study) -> tuple[tuple[str, ...], dict]:
    """The COLUMNS values for `study`, each field as the Whoosh schema gets it, and the index
    document they come from (for callers that keep more of it, such as the stored record)."""
    document = study_to_document(study)
    return tuple(document.get(column, "") for column in COLUMNS), document
