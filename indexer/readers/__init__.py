"""Reading study records in every format people hold, from files, folders, `.gz` files and
`.zip` archives, recognised by content::

    from indexer.readers import read_sources
    for item in read_sources(["records/", "extra.jsonl.gz"]):
        ...  # a Study, or a Problem (bad data never raises)

Formats: the plain-text export (`text`), ClinicalTrials.gov API v2 JSON (`api_v2`), the
classic API's FullStudies JSON (`api_v1`), legacy `<clinical_study>` XML (`xml`), search-results
TSV/CSV exports (`tsv`) and the TREC Clinical Trials corpus (`trec`).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator

from ..model import Problem, Study
from . import sniff
from .records import Found
from .sources import Document, NotUtf8Error, iter_documents

__all__ = ["read_sources"]


def read_sources(paths: Iterable[str | os.PathLike]) -> Iterator[Study | Problem]:
    """Yield every Study in `paths` (files or folders, read recursively) and a Problem for
    everything that could not be read. An NCT ID seen before is a Problem: the first wins."""
    first_read: dict[str, str] = {}
    for document in iter_documents(paths):
        if isinstance(document, Problem):
            yield document
            continue
        for item in read_document(document):
            if isinstance(item, Problem):
                yield item
                continue
            where, study = item
            earlier = first_read.get(study.nct_id)
            if earlier is not None:
                yield where.problem(f"duplicate NCT ID {study.nct_id}, first read from {earlier}")
                continue
            study.source = first_read[study.nct_id] = str(where)
            yield study


def read_document(document: Document) -> Iterator[Found | Problem]:
    """The studies (with their places) and problems of one document, whatever its format."""
    try:
        reader = sniff.detect(document)
        if isinstance(reader, Problem):
            yield reader
        else:
            yield from reader(document)
    except NotUtf8Error as exc:
        yield document.problem(str(exc))
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        # A truncated or corrupt .gz/.zip, or a file that vanished while being read.
        yield document.problem(f"unreadable: {exc}")
