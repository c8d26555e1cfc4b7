"""tantivy peer (PyPI `tantivy`, Rust): BM25 with the app's field boosts.

Prose fields use tantivy's `en_stem` analyzer; facet values are raw-tokenized fast fields so
one `aggregate` call counts them all; the record JSON is stored as Whoosh stores it, and the
summary is stored too because tantivy's snippets read stored text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from nltk.stem.snowball import SnowballStemmer

from indexer.index.schema import study_to_document

from ..queries import DEFAULT_FIELDS, FACET_LIMIT, PER_PAGE, QueryCase
from . import studies

try:
    import tantivy
except ImportError:  # the suite then skips this peer, saying so
    tantivy = None

NAME = "tantivy"
APP_FILTERS = False  # no geo or eligibility filters: `app_only` cases are not run here
PROSE = ("title", "summary", "description", "condition", "intervention", "keyword",
         "eligibility", "sponsor")
FACETS = {"status": 20, "phase": 20, "study_type": 20, "sponsor": FACET_LIMIT, "year": 60}
HEAP_BYTES = 512_000_000  # split across the writer threads; Whoosh gets 256 MB per process
THREADS = 2
_STEMMER = SnowballStemmer("english")  # what en_stem applies (Snowball English, as Whoosh)


def _stem(word: str) -> str:
    # Fuzzy terms are not analyzed: match the stemmed index terms against the stemmed word.
    return _STEMMER.stem(word.lower())


def available() -> str | None:
    """None when the `tantivy` package is importable, else why not."""
    if tantivy is None:
        return "the `tantivy` package is not installed (pip install tantivy, or the [test] extra)"
    return None


def _schema():
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("nct_id", stored=True, tokenizer_name="raw")
    for name in PROSE:
        builder.add_text_field(name, stored=name == "summary", tokenizer_name="en_stem")
    for name in ("status", "phase", "study_type", "sponsor_name"):
        builder.add_text_field(name, fast=True, tokenizer_name="raw")
    builder.add_integer_field("year", fast=True, indexed=True)
    builder.add_bytes_field("record", stored=True)
    return builder.build()


def _document(study) -> tantivy.Document:
    doc = study_to_document(study)
    out = tantivy.Document()
    out.add_text("nct_id", study.nct_id)
    for name in PROSE:
        if doc.get(name):
            out.add_text(name, doc[name])
    out.add_text("status", study.status)
    for phase in study.phases:
        out.add_text("phase", phase)
    out.add_text("study_type", study.study_type)
    out.add_text("sponsor_name", study.sponsor)
    if study.first_posted:
        out.add_integer("year", study.first_posted.year)
    out.add_bytes("record", doc["record"].encode())
    return out


class Engine:
    """Builds with 2 writer threads and one commit; updates delete by NCT ID and re-add."""

    name = NAME

    def build(self, files, index_dir) -> int:
        """Full build of `files` into `index_dir`; returns the number of studies indexed."""
        folder = Path(index_dir)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        index = tantivy.Index(_schema(), path=str(folder))
        writer = index.writer(heap_size=HEAP_BYTES, num_threads=THREADS)
        seen: set[str] = set()
        for study in studies(files):
            if study.nct_id in seen:  # first one read wins, as in trialsearch
                continue
            seen.add(study.nct_id)
            writer.add_document(_document(study))
        writer.commit()
        writer.wait_merging_threads()
        return len(seen)

    def update(self, files, index_dir) -> int:
        """Upsert `files` by NCT ID with one commit; returns the number of studies."""
        index = tantivy.Index.open(str(index_dir))
        writer = index.writer(heap_size=HEAP_BYTES, num_threads=THREADS)
        count = 0
        for study in studies(files):
            writer.delete_documents_by_term("nct_id", study.nct_id)
            writer.add_document(_document(study))
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        return count

    def open(self, index_dir) -> Session:
        """A searcher over `index_dir`."""
        return Session(tantivy.Index.open(str(index_dir)))


class Session:
    """An open index answering `QueryCase`s."""

    def __init__(self, index):
        self.index = index
        self.schema = index.schema
        self.searcher = index.searcher()

    def query(self, case: QueryCase):
        """The tantivy query for `case`."""
        Query, Occur = tantivy.Query, tantivy.Occur
        if case.prefix or case.fuzzy:
            per_field = [
                Query.boost_query(
                    # A one-word phrase prefix is a term prefix, expanded to 50 terms by
                    # default: the same bound as trialsearch's.
                    Query.phrase_prefix_query(self.schema, name, [case.prefix])
                    if case.prefix else Query.fuzzy_term_query(self.schema, name, _stem(case.fuzzy)),
                    boost)
                for name, boost in DEFAULT_FIELDS.items()
            ]
            q = Query.boolean_query([(Occur.Should, part) for part in per_field])
        else:
            text = f'"{case.phrase}"' if case.phrase else " ".join(case.words)
            fields = [case.field] if case.field else list(DEFAULT_FIELDS)
            q = self.index.parse_query(text, default_field_names=fields,
                                       field_boosts=DEFAULT_FIELDS, conjunction_by_default=True)
        if case.statuses:
            allowed = Query.boolean_query([(Occur.Should, Query.term_query(self.schema, "status", s))
                                           for s in case.statuses])
            q = Query.boolean_query([(Occur.Must, q), (Occur.Must, allowed)])
        return q

    def run(self, case: QueryCase) -> tuple[int, list[str]]:
        """(total matches, NCT IDs on the requested page), with snippets and facets."""
        if case.app_only:
            raise ValueError(f"{NAME} has no location or eligibility filters: {case.describe()}")
        q = self.query(case)
        result = self.searcher.search(q, limit=PER_PAGE, offset=(case.page - 1) * PER_PAGE)
        snippets = tantivy.SnippetGenerator.create(self.searcher, q, self.schema, "summary")
        ids = []
        for _, address in result.hits:
            doc = self.searcher.doc(address)
            snippets.snippet_from_doc(doc).to_html()
            json.loads(doc.get_first("record"))  # the app renders fields from the stored record
            ids.append(doc.get_first("nct_id"))
        if case.facet_counts:
            self.searcher.aggregate(q, {
                name: {"terms": {"field": "sponsor_name" if name == "sponsor" else name,
                                 "size": size}}
                for name, size in FACETS.items()
            })
        return result.count, ids

    def refresh(self) -> None:
        """See the last commit (tantivy's searcher is a point-in-time view)."""
        self.index.reload()
        self.searcher = self.index.searcher()

    def close(self) -> None:
        """Nothing to release (tantivy frees the searcher with the object)."""
