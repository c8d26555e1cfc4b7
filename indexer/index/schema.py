"""The Whoosh schema and the mapping from a `Study` to an index document, both made from the
catalog's fields (`indexer.catalog.fields`): this module only says which Whoosh field type
each kind of field is.

Searchable prose fields use the NLTK analyzer; facet fields hold normalized values (lowercased
enums, exact sponsor names) in columns so facet counts and sorting read columns, not postings.
The whole record is stored as JSON so `get(nct_id)` returns every field without another store.
"""

from __future__ import annotations

from collections.abc import Callable

from whoosh.columns import NumericColumn, VarBytesColumn
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, FieldType, Schema

from ..catalog.fields import FIELDS, Field
from ..model import Study
from .analysis import text_analyzer, vocabulary_analyzer

SCHEMA_VERSION = 3  # 2: sites, ages and the eligibility and results fields; 3: concept


def _prose(field: Field) -> TEXT:
    # Compounds become several tokens; querying them as a phrase keeps "UC-MSC" precise.
    return TEXT(analyzer=text_analyzer(), phrase=True, multitoken_query="phrase")


# Catalog kind -> the Whoosh field that holds it.
WHOOSH_FIELDS: dict[str, Callable[[Field], FieldType]] = {
    "key": lambda field: ID(stored=True, unique=True, sortable=field.sortable),
    "exact": lambda field: ID(sortable=field.sortable),
    "keyword": lambda field: KEYWORD(lowercase=True, sortable=field.sortable),
    "flag": lambda field: KEYWORD(),
    "list": lambda field: KEYWORD(commas=True),
    "prose": _prose,
    "spelling": lambda field: TEXT(analyzer=vocabulary_analyzer(), phrase=False),
    "date": lambda field: DATETIME(sortable=field.sortable),
    "year": lambda field: NUMERIC(int, bits=32, sortable=field.sortable, signed=False),
    "bytes": lambda field: COLUMN(VarBytesColumn()),
    "limit": lambda field: COLUMN(NumericColumn("f", default=float("nan"))),
    "record": lambda field: STORED(),
}


def build_schema() -> Schema:
    """Create the index schema (one instance per index; analyzers are pickled with it)."""
    return Schema(**{field.name: WHOOSH_FIELDS[field.kind](field) for field in FIELDS})


def study_to_document(study: Study) -> dict:
    """Map a Study to the keyword arguments of `writer.add_document`: each field's value,
    leaving out what the study lacks (Whoosh rejects empty strings in some field types)."""
    document = ((field.name, field.take(study)) for field in FIELDS)
    return {name: value for name, value in document if value not in ("", None)}
