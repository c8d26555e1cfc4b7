"""The meaning side of a search: the study vectors stored beside the index, lined up with the
live generation, the query encoder, and how a ranking by meaning joins the ranking by words.

`SearchIndex` (live.py) holds one `MeaningSearch` per index folder: its `VectorCache` outlives
generations (like the decoded segments), its `DenseView` belongs to one snapshot, and the
encoder is loaded on first use. `view()` says, every time, whether meaning search can run and
why not, so the front ends can tell users.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from whoosh.searching import Results

from ..semantic.contract import encoder_options, model_id
from ..semantic.deps import RUNTIME_MODULES, SemanticUnavailable, require
from ..semantic.store import filling_progress
from .caches import LRUCache, remembered
from .conditions import condition_documents
from .dense import MIN_SIMILARITY, DenseView, VectorCache
from .fusion import HYBRID, Candidates, Scheme, fuse, kept_meaning
from .plan import Plan
from .ranking import Ranked
from .snapshot import Snapshot

QUERY_VECTORS_KEPT = 1024  # query vectors remembered per index handle (3-5 ms each to compute)
log = logging.getLogger(__name__)


class MeaningSearch:
    """The vectors of the index at `root` and the encoder for its queries. Not thread-safe:
    `SearchIndex` calls it under its lock."""

    def __init__(self, root: str | os.PathLike) -> None:
        self._vectors = VectorCache(root)
        self._view: tuple[Snapshot, DenseView] | None = None
        self._encoder = None
        # Why no encoder can be had: the extra's packages are looked for once, here, not on
        # every search; a failed load is remembered too.
        self._encoder_error: str | None = _missing_extra()
        self._query_vectors: LRUCache = LRUCache(QUERY_VECTORS_KEPT)

    @property
    def model(self) -> str | None:
        """The model the stored vectors came from, or None before any."""
        return self._vectors.model

    def view(self, snap: Snapshot) -> tuple[DenseView | None, str]:
        """`snap`'s view of the stored vectors, topped up with any written since the last
        call; or None and why meaning search cannot run."""
        if self._encoder_error is not None:
            return None, self._encoder_error
        try:
            self._vectors.refresh()
        except SemanticUnavailable as exc:  # a damaged vectors file: search by words
            return None, str(exc)
        if self._vectors.size == 0:
            return None, self._none_yet("no study vectors yet")
        if self._view is None or self._view[0] is not snap:
            self._view = (snap, DenseView(self._vectors, snap.nct_ids(), snap.scorer.live))
        view = self._view[1]
        view.sync()
        if view.covered == 0:
            return None, self._none_yet("no study in this index has a vector yet")
        if self._encoder is None:
            try:
                from ..semantic.encoder import query_encoder

                # One thread: each server worker encodes its own queries on its own core. The
                # stored vectors' model says which encoder (fp32 or int8, the window) matches.
                self._encoder = query_encoder(**encoder_options(self._vectors.model))
            except SemanticUnavailable as exc:
                self._encoder_error = str(exc)
                log.warning("meaning search is off: %s", exc)
                return None, self._encoder_error
        if self._vectors.model != model_id(self._encoder):
            return None, (f"the stored vectors come from {self._vectors.model}, the query encoder "
                          f"is {model_id(self._encoder)}: run trialsearch vectors")
        return view, ""

    def filling(self) -> dict | None:
        """How far the vectors being computed for this index have got ({"done", "total"}),
        or None when no filler is at work."""
        return self._vectors.filling()

    def _none_yet(self, what: str) -> str:
        """Why there is nothing to search by meaning yet: being computed, or never asked for."""
        filling = self.filling()
        if filling is None:
            return f"{what}: run trialsearch vectors"
        return f"{what}: they are being computed ({filling_progress(filling)})"

    def query_vector(self, text: str) -> np.ndarray:
        """`text`'s vector (remembered for the QUERY_VECTORS_KEPT latest texts). Call `view()`
        first: it loads the encoder."""
        return remembered(self._query_vectors, text, lambda: self._encoder.encode_query(text))

    def fuse(self, snap: Snapshot, plan: Plan, ranked: Ranked) -> tuple[Ranked, Callable[[int], str]]:
        """The meaning side of `plan` joined to `ranked` (its words side): fused for hybrid
        (see `fusion.HYBRID`), instead of it for semantic; the top `plan.limit` and how each hit
        matched. The plan notes when vectors cover only part of the index so far."""
        if plan.view is None:
            return ranked, by_words
        studies = snap.searcher.doc_count()
        if plan.view.covered < studies:
            plan.notices.append(f"meaning matches cover {plan.view.covered:,} of {studies:,} "
                                "studies so far; the rest are still being encoded")
        if plan.mode == "semantic":
            return self._by_meaning(snap, plan, ranked), by_meaning
        return with_meaning(snap, ranked, self.candidates(snap, plan, ranked), HYBRID, plan.limit)

    def _by_meaning(self, snap: Snapshot, plan: Plan, ranked: Ranked) -> Ranked:
        """Meaning alone: the studies at least MIN_SIMILARITY like the query and those with a
        condition it names, those holding more of the named conditions first, then the most
        alike."""
        vector = self.query_vector(plan.meaning)
        listed = plan.request.only is not None  # the caller's studies: none left out
        near_ids, _ = plan.view.nearest(vector, plan.allowed_mask, None, None if listed else MIN_SIMILARITY)
        held = self._held(snap, plan)
        if plan.conditions:
            having = held > 0 if plan.allowed_mask is None else (held > 0) & plan.allowed_mask
            near_ids = np.union1d(near_ids, np.flatnonzero(having & (plan.view.rows >= 0)))
        similarity = np.nan_to_num(plan.view.similarity(vector, near_ids), nan=-1.0)
        # Holding the named conditions ranks first only where the query is one condition's
        # name: for a description naming several, that tier cost 0.07 nDCG@10 (docs/evaluation.md).
        tier = held[near_ids] if plan.whole_condition else np.zeros(near_ids.size)
        order = np.lexsort((near_ids, -similarity, -tier))[:plan.limit]
        best = list(zip(similarity[order].tolist(), near_ids[order].tolist()))
        return Ranked(Results(snap.searcher, ranked.results.q, best), np.sort(near_ids), False)

    @staticmethod
    def _held(snap: Snapshot, plan: Plan) -> np.ndarray:
        """How many of the conditions the query names each document holds."""
        held = np.zeros(snap.scorer.size)
        for condition in plan.conditions:
            held += condition_documents(snap, condition)
        return held

    def candidates(self, snap: Snapshot, plan: Plan, ranked: Ranked) -> Candidates:
        """Both sides of `plan`'s hybrid search before they are fused: `ranked`'s top hits by
        words, the `plan.depth` studies nearest in meaning (no floor: the fusion sets its own)
        and the nearest of those with a condition the query names, every candidate's
        similarity, and the share of the named conditions each holds."""
        vector = self.query_vector(plan.meaning)
        near_ids, _ = plan.view.nearest(vector, plan.allowed_mask, plan.depth, None)
        held = self._held(snap, plan)
        if plan.conditions:
            having = held > 0 if plan.allowed_mask is None else (held > 0) & plan.allowed_mask
            near_ids = np.concatenate([near_ids, plan.view.nearest(vector, having, plan.depth, None)[0]])
            near_ids = near_ids[np.sort(np.unique(near_ids, return_index=True)[1])]
        top = ranked.results.top_n
        words = np.array([docnum for _, docnum in top], dtype=np.int64)
        union = np.union1d(words, near_ids)
        coverage = (np.array([ranked.coverage.get(docnum, 0.0) for docnum in words.tolist()])
                    if ranked.coverage is not None else None)
        return Candidates(words, np.array([score for score, _ in top], dtype=np.float64), coverage,
                          near_ids, dict(zip(union.tolist(), plan.view.similarity(vector, union).tolist())),
                          {d: held[d] / len(plan.conditions) for d in union.tolist() if held[d]},
                          plan.whole_condition, plan.request.only is not None)

    @property
    def vectors(self) -> int:
        """How many study vectors are loaded (including studies no longer in the index)."""
        return self._vectors.size

    def forget_query_vectors(self) -> None:
        """Drop the remembered query vectors (what a query no one asked before costs)."""
        self._query_vectors.clear()

    def close(self) -> None:
        """Release the vectors file and this generation's view."""
        self._view = None
        self._vectors.close()


def preload_query_encoder(root: str | os.PathLike) -> str | None:
    """Load the query encoder the vectors of the index at `root` need, as a server's first
    process does before forking its workers so that they share it; None when loaded, else why
    not (the workers say it again when they search). Not before any vector is stored: a server
    then starts at once, and its workers load the encoder when the first vectors arrive."""
    from ..semantic.encoder import query_encoder
    from ..semantic.matrix import stored_model

    model = stored_model(Path(root))
    if model is None:
        return "no study vectors yet"
    try:
        require(RUNTIME_MODULES, "meaning search")
        query_encoder(**encoder_options(model))
    except SemanticUnavailable as exc:
        return str(exc)
    return None


def _missing_extra() -> str | None:
    """What the 'semantic' extra lacks to encode queries, as the message to show, or None."""
    try:
        require(RUNTIME_MODULES, "meaning search")
    except SemanticUnavailable as exc:
        return str(exc)
    return None


def by_words(docnum: int) -> str:
    """How a hit of a ranking by words matched."""
    return "words"


def by_meaning(docnum: int) -> str:
    """How a hit of a ranking by meaning matched."""
    return "meaning"


def with_meaning(snap: Snapshot, lexical: Ranked, candidates: Candidates, scheme: Scheme,
                 limit: int) -> tuple[Ranked, Callable[[int], str]]:
    """`lexical` (the words side) fused with the studies nearest in meaning by `scheme`; the
    top `limit`, every match (the studies holding the words, and the meaning candidates the
    scheme keeps), and how each hit matched."""
    fused, scores = fuse(candidates, scheme)
    results = Results(snap.searcher, lexical.results.q,  # highlights still mark the words
                      list(zip(scores[:limit].tolist(), fused[:limit].tolist())))
    near_ids = kept_meaning(candidates, scheme)
    # Masks, not np.union1d: the words may match a large share of a registry-sized index.
    word_mask = np.zeros(len(snap.scorer.live), dtype=bool)
    word_mask[lexical.matched] = True
    meaning_mask = np.zeros_like(word_mask)
    meaning_mask[near_ids] = True

    def matched_by(docnum: int) -> str:
        word, meaning = word_mask[docnum], meaning_mask[docnum]
        return "both" if word and meaning else "words" if word else "meaning"

    return Ranked(results, np.flatnonzero(word_mask | meaning_mask), lexical.timed_out), matched_by
