"""One generation of the index, frozen: everything a search of it reads, built in one place.

A build switches CURRENT to a new generation folder and an update commits a new Whoosh
generation inside it; either way the searcher, the array scorer, the facet columns, the
vocabulary, the abbreviation map and the memo of prepared queries all belong to one state of
the index. `Snapshot.open` makes them together and `SearchIndex` swaps the whole snapshot, as
Whoosh's own `Searcher.refresh()` returns a new searcher instead of changing the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog.fields import SEARCH_FIELD_BOOSTS
from ..index.abbreviations import USER_COUNT, Abbreviations
from ..index.analysis import analyze
from ..index.layout import read_meta
from ..whoosh.generation import open_searcher
from .caches import LRUCache, remembered
from .conditions import ConditionVocabulary
from .expansion import COMMON_WORD_SHARE, ExpansionMap
from .facets import DocSets
from .postings import SegmentCache
from .scoring import ArrayScorer
from .vocabulary import Vocabulary

MEMO_SIZE = 2048  # prepared queries, expansions and spelling suggestions kept per generation
CONDITION_CACHE_BYTES = 8 * 2**20  # the studies of each condition a query names, by their size


class Memo:
    """Values computed from one generation (a parsed query, a fuzzy word's expansion, a
    suggestion), least recently used dropped past `size`."""

    def __init__(self, size: int = MEMO_SIZE):
        self._values: LRUCache = LRUCache(size)

    def __call__(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()`, remembered under `key`."""
        return remembered(self._values, key, compute)


@dataclass(frozen=True)
class Snapshot:
    """A generation's searcher and the caches and sidecar files that go with it."""

    folder: Path
    stamp: tuple | None  # the CURRENT pointer's (inode, mtime, size) when opened
    searcher: Any
    scorer: ArrayScorer
    docsets: DocSets
    vocabulary: Vocabulary
    meta: dict
    abbreviations: dict[str, list[str]]
    pairs: Abbreviations  # the mined pairs and their counts, as stored beside the index
    expansions: ExpansionMap  # abbreviations and condition synonyms, analyzed
    memo: Memo = field(default_factory=Memo)
    # The document numbers of the conditions queries named (`conditions.condition_documents`):
    # bounded by bytes, as a common condition's studies are a large array at registry scale.
    condition_ids: LRUCache = field(default_factory=lambda: LRUCache(
        CONDITION_CACHE_BYTES, getsizeof=lambda ids: ids.nbytes))

    @classmethod
    def open(cls, folder: Path, stamp: tuple | None, segments: SegmentCache) -> Snapshot:
        """Open generation `folder`; `segments` (decoded segment data) is shared across
        generations, since an update leaves every earlier segment as it was."""
        # A fresh searcher, not Searcher.refresh(): reusing segment readers can miss
        # deletions committed by an update.
        searcher = open_searcher(folder)
        segments.keep_only(leaf for leaf, _ in searcher.reader().leaf_readers())
        scorer = ArrayScorer(searcher, segments=segments)
        pairs = Abbreviations.load(folder)
        abbreviations = pairs.effective()
        expansions = ExpansionMap.from_pairs(abbreviations).with_concepts(
            pairs.concepts.synonyms(), _common_word(searcher.reader()))
        return cls(folder=folder, stamp=stamp, searcher=searcher, scorer=scorer,
                   docsets=DocSets(searcher, scorer),
                   vocabulary=Vocabulary(searcher.reader(), segments),
                   meta=read_meta(folder), abbreviations=abbreviations, pairs=pairs,
                   expansions=expansions)

    @cached_property
    def conditions(self) -> ConditionVocabulary:
        """The condition names this generation's records carry (`conditions.py`), analyzed on
        first use."""
        return ConditionVocabulary(self.pairs.conditions, self.pairs.concepts)

    @property
    def generation(self) -> str:
        """The generation folder's name (`gen-20261125T055756-3134af`)."""
        return self.folder.name

    def is_current(self, stamp: tuple | None) -> bool:
        """Whether this is still the live index: CURRENT unchanged and no update committed."""
        return stamp == self.stamp and self.searcher.up_to_date()

    def warm_steps(self) -> list[Callable[[], Any]]:
        """What searches read on first use, as separate steps: the facet columns and their
        totals, the sites and age limits, the words of the spelling and default fields, the
        condition names. (The segments' tables are mapped: a segment written before them has
        them computed here.)"""
        schema = self.searcher.schema
        steps: list[Callable[[], Any]] = [lambda: self.docsets.columns, lambda: self.docsets.sites]
        # The words that "did you mean" and the default fields' fuzzy and prefix words read.
        steps += [lambda name=name: self.vocabulary.segment_words(name)
                  for name in ["vocab", *SEARCH_FIELD_BOOSTS] if name in schema]
        steps.append(lambda: self.conditions)
        return steps

    def nct_ids(self) -> list[str | None]:
        """Every document's NCT ID, by document number (None where there is no document)."""
        reader = self.searcher.reader()
        ids: list[str | None] = [None] * reader.doc_count_all()
        for leaf, offset in reader.leaf_readers():
            terms, counts, docnums = self.scorer.segments.field_postings(leaf, "nct_id")
            names = [btext.decode("utf-8") for btext in terms]
            for docnum, which in zip((offset + docnums.astype(np.int64)).tolist(),
                                     np.repeat(np.arange(len(terms)), counts).tolist()):
                ids[docnum] = names[which]
        return ids

    def stats(self) -> dict[str, Any]:
        """Generation, document count, fields, build/update times and size on disk."""
        return {
            "generation": self.generation,
            "documents": self.searcher.doc_count(),
            "fields": sorted(self.searcher.schema.names()),
            "built_at": self.meta.get("built_at"),
            "updated_at": self.meta.get("updated_at"),
            "size_bytes": sum(f.stat().st_size for f in self.folder.iterdir() if f.is_file()),
        }

    def synonyms(self) -> dict[str, list[dict[str, Any]]]:
        """Every pair this generation expands, with where it came from: {"MSC":
        [{"synonym": "mesenchymal stem cells", "source": "abbreviation (mined, 4 studies)",
        "kind": "abbreviation", "studies": 4}], "breast cancer": [{"synonym": "breast
        neoplasms", "source": "MeSH asFound (9 studies)", "kind": "mesh", "studies": 9}]}.
        A synonym file's pairs have kind "synonym file" and no study count."""
        listing: dict[str, list[dict[str, Any]]] = {}
        for short, forms in self.abbreviations.items():
            for form in forms:
                words = analyze(form)  # spellings that analyze alike are one long form
                counts = [n for spelling, n in self.pairs.pairs.get(short, {}).items()
                          if analyze(spelling) == words]
                if any(n >= USER_COUNT for n in counts):
                    entry = {"synonym": form, "source": "synonym file", "kind": "synonym file",
                             "studies": None}
                else:
                    count = sum(n % USER_COUNT for n in counts)
                    entry = {"synonym": form, "source": f"abbreviation (mined, {_studies(count)})",
                             "kind": "abbreviation", "studies": count}
                listing.setdefault(short, []).append(entry)
        for (phrase, other), count in sorted(self.pairs.concepts.support().items()):
            if tuple(analyze(other)) in self.expansions.concepts.get(tuple(analyze(phrase)), []):
                listing.setdefault(phrase, []).append(
                    {"synonym": other, "source": f"MeSH asFound ({_studies(count)})",
                     "kind": "mesh", "studies": count})
        return listing

    def close(self) -> None:
        """Release the searcher's files."""
        self.searcher.close()


def _common_word(reader) -> Callable[[str], bool]:
    """Whether an analyzed word is held by more than COMMON_WORD_SHARE of the studies (in any
    field a bare word searches): such a word is no synonym for a specific phrase."""
    names = [name for name in SEARCH_FIELD_BOOSTS if name in reader.schema]
    limit = COMMON_WORD_SHARE * max(reader.doc_count(), 1)
    return lambda term: max((reader.doc_frequency(name, term) for name in names), default=0) > limit


def _studies(n: int) -> str:
    return f"{n} study" if n == 1 else f"{n} studies"
